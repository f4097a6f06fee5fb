"""Session fixtures shared by budget items and user tests; a conftest.py may override any."""

from __future__ import annotations

import contextlib
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from .api import SizeBudgetAPI
from .evaluate import BudgetEvaluator
from .keys import KINDS, SETTINGS
from .measure.remote import RemoteCache
from .measure.sizer import BlobSizer, EngineSizer, Progress, ProgressSink
from .output_paths import cache_dir_problem
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
def sizebudget_sizer(
    pytestconfig: pytest.Config, sizebudget_settings: Settings
) -> Iterator[BlobSizer]:
    """Sizes blobs that no blobs.json covers with the measurement engine (cached), hashes
    directory packages and, with ``--sizebudget-verify``, checks manifest blobs."""
    settings = sizebudget_settings
    remote = None
    if settings.cache_url is not None and not settings.no_cache:
        remote = RemoteCache(settings.cache_url, timeout=settings.cache_timeout)
    sizer = None
    try:
        sizer = EngineSizer(
            cache_root(pytestconfig, settings),
            verify=settings.verify,
            progress=terminal_progress(pytestconfig),
            compression_memory=settings.compression_memory,
            remote=remote,
            run=run_id(pytestconfig),
        )
        yield sizer
    finally:
        if sizer is not None:
            sizer.close()
        if remote is not None:
            remote.close()


def run_id(config: pytest.Config) -> str:
    """One id for the whole test run: xdist's, shared by its workers, else this process's."""
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None and workerinput.get("testrunuid"):
        return str(workerinput["testrunuid"])
    return uuid.uuid4().hex


def cache_root(config: pytest.Config, settings: Settings) -> Path | None:
    """Where measurements are kept: the option, else pytest's cache, else nowhere.

    pytest's cache directory may be unusable (a read-only checkout): the run is then
    uncached, which ``check_cache_dir`` told the user at start.
    """
    if settings.no_cache:
        return None
    if settings.cache_dir is not None:
        return settings.cache_dir
    cache = getattr(config, "cache", None)  # absent under -p no:cacheprovider
    if cache is None:
        return None
    try:
        path = Path(cache.mkdir("sizebudget"))
    except OSError:
        return None
    return path if cache_dir_problem(path) is None else None


def check_cache_dir(config: pytest.Config, settings: Settings) -> None:
    """An unusable ``--sizebudget-cache-dir`` is a usage error before anything runs: the
    user asked for that cache, and a run that silently measures everything again can
    take hours.  pytest's own cache directory being unusable only costs speed and is not
    the user's choice: a warning says that the run is uncached."""
    if settings.no_cache:
        return
    if settings.cache_dir is not None:
        problem = cache_dir_problem(settings.cache_dir)
        if problem is not None:
            raise pytest.UsageError(
                f"--sizebudget-cache-dir {settings.cache_dir}: {problem} "
                "(--sizebudget-no-cache runs without a cache)"
            )
        return
    cache = getattr(config, "cache", None)
    if cache is None:
        return
    try:
        path = Path(cache.mkdir("sizebudget"))
    except OSError as exc:
        problem = f"cannot be created: {exc.strerror or exc}"
        where = f"in pytest's cache directory {config.getini('cache_dir')}"
    else:
        problem, where = cache_dir_problem(path), settings.display(path)
    if problem is not None:
        config.issue_config_time_warning(
            pytest.PytestConfigWarning(
                f"sizebudget: the measurement cache {where} {problem}; this run is uncached "
                "(every blob that needs a size is measured)"
            ),
            stacklevel=2,
        )


# A measurement shorter than this says nothing on the terminal.
PROGRESS_AFTER = 1.5
# Seconds between updates of the live progress line on a terminal.
LIVE_INTERVAL = 0.5


def terminal_progress(config: pytest.Config) -> ProgressSink | None:
    """Progress lines for long measurements, past pytest's output capture.

    On a terminal one live line is rewritten in place; otherwise (a CI log, a pipe) a
    line every ``sizebudget_progress_interval`` seconds.  Under xdist each worker writes
    its own lines, prefixed with its id, to its standard error, which is the
    controller's.  Quiet under ``-q``.
    """
    if config.get_verbosity() < 0:
        return None
    settings = config.stash[SETTINGS]
    capman = config.pluginmanager.get_plugin("capturemanager")
    workerinput = getattr(config, "workerinput", None)
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    live = workerinput is None and reporter is not None and bool(reporter.isatty())
    write: Callable[[str, bool], None]
    if workerinput is not None:
        prefix = f"[{workerinput.get('workerid', 'worker')}] "

        def write(line: str, final: bool) -> None:
            sys.stderr.write(prefix + line + "\n")
            sys.stderr.flush()

    elif reporter is None:
        return None
    elif live:

        def write(line: str, final: bool) -> None:
            if not state["live"]:
                reporter.ensure_newline()
                state["live"] = True
            reporter.rewrite(line, erase=True)
            if final:
                reporter.write("\n")
                state["live"] = False

    else:

        def write(line: str, final: bool) -> None:
            reporter.write_line(line)

    interval = LIVE_INTERVAL if live else settings.progress_interval
    after = min(PROGRESS_AFTER, interval)
    state = {"last": float("-inf"), "live": False}

    def show(progress: Progress) -> None:
        final = progress.blobs_done >= progress.blobs_total
        if progress.seconds < after and not (final and state["live"]):
            return
        now = time.monotonic()
        if not final and now - state["last"] < interval:
            return
        state["last"] = now
        suspended = (
            capman.global_and_fixture_disabled() if capman is not None else contextlib.nullcontext()
        )
        with suspended:
            write(progress.describe(), final)

    return show


@pytest.fixture(scope="session")
def sizebudget_evaluator(
    pytestconfig: pytest.Config,
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
        kinds=pytestconfig.stash[KINDS],
    )


@pytest.fixture(scope="session")
def sizebudget_baseline(
    pytestconfig: pytest.Config, sizebudget_settings: Settings
) -> Baseline | None:
    """The ``--sizebudget-baseline`` report (loaded once per process), or None."""
    path = sizebudget_settings.baseline_path
    if path is None:
        return None
    return load_baseline(path, sizebudget_settings.display(path), pytestconfig.stash[KINDS])


@pytest.fixture
def sizebudget(
    request: pytest.FixtureRequest, sizebudget_evaluator: BudgetEvaluator
) -> SizeBudgetAPI:
    """Size checks in a test: ``sizebudget.package_set(paths) <= "40 KiB"``.

    Relative paths are resolved from the test module's directory.
    """
    return SizeBudgetAPI(sizebudget_evaluator, request.path.parent)
