"""Session fixtures shared by budget items and user tests; a conftest.py may override any."""

from __future__ import annotations

import pytest

from .evaluate import BlobSizer, BudgetEvaluator, NoMeasurement
from .keys import SETTINGS
from .packages.blob_sizes import BlobSizeStore
from .settings import Settings


@pytest.fixture(scope="session")
def sizebudget_settings(pytestconfig: pytest.Config) -> Settings:
    """The run's settings (options and ini), resolved once."""
    return pytestconfig.stash[SETTINGS]


@pytest.fixture(scope="session")
def sizebudget_blob_sizes(sizebudget_settings: Settings) -> BlobSizeStore:
    """Reads each blobs.json once; ``--sizebudget-blob-sizes`` files apply to every budget file."""
    return BlobSizeStore(sizebudget_settings.blob_sizes)


@pytest.fixture(scope="session")
def sizebudget_sizer() -> BlobSizer:
    """Sizes blobs that no blobs.json covers."""
    return NoMeasurement()


@pytest.fixture(scope="session")
def sizebudget_evaluator(
    sizebudget_settings: Settings,
    sizebudget_blob_sizes: BlobSizeStore,
    sizebudget_sizer: BlobSizer,
) -> BudgetEvaluator:
    """Evaluates budget files (each once per process) into per-budget results."""
    return BudgetEvaluator(
        sizebudget_blob_sizes,
        sizebudget_sizer,
        owner_template=sizebudget_settings.owner_template,
        display_root=sizebudget_settings.rootdir,
    )
