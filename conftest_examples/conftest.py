"""Example conftest: the ffx-format budget file names no blobs.json (ffx takes them on
its command line), so this conftest adds the product's blobs.json for every budget
file here by overriding the session fixture the budget items use."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_sizebudget.packages.blob_sizes import BlobSizeStore
from pytest_sizebudget.settings import Settings

HERE = Path(__file__).parent


@pytest.fixture(scope="session")
def sizebudget_blob_sizes(sizebudget_settings: Settings) -> BlobSizeStore:
    return BlobSizeStore([*sizebudget_settings.blob_sizes, HERE / "out" / "blobs.json"])
