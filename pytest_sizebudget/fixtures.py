"""Session fixtures shared by budget items and user tests; a conftest.py may override any."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from .api import SizeBudgetAPI
from .evaluate import BlobSizer, BudgetEvaluator
from .keys import SETTINGS
from .measuring import EngineSizer, Progress, ProgressSink
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
def sizebudget_sizer(pytestconfig: pytest.Config, sizebudget_settings: Settings) -> BlobSizer:
    """Sizes blobs that no blobs.json covers with the measurement engine (cached), hashes
    directory packages and, with ``--sizebudget-verify``, checks manifest blobs."""
    return EngineSizer(
        cache_root(pytestconfig, sizebudget_settings),
        verify=sizebudget_settings.verify,
        progress=terminal_progress(pytestconfig),
        compression_memory=sizebudget_settings.compression_memory,
    )


def cache_root(config: pytest.Config, settings: Settings) -> Path | None:
    """Where measurements are kept: the option, else pytest's cache, else nowhere."""
    if settings.no_cache:
        return None
    if settings.cache_dir is not None:
        return settings.cache_dir
    cache = getattr(config, "cache", None)  # absent under -p no:cacheprovider
    if cache is None:
        return None
    return Path(cache.mkdir("sizebudget"))


def terminal_progress(config: pytest.Config) -> ProgressSink | None:
    """Progress lines for long measurements, on the controller's terminal only."""
    if hasattr(config, "workerinput") or config.get_verbosity() < 0:
        return None
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is None:
        return None
    last = [0.0]

    def show(progress: Progress) -> None:
        now = time.monotonic()
        if now - last[0] >= 1.0 or progress.blobs_done == progress.blobs_total:
            last[0] = now
            reporter.write_line(progress.describe())

    return show


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
