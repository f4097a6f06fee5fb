"""Session fixtures shared by budget items and user tests; a conftest.py may override any."""

from __future__ import annotations

import pytest

from .api import SizeBudgetAPI
from .evaluate import BlobSizer, BudgetEvaluator, NoMeasurement
from .keys import SETTINGS
from .packages.blob_sizes import BlobSizeStore
from .report.baseline import Baseline, load_baseline
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


@pytest.fixture(scope="session")
def sizebudget_baseline(sizebudget_settings: Settings) -> Baseline | None:
    """The ``--sizebudget-baseline`` report (loaded once per process), or None."""
    path = sizebudget_settings.baseline_path
    if path is None:
        return None
    return load_baseline(path, sizebudget_settings.display(path))


@pytest.fixture
def sizebudget(
    request: pytest.FixtureRequest, sizebudget_evaluator: BudgetEvaluator
) -> SizeBudgetAPI:
    """Size checks in a test: ``sizebudget.package_set(paths) <= "40 KiB"``.

    Relative paths are resolved from the test module's directory.
    """
    return SizeBudgetAPI(sizebudget_evaluator, request.path.parent)
