"""pytest entry point: options, configuration, collection and report plumbing.

Nothing here measures or renders; it wires the pytest-free core into pytest.
Installed but not enabled (no ``--sizebudget``, no ``sizebudget_enable``), the plugin
collects nothing and writes nothing: only its fixtures and options exist.
"""

from __future__ import annotations

import functools
import gc
import os
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

from . import hookspecs, options
from .api import explain
from .budget.model import DEFAULT_SHARING, describe_sharing
from .fixtures import (
    check_cache_dir,
    sizebudget,
    sizebudget_baseline,
    sizebudget_blob_sizes,
    sizebudget_evaluator,
    sizebudget_settings,
    sizebudget_sizer,
)
from .items import BudgetCheckFailed, BudgetFileCollector, BudgetItem, SizeBudgetWarning
from .keys import ITEM_REPORT, KINDS, SETTINGS
from .kinds.builtin import BUILTIN_KINDS
from .kinds.registry import KindError, KindRegistry
from .measure.compress import libzstd_warning
from .report.model import BudgetResult
from .session import HELD, REPORT_ATTR, SESSION_PLUGIN, SizeBudgetSession, check_report_paths

__all__ = [
    "SizeBudgetWarning",
    "sizebudget",
    "sizebudget_baseline",
    "sizebudget_blob_sizes",
    "sizebudget_evaluator",
    "sizebudget_settings",
    "sizebudget_sizer",
]

_EXPLICIT_SUFFIXES = (".json", ".json5")
# Set while this run has frozen the collector's objects (``_freeze``).
FROZEN = pytest.StashKey[bool]()


def pytest_addoption(parser: pytest.Parser) -> None:
    options.register(parser)


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    pluginmanager.add_hookspecs(hookspecs)


@pytest.hookimpl(tryfirst=True)
def pytest_sizebudget_register_kinds(registry: KindRegistry) -> None:
    """The built-in kinds, before any other: their sections are collected first."""
    for spec in BUILTIN_KINDS:  # each imported when a budget file or report needs it
        registry.register(spec)


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config: pytest.Config) -> None:
    """Registered before any plugin is configured, so it runs after every cleanup that
    configuring adds, pytest's final collections among them (see ``_freeze``); first,
    so that a main loop of another plugin (``--fixtures``) does not skip it."""
    config.add_cleanup(functools.partial(_unfreeze, config))


def _freeze(config: pytest.Config) -> None:
    """Exempt what exists once the run is configured from the cyclic collector.

    Modules, classes, plugins and options live until the process ends; a collection
    finds nothing to free among them, but pays for visiting each.  pytest collects five
    times at cleanup (to report unraisable exceptions); with every module of pytest, its
    plugins and this one alive, that is about 0.15 s of a warm run's 1 s on 2 cores.
    What tests create is still collected as before; the frozen objects rejoin the
    collector when the run's config is cleaned up (``_unfreeze``), so in-process runs
    (pytester) leak nothing.
    """
    if not gc.isenabled() or gc.get_freeze_count():
        return  # someone manages collection (or froze objects) here: leave it to them
    gc.freeze()
    config.stash[FROZEN] = True


def _unfreeze(config: pytest.Config) -> None:
    if config.stash.get(FROZEN, False):
        del config.stash[FROZEN]
        gc.unfreeze()


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    settings = options.settings_from_config(config)
    config.stash[SETTINGS] = settings
    kinds = KindRegistry()
    try:
        config.hook.pytest_sizebudget_register_kinds.call_historic(kwargs={"registry": kinds})
    except KindError as exc:
        raise pytest.UsageError(str(exc)) from None
    config.stash[KINDS] = kinds
    if settings.enabled and not hasattr(config, "workerinput"):
        # Where reports are written (the controller): bad paths stop the run before it starts.
        check_report_paths(settings)
        check_cache_dir(config, settings)
        session = SizeBudgetSession(settings, kinds)
        session.load_baseline()
        config.pluginmanager.register(session, SESSION_PLUGIN)
    if settings.enabled:
        _freeze(config)


def pytest_assertrepr_compare(
    config: pytest.Config, op: str, left: object, right: object
) -> list[str] | None:
    settings = config.stash.get(SETTINGS, None)
    return explain(op, left, right, settings.top_n if settings is not None else 10)


def pytest_report_header(config: pytest.Config) -> list[str] | None:
    settings = config.stash.get(SETTINGS, None)
    if settings is None or not settings.enabled:
        return None
    line = f"sizebudget: budget files {', '.join(settings.patterns)}"
    if settings.blob_sizes:
        line += f"; blob sizes {', '.join(settings.display(p) for p in settings.blob_sizes)}"
    # Package-set numbers depend on it: say which ffx a file without 'sharing' matches.
    sharing = f"sizebudget: package-set sharing default {describe_sharing(DEFAULT_SHARING)}"
    lines = [line, sharing]
    warning = libzstd_warning()
    if warning is not None:
        lines.append(f"sizebudget: WARNING: {warning}")
    return lines


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if _is_budget_file(file_path, parent):
        return BudgetFileCollector.from_parent(parent, path=file_path)
    return None


