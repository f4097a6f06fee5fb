"""The controller's view of a run: gathers every item's result, prints and writes reports.

Registered only where reports are written (the controller under xdist, or the single
process without it).  Results reach it inside test reports, which xdist carries from
workers, so the summary and the files are the same with and without ``-n``.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from . import __version__
from .budget.model import DEFAULT_SHARING, Budget, BudgetFile, describe_sharing
from .evaluate import base_result
from .internal_error import describe_exception
from .keys import BUDGET
from .kinds.registry import KindRegistry
from .measure.compress import libzstd_warning
from .measure.requests import EngineStats
from .measure.sizer import (
    add_stats,
    describe_remote,
    describe_stats,
    size_parameters,
    stats_for_report,
)
from .node_ids import NodeBudgets
from .output_paths import report_path_problem
from .report.baseline import Baseline, BaselineError, load_baseline
from .report.json_report import build_json_report, order, render_json
from .report.model import BudgetResult, FileProblem
from .report.summary import render_summary
from .report.text import shown
from .settings import Settings

REPORT_ATTR = "sizebudget"
SESSION_PLUGIN = "sizebudget-session"
# In a report's data: the result was handed to the session in this process (``hold``).
HELD = "result_held"
# Report options and where Settings keeps their paths, in the order they are checked.
REPORT_OPTIONS = (
    ("--sizebudget-json", "json_path"),
    ("--sizebudget-html", "html_path"),
    ("--sizebudget-gerrit", "gerrit_path"),
    ("--sizebudget-breakdown", "breakdown_path"),
    ("--sizebudget-verbose-json", "verbose_json_path"),
    ("--sizebudget-markdown", "markdown_path"),
    ("--sizebudget-metrics", "metrics_path"),
)
# Where GitHub Actions wants a step's job summary (Markdown, appended).
GITHUB_SUMMARY_VAR = "GITHUB_STEP_SUMMARY"
# What a collected budget that never gave a result says (the session ended first).
NOT_RUN = "not run: the session stopped early"
NOT_CHECKED = "not checked: the session ended before it ran"


def check_report_paths(settings: Settings) -> None:
    """A report path that cannot be written is a usage error before anything runs."""
    seen: dict[Path, str] = {}
    for option, attr in REPORT_OPTIONS:
        path: Path | None = getattr(settings, attr)
        if path is None:
            continue
        if path in seen:
            raise pytest.UsageError(
                f"{option} {path}: {seen[path]} writes the same file; give each report its own"
            )
        seen[path] = option
        problem = report_path_problem(path)
        if problem is not None:
            raise pytest.UsageError(f"{option} {path}: {problem}")


class SizeBudgetSession:
    def __init__(self, settings: Settings, kinds: KindRegistry) -> None:
        self.settings = settings
        self.kinds = kinds
        self.results: dict[str, BudgetResult] = {}
        self._held: dict[str, BudgetResult] = {}
        self.problems: dict[str, FileProblem] = {}
        self.written: list[tuple[str, Path]] = []
        self.unwritten: list[str] = []  # reports that could not be written, and why
        self.engine_stats = EngineStats()
        self.warnings: list[str] = []
        # The remote cache's one message: every xdist worker that hits the failure sends
        # one, and the first is enough.
        self.remote_problem: str | None = None
        # Each budget file's notes (keys ffx ignores), in file order.
        self.notes: dict[str, list[str]] = {}
        self.baseline: Baseline | None = None
        # Collected budget items by node ID, with the budget when this process collected
        # them; under xdist, whose workers collect, every node ID with None.  And every
        # node ID that reported.
        self.collected: dict[str, tuple[BudgetFile, Budget] | None] = {}
        self.reported: set[str] = set()
        self.nodes = NodeBudgets(settings, kinds)

    def load_baseline(self) -> None:
        """Read ``--sizebudget-baseline`` up front, so a bad file stops the run at once."""
        path = self.settings.baseline_path
        if path is not None:
            try:
                self.baseline = load_baseline(path, self.settings.display(path), self.kinds)
            except BaselineError as exc:
                raise pytest.UsageError(str(exc)) from None

    def gone(self) -> list[BudgetResult]:
        if self.baseline is None:
            return []
        return self.baseline.gone(self.results.values())

    @pytest.hookimpl
    def pytest_collection_finish(self, session: pytest.Session) -> None:
        for item in session.items:
            budget = item.stash.get(BUDGET, None)
            if budget is not None:
                self.collected[item.nodeid] = budget

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node: Any, ids: Sequence[str]) -> None:
        """xdist: the controller learns what the workers collected (the same on each)."""
        for nodeid in ids:
            self.collected.setdefault(nodeid, None)

    @pytest.hookimpl(optionalhook=True)
    def pytest_handlecrashitem(self, crashitem: str, report: pytest.TestReport) -> None:
        """xdist: a worker died under ``crashitem``; its report carries nothing of ours."""
        self._errored(crashitem, f"the xdist worker running it crashed ({report.longrepr})")

    def _errored(
        self,
        nodeid: str,
        reason: str,
        known: tuple[BudgetFile, Budget] | None = None,
        *,
        budgets_only: bool = False,
    ) -> None:
        if known is not None:
            bf, b = known
            found: BudgetResult | FileProblem | None = base_result(
                bf, b, self.settings.owner_template
            ).with_error(reason)
        else:
            found = self.nodes.errored(nodeid, reason)
        if isinstance(found, BudgetResult):
            self.results[nodeid] = found
        elif found is not None and not budgets_only:
            self.problems[nodeid] = found

    def hold(self, nodeid: str, result: BudgetResult) -> None:
        """A result made in this process, for the report of ``nodeid`` to deliver."""
        self._held[nodeid] = result

    @pytest.hookimpl
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.reported.add(report.nodeid)
        data: dict[str, Any] | None = getattr(report, REPORT_ATTR, None)
        if not data:
            return
        if data.get(HELD):
            held = self._held.pop(report.nodeid, None)
            if held is not None:
                self.results[report.nodeid] = held
        if "result" in data:
            self.results[report.nodeid] = self.kinds.result_from_dict(data["result"])
        if "problem" in data:
            self.problems[report.nodeid] = FileProblem.from_dict(data["problem"])
        if "notes" in data:
            self.notes[str(data["notes"]["file"])] = [str(n) for n in data["notes"]["lines"]]
        if "engine" in data:
            self.engine_stats = add_stats(self.engine_stats, EngineStats.from_dict(data["engine"]))
        if "remote_problem" in data and self.remote_problem is None:
            self.remote_problem = str(data["remote_problem"])

    def tool(self) -> dict[str, Any]:
        return {
            "name": "pytest-sizebudget",
            "version": __version__,
            "parameters": {
                "blob_sizes": [self.settings.display(p) for p in self.settings.blob_sizes],
                "blobfs_layouts": sorted(
                    {
                        str(r.parameters["blobfs_layout"])
                        for r in self.results.values()
                        if "blobfs_layout" in r.parameters
                    }
                ),
                # Package-set share counting: what a file without ``sharing`` gets, and
                # the modes in effect in this run's files.
                "sharing_default": DEFAULT_SHARING,
                "sharing_modes": self.sharing_modes(),
                **size_parameters(),
            },
        }

    def sharing_modes(self) -> list[str]:
        params = (r.parameters for r in self.results.values())
        return sorted({str(p["sharing"]) for p in params if "sharing" in p})

    def _not_run(self, session: pytest.Session, exitstatus: int) -> None:
        """Collected budgets that never gave a result become errors: the session stopped
        early (``-x``, ``--maxfail``, an interrupt), or an xdist worker died before it
        reached them.  Not with ``--collect-only`` and the setup-only modes, which run no
        check by design.  A file's measurement or total item that did not run is no
        problem of its own: its budgets say what is missing."""
        option = session.config.option
        if (
            option.collectonly
            or getattr(option, "setuponly", False)
            or getattr(option, "setupplan", False)
        ):
            return
        stop = session.shouldfail or session.shouldstop
        dsession = session.config.pluginmanager.get_plugin("dsession")
        stop = stop or getattr(dsession, "shouldstop", False)
        if stop or exitstatus == pytest.ExitCode.INTERRUPTED:
            reason = NOT_RUN + (f" ({stop})" if isinstance(stop, str) else "")
        else:
            reason = NOT_CHECKED
        for nodeid, known in self.collected.items():
            if nodeid in self.reported or nodeid in self.results:
                continue
            if known is not None or self.nodes.split(nodeid) is not None:
                self._errored(nodeid, reason, known, budgets_only=True)

    @pytest.hookimpl
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        self._not_run(session, exitstatus)
        results = order(list(self.results.values()))
        problems = list(self.problems.values())
        baseline = None
        if self.baseline is not None:
            baseline = {
                "path": self.baseline.display,
                "gone": [
                    {"name": g.name, "file": g.file, "kind": g.kind, "used_bytes": g.used_bytes}
                    for g in self.gone()
                ],
            }
        if self.settings.json_path is not None:
            self._write(
                "JSON report",
                self.settings.json_path,
                lambda: render_json(
                    build_json_report(
                        results,
                        problems,
                        self.tool(),
                        baseline,
                        measurement=stats_for_report(self.engine_stats),
                    )
                ),
            )
        # Each report's module is imported when it is asked for.
        if self.settings.html_path is not None:
            from .report.html import render_html

            self._write(
                "HTML report",
                self.settings.html_path,
                lambda: render_html(results, problems, self.tool(), baseline, self.kinds),
            )
        if self.settings.markdown_path is not None:
            limit = self.settings.markdown_limit
            self._write(
                "Markdown report", self.settings.markdown_path, lambda: self._markdown(limit)
            )
        if self.settings.metrics_path is not None:
            from .report.metrics import render_metrics

            metrics = self.settings.metrics_path
            self._write("GitLab metrics report", metrics, lambda: render_metrics(results))
        if self.settings.github_summary:
            self._job_summary()
        if self.settings.gerrit_path is not None:
            from .report.gerrit import gerrit_keys, render_gerrit

            keys = gerrit_keys(results)
            gerrit = self.settings.gerrit_path
            self._write("Gerrit size report", gerrit, lambda: render_gerrit(results, keys))
            self.warnings.extend(keys.notes)
        if self.settings.breakdown_path is not None:
            self._write(
                "Size breakdown", self.settings.breakdown_path, lambda: self._breakdown(results)
            )
        if self.settings.verbose_json_path is not None:
            self._write(
                "Verbose JSON", self.settings.verbose_json_path, lambda: self._verbose(results)
            )
        if self.unwritten and session.exitstatus in (
            pytest.ExitCode.OK,
            pytest.ExitCode.NO_TESTS_COLLECTED,
        ):
            # A gate must not pass when one of its reports is missing.
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def _breakdown(self, results: Sequence[BudgetResult]) -> str:
        """ffx's size breakdown of each budget whose kind has one: one budget's is ffx's
        text byte for byte; several are each headed ``# <name> [<file>]``."""
        texts = []
        for r in results:
            kind = self.kinds.find(r.kind)
            text = kind.breakdown_text(r) if kind is not None else None
            if text is not None:
                texts.append((r, text))
        if len(texts) == 1:
            return texts[0][1]
        return "\n\n".join(f"# {r.name} [{r.file}]\n{text}" for r, text in texts)

    def _verbose(self, results: Sequence[BudgetResult]) -> str:
        """ffx's verbose JSON: each budget whose kind has an entry, keyed by its name as
        the Gerrit report keys it (sorted), pretty-printed without a final newline."""
        from .report.gerrit import gerrit_keys

        names = gerrit_keys(results).names
        out: dict[str, Any] = {}
        for r, name in zip(results, names, strict=True):
            kind = self.kinds.find(r.kind)
            entry = kind.verbose_json(r) if kind is not None else None
            if entry is not None:
                out[name] = entry
        return json.dumps(dict(sorted(out.items())), indent=2, ensure_ascii=False)

    def _markdown(self, limit: int) -> str:
        from .report.markdown import render_markdown

        return render_markdown(
            list(self.results.values()),
            list(self.problems.values()),
            gone=self.gone(),
            baseline=None if self.baseline is None else self.baseline.display,
            delta_threshold=self.settings.delta_threshold,
            breakdown=self.kinds.breakdown,
            top_n=self.settings.top_n,
            limit=limit,
        )

    def _job_summary(self) -> None:
        """Append the Markdown to GitHub's job summary file, within what the step has left
        of its 1 MiB (a step's earlier commands may have written to the same file).  A summary
        that cannot be written is a warning: GitHub does not fail a job for one either."""
        target = os.environ.get(GITHUB_SUMMARY_VAR)
        if not target:
            return  # not on GitHub Actions: nothing to do
        from .report.markdown import JOB_SUMMARY_LIMIT, MIN_LIMIT

        path = Path(target)
        what = f"Markdown job summary (${GITHUB_SUMMARY_VAR})"
        try:
            used = path.stat().st_size if path.is_file() else 0
            room = JOB_SUMMARY_LIMIT - used - 1  # the newline that separates
            if room < MIN_LIMIT:
                self.warnings.append(
                    f"{what} could not be written to {self.settings.display(path)}: "
                    f"{used:,} of its {JOB_SUMMARY_LIMIT:,} bytes are used already"
                )
                return
            text = self._markdown(room)
            with path.open("a", encoding="utf-8") as f:
                f.write(("\n" if used else "") + text)
        except OSError as exc:
            self.warnings.append(
                f"{what} could not be written to {self.settings.display(path)}: "
                f"{exc.strerror or exc}"
            )
        except Exception as exc:  # a bug in a renderer: the summary still comes
            self.warnings.append(
                f"{what} could not be written: "
                f"internal error: {describe_exception(exc, self.settings.display)}"
            )
        else:
            self.written.append((what, path))

    def _write(self, what: str, path: Path, render: Callable[[], str]) -> None:
        """Render and write one report; a failure is recorded, never raised, so that the
        other reports and the terminal summary still come."""
        tmp: str | None = None
        try:
            text = render()
            path.parent.mkdir(parents=True, exist_ok=True)
            # A new name beside the file, then a rename: a reader never sees half a file.
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
            os.replace(tmp, path)
            tmp = None
        except OSError as exc:
            self.unwritten.append(
                f"{what} could not be written to {self.settings.display(path)}: "
                f"{exc.strerror or exc}"
                + (f": {self.settings.display(Path(exc.filename))}" if exc.filename else "")
            )
        except Exception as exc:  # a bug in a renderer: the summary still comes
            self.unwritten.append(
                f"{what} could not be written to {self.settings.display(path)}: "
                f"internal error: {describe_exception(exc, self.settings.display)}"
            )
        else:
            self.written.append((what, path))
        finally:
            if tmp is not None:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)

    @pytest.hookimpl
    def pytest_unconfigure(self) -> None:
        """Every report is written: let the results go.  After this hook pytest collects
        garbage five times over (looking for unraisable exceptions), and a product's
        results are one object per blob instance, 100,000 of them, that every pass walks."""
        self.results = {}
        self._held = {}
        self.problems = {}

    @pytest.hookimpl
    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if not (self.results or self.problems or self.gone() or self.unwritten or self.notes):
            return
        terminalreporter.write_sep("=", "size budgets")
        modes = self.sharing_modes()
        if modes:
            terminalreporter.write_line(
                "package-set sharing: " + "; ".join(describe_sharing(m) for m in modes)
            )
        zstd_warning = libzstd_warning()
        if zstd_warning is not None:  # every measured size below may be off by a block
            terminalreporter.write_line(f"WARNING: {zstd_warning}", yellow=True)
        for line in render_summary(
            list(self.results.values()),
            list(self.problems.values()),
            gone=self.gone(),
            delta_threshold=self.settings.delta_threshold,
        ):
            terminalreporter.write_line(line)
        if any(self.engine_stats.to_dict().values()):
            terminalreporter.write_line(describe_stats(self.engine_stats))
        if self.settings.cache_url is not None and not self.settings.no_cache:
            terminalreporter.write_line(describe_remote(self.engine_stats))
        if self.remote_problem is not None:
            terminalreporter.write_line(f"WARNING: {shown(self.remote_problem)}", yellow=True)
        for what, path in self.written:
            terminalreporter.write_line(f"{what} written to {shown(self.settings.display(path))}")
        notes = [n for file in sorted(self.notes) for n in self.notes[file]]
        for warning in (*notes, *self.warnings):
            terminalreporter.write_line(f"WARNING: {shown(warning)}", yellow=True)
        for failure in self.unwritten:
            terminalreporter.write_line(f"ERROR: {shown(failure)}", red=True)
