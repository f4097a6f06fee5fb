"""The bad-input corpus: one table of named cases, each run as a user would run it.

A ``Case`` lays out files in a fresh directory (budget files, manifests, blobs,
images, baselines, ...), optionally prepares what files cannot say (a FIFO, a
permission, a symlink loop), runs ``pytest`` with its arguments, and asserts the exact
outcome: exit status, item outcomes, lines of output (in order, fnmatch patterns), what
must never appear (a traceback), and what the JSON report holds.

Cases live in ``cases_*.py`` modules beside this one, one list ``CASES`` each, grouped
by the input they break; ``test_corpus.py`` runs them all.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

FileContent = str | bytes | Callable[[Path], None]
"""Text, bytes, or a function that creates the file at the given path itself."""

# Never in the output of a run on bad input: our errors are one plain message.
FORBIDDEN = ("*Traceback (most recent call last)*", "*INTERNALERROR*")


@dataclass(frozen=True)
class Case:
    id: str
    files: Mapping[str, FileContent]
    args: tuple[str, ...] = ("--sizebudget",)
    ret: int | None = 1  # pytest's exit status; None: not checked
    outcomes: Mapping[str, int] | None = None  # e.g. {"passed": 2, "failed": 1}
    lines: tuple[str, ...] = ()  # fnmatch patterns that must appear in order (stdout+stderr)
    absent: tuple[str, ...] = ()  # fnmatch patterns that must not appear
    # budget name -> expected error substring in the JSON report (None: passes, no error);
    # the run gets --sizebudget-json=r.json when this is given.
    report: Mapping[str, str | None] | None = None
    setup: Callable[[Path], None] | None = None
    subprocess: bool = False  # run in a child process (a case that could hang or crash)
    timeout: float = 60.0
    ini: str = ""  # extra [pytest] ini lines
    extra_checks: Callable[[Path, pytest.RunResult], None] | None = None
    marks: tuple[Any, ...] = field(default=())


def write_files(root: Path, files: Mapping[str, FileContent]) -> None:
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if callable(content):
            content(path)
        elif isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")


def run_case(pytester: pytest.Pytester, case: Case) -> pytest.RunResult:
    pytester.makeini("[pytest]\nconsole_output_style = classic\n" + case.ini)
    write_files(pytester.path, case.files)
    if case.setup is not None:
        case.setup(pytester.path)
    args = list(case.args)
    if case.report is not None:
        args.append("--sizebudget-json=r.json")
    args += ["-p", "no:cacheprovider"] if "--sizebudget-cache-dir" not in " ".join(args) else []
    if case.subprocess:
        result = pytester.runpytest_subprocess(*args, timeout=case.timeout)
    else:
        result = pytester.runpytest(*args)
    output = [*result.outlines, *result.errlines]
    text = "\n".join(output)
    if case.ret is not None:
        assert result.ret == case.ret, text
    if case.outcomes is not None:
        result.assert_outcomes(**case.outcomes)
    matcher = pytest.LineMatcher(output)
    if case.lines:
        matcher.fnmatch_lines(list(case.lines))
    for pattern in (*FORBIDDEN, *case.absent):
        matcher.no_fnmatch_line(pattern)
    if case.report is not None:
        report = json.loads((pytester.path / "r.json").read_text())
        budgets = {b["name"]: b for b in report["budgets"]}
        for name, error in case.report.items():
            assert name in budgets, f"{name!r} is missing from the JSON report\n{text}"
            if error is None:
                assert budgets[name]["error"] is None, budgets[name]["error"]
            else:
                assert error in (budgets[name]["error"] or ""), budgets[name]["error"]
        failed = sum(1 for b in report["budgets"] if not b["passed"])
        assert report["totals"]["failed"] == failed
    if case.extra_checks is not None:
        case.extra_checks(pytester.path, result)
    return result


def manifest(name: str, blobs: list[dict[str, Any]]) -> str:
    return json.dumps({"version": "1", "package": {"name": name, "version": "0"}, "blobs": blobs})


def package_set_file(packages: list[str], budget: int | str = "1 MiB", **top: Any) -> str:
    """A budget file with one package set named "set" (plus any top-level keys)."""
    return json.dumps(
        {**top, "package_set_budgets": [{"name": "set", "budget_bytes": budget, "packages": packages}]}
    )


GOOD_FILES: dict[str, FileContent] = {
    "good/blob": b"good blob",
    "good/package_manifest.json": manifest(
        "good",
        [
            {
                "source_path": "blob",
                "path": "bin/good",
                "merkle": "0" * 64,  # replaced by the blobs.json size: not measured
                "size": 9,
            }
        ],
    ),
    "good/blobs.json": json.dumps([{"merkle": "0" * 64, "size": 8192}]),
    "good.sizebudget.json5": json.dumps(
        {
            "blob_sizes": ["good/blobs.json"],
            "package_set_budgets": [
                {"name": "Good", "budget_bytes": 8192, "packages": ["good/package_manifest.json"]}
            ],
        }
    ),
}
"""A valid budget file that passes: a case adds it to show that the rest still runs."""
