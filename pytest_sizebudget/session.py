"""The controller's view of a run: gathers every item's result, prints and writes reports.

Registered only where reports are written (the controller under xdist, or the single
process without it).  Results reach it inside test reports, which xdist carries from
workers, so the summary and the files are the same with and without ``-n``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from . import __version__
from .kinds.registry import KindRegistry
from .measure.engine import EngineStats
from .measure.sizer import add_stats, describe_stats, size_parameters
from .report.baseline import Baseline, BaselineError, load_baseline
from .report.gerrit import gerrit_keys, render_gerrit
from .report.html import render_html
from .report.json_report import build_json_report, order, render_json
from .report.model import BudgetResult, FileProblem
from .report.summary import render_summary
from .report.text import shown
from .settings import Settings

REPORT_ATTR = "sizebudget"


class SizeBudgetSession:
    def __init__(self, settings: Settings, kinds: KindRegistry) -> None:
        self.settings = settings
        self.kinds = kinds
        self.results: dict[str, BudgetResult] = {}
        self.problems: dict[str, FileProblem] = {}
        self.written: list[tuple[str, Path]] = []
        self.engine_stats = EngineStats()
        self.warnings: list[str] = []
        self.baseline: Baseline | None = None

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
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        data: dict[str, Any] | None = getattr(report, REPORT_ATTR, None)
        if not data:
            return
        if "result" in data:
            self.results[report.nodeid] = self.kinds.result_from_dict(data["result"])
        if "problem" in data:
            self.problems[report.nodeid] = FileProblem.from_dict(data["problem"])
        if "engine" in data:
            self.engine_stats = add_stats(self.engine_stats, EngineStats.from_dict(data["engine"]))

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
                **size_parameters(),
            },
        }

    @pytest.hookimpl
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
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
            report = build_json_report(results, problems, self.tool(), baseline)
            self._write("JSON report", self.settings.json_path, render_json(report))
        if self.settings.html_path is not None:
            html = render_html(results, problems, self.tool(), baseline, self.kinds)
            self._write("HTML report", self.settings.html_path, html)
        if self.settings.gerrit_path is not None:
            self._write("Gerrit size report", self.settings.gerrit_path, render_gerrit(results))
            self.warnings.extend(gerrit_keys(results).notes)

    def _write(self, what: str, path: Path, text: str) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
        self.written.append((what, path))

    @pytest.hookimpl
    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if not self.results and not self.problems and not self.gone():
            return
        terminalreporter.write_sep("=", "size budgets")
        for line in render_summary(
            list(self.results.values()),
            list(self.problems.values()),
            gone=self.gone(),
            delta_threshold=self.settings.delta_threshold,
        ):
            terminalreporter.write_line(line)
        if any(self.engine_stats.to_dict().values()):
            terminalreporter.write_line(describe_stats(self.engine_stats))
        for what, path in self.written:
            terminalreporter.write_line(f"{what} written to {shown(self.settings.display(path))}")
        for warning in self.warnings:
            terminalreporter.write_line(f"WARNING: {shown(warning)}", yellow=True)