def _is_budget_file(file_path: Path, parent: pytest.Collector) -> bool:
    """By name (no I/O): a budget-file pattern, or a JSON file named on the command line."""
    settings = parent.config.stash.get(SETTINGS, None)
    if settings is None or not settings.enabled:
        return False
    explicit = file_path.suffix in _EXPLICIT_SUFFIXES and parent.session.isinitpath(file_path)
    return explicit or settings.is_budget_file(file_path)


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(
    collector: pytest.Collector,
) -> Generator[None, pytest.CollectReport, pytest.CollectReport]:
    """Budget files that pytest's directory walk passes over, added to its result.

    pytest offers only regular files (``is_file()``) to ``pytest_collect_file``, so a
    budget file that is a dangling symbolic link, a link loop, a FIFO, a socket or a device
    would vanish from the run without a word (and one named on the command line would
    be "not found").  Each is collected like any budget file, whose ``budget file`` item
    then fails with what the path is.
    """
    report = yield
    if (
        isinstance(collector, pytest.Directory)
        and report.passed
        and isinstance(report.result, list)
    ):
        report.result.extend(_special_budget_files(collector))
    return report


def _special_budget_files(directory: pytest.Directory) -> list[pytest.Collector]:
    settings = directory.config.stash.get(SETTINGS, None)
    if settings is None or not settings.enabled:
        return []  # the plugin is installed but not enabled: not even a scandir
    try:
        with os.scandir(directory.path) as entries:
            # d_type answers these without a stat: regular files and directories are
            # pytest's own; links and special files go on (a few, in a build tree).
            odd = [
                Path(e.path)
                for e in entries
                if not (e.is_file(follow_symlinks=False) or e.is_dir(follow_symlinks=False))
            ]
    except OSError:
        return []  # pytest's own walk reports an unreadable directory
    found: list[pytest.Collector] = []
    for path in sorted(odd):
        if not _is_budget_file(path, directory) or path.is_file() or path.is_dir():
            continue  # not a budget file, or a link to a file or directory: pytest's
        if not directory.session.isinitpath(path) and directory.ihook.pytest_ignore_collect(
            collection_path=path, config=directory.config
        ):
            continue
        found.append(BudgetFileCollector.from_parent(directory, path=path))
    return found


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if not isinstance(item, BudgetItem) or call.when not in ("setup", "call"):
        return report
    data = None
    if call.when == "call" and ITEM_REPORT in item.stash:
        data = item.stash[ITEM_REPORT]
        del item.stash[ITEM_REPORT]  # the report carries it from here; items live to the end
    if report.failed and call.excinfo is not None and not _a_verdict(call.excinfo.value, data):
        # No verdict of ours: whatever was raised, the budget still reaches every report.
        extra, report.longrepr = item.unexpected_failure(call.excinfo)
        data = {**(data or {}), **extra}
    if data:
        # Plain attributes of a TestReport survive xdist's serialisation, and report
        # loggers that write every attribute as JSON: only dicts, lists and scalars.
        setattr(report, REPORT_ATTR, _portable(item.config, report.nodeid, data))
    return report


def _portable(config: pytest.Config, nodeid: str, data: dict[str, Any]) -> dict[str, Any]:
    """The item's data as its report carries it.  In the process that writes the reports,
    the result object is handed to the session directly (a product's result holds every
    blob instance: a dict of it and back costs seconds at 100,000 instances); an xdist
    worker sends its dict."""
    result = data.get("result")
    if not isinstance(result, BudgetResult):
        return data
    session = config.pluginmanager.get_plugin(SESSION_PLUGIN)
    rest = {k: v for k, v in data.items() if k != "result"}
    if isinstance(session, SizeBudgetSession):
        session.hold(nodeid, result)
        return {**rest, HELD: True}
    return {**rest, "result": result.to_dict()}


def _a_verdict(exc: BaseException, data: dict[str, Any] | None) -> bool:
    """Whether the item failed with a verdict its report already carries (a budget over
    or unchecked, a file's problem), or with a warning made an error (``-W error``)."""
    if isinstance(exc, SizeBudgetWarning):
        return True
    if not isinstance(exc, BudgetCheckFailed) or not data:
        return False
    result = data.get("result")
    if isinstance(result, BudgetResult):
        return not result.passed
    return "problem" in data or (result is not None and not result["passed"])
