"""The JSON report: everything measured, in a stable, byte-reproducible form.

It is also the baseline a later run compares against, so its shape is versioned.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from .model import BudgetResult, FileProblem

SCHEMA_VERSION = 1


def order(results: Sequence[BudgetResult]) -> list[BudgetResult]:
    return sorted(results, key=lambda r: (r.file, r.line, r.key))


def build_json_report(
    results: Sequence[BudgetResult],
    problems: Sequence[FileProblem],
    tool: Mapping[str, Any],
    baseline: Mapping[str, Any] | None = None,
    measurement: Mapping[str, int] | None = None,
) -> dict[str, Any]:
    """The report; ``baseline`` (``{"path", "gone"}``) only when one was compared against.

    ``measurement`` holds the counts of the summary's ``blob measurement:`` line (blobs
    measured, compressed, cache hits...): the one part that describes how this run got its
    sizes rather than the product, so it differs between a cold and a warm run."""
    ordered = order(results)
    over = [r for r in ordered if r.over_budget]
    report: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "tool": dict(tool),
        "budgets": [r.to_dict() for r in ordered],
        "problems": [p.to_dict() for p in sorted(problems, key=lambda p: (p.file, p.check))],
        "totals": {
            "budgets": len(ordered),
            "passed": sum(1 for r in ordered if r.passed),
            "over_budget": len(over),
            "errors": sum(1 for r in ordered if r.error is not None),
            # An update over its download budget alone is over with a negative over_by.
            "bytes_over": sum(max(r.over_by or 0, 0) for r in over),
            "failed": sum(1 for r in ordered if not r.passed),
        },
    }
    if measurement is not None:
        report["measurement"] = dict(measurement)
    if baseline is not None:
        report["baseline"] = dict(baseline)
        report["totals"]["creep_exceeded"] = sum(1 for r in ordered if r.creep_exceeded)
        report["totals"]["new"] = sum(1 for r in ordered if r.baseline == "new")
        report["totals"]["gone"] = len(baseline.get("gone", ()))
    return report


def render_json(report: Mapping[str, Any]) -> str:
    return json.dumps(report, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
