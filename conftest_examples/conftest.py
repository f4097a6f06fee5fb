"""Example conftest, two ways to fit the plugin to a project:

- the ffx-format budget file names no blobs.json (ffx takes them on its command line),
  so this conftest adds the product's blobs.json for every budget file here by
  overriding the session fixture the budget items use;
- it registers a budget kind of its own (``file_budgets``, in file_kind.py) through the
  plugin's ``pytest_sizebudget_register_kinds`` hook."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_sizebudget.packages.blob_sizes import BlobSizeStore
from pytest_sizebudget.settings import Settings

HERE = Path(__file__).parent


@pytest.fixture(scope="session")
def sizebudget_blob_sizes(sizebudget_settings: Settings) -> BlobSizeStore:
    return BlobSizeStore([*sizebudget_settings.blob_sizes, HERE / "out" / "blobs.json"])


def pytest_sizebudget_register_kinds(registry):
    """A budget kind of this project's own: see file_kind.py and files.sizebudget.json5."""
    from file_kind import FileKind

    registry.register(FileKind())
