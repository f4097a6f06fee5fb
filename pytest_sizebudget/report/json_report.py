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
) -> dict[str, Any]:
    ordered = order(results)
    over = [r for r in ordered if r.error is None and not r.passed]
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": dict(tool),
        "budgets": [r.to_dict() for r in ordered],
        "problems": [p.to_dict() for p in sorted(problems, key=lambda p: (p.file, p.check))],
        "totals": {
            "budgets": len(ordered),
            "passed": sum(1 for r in ordered if r.passed),
            "over_budget": len(over),
            "errors": sum(1 for r in ordered if r.error is not None),
            "bytes_over": sum(max(r.over_by or 0, 0) for r in over),
        },
    }


def render_json(report: Mapping[str, Any]) -> str:
    return json.dumps(report, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
