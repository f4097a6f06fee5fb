"""The HTML report: one self-contained file (inline CSS, JS and SVG; no network access).

The page carries the report's data as JSON and draws, failures and warnings first, per
budget, the panel its kind chooses (``HtmlPanel``): a squarified treemap of its packages
(package -> blob, by charged bytes; zoom into a package and back; shared blobs outlined
in dashes; red for growth and green for shrinkage against the baseline), key figures,
and a bar of what it uses against its budget; plus a search box and sortable tables.
Status, remaining bytes and used percentage come from ``BudgetResult``, as in every
other report.  The file holds no timestamp and sorts everything, so the same results
give the same bytes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from html import escape
from importlib.resources import files
from typing import TYPE_CHECKING, Any

from .json_report import order
from .model import BudgetResult, FileProblem, HtmlPanel, Status

if TYPE_CHECKING:
    from pytest_sizebudget.kinds.registry import KindRegistry


# Worst first: the order of the page's cards and of its summary table.
SEVERITY = {Status.ERROR: 0, Status.OVER: 1, Status.CREEP: 2, Status.WARN: 3, Status.OK: 4}


def _budget_data(r: BudgetResult, kinds: KindRegistry | None) -> dict[str, Any]:
    deltas: dict[tuple[str, str], int] = {}
    added: set[tuple[str, str]] = set()
    for c in r.diff or ():
        if c.kind != "removed":
            deltas[(c.package, c.path)] = deltas.get((c.package, c.path), 0) + c.delta
        if c.kind == "added":
            added.add((c.package, c.path))
    kind = None if kinds is None else kinds.find(r.kind)
    panel = kind.html_panel(r) if kind is not None else HtmlPanel.generic(r)
    status = r.status
    return {
        "name": r.name,
        "file": r.file,
        "line": r.line,
        "kind": r.kind,
        "title": kind.title(r) if kind is not None else r.name,
        # Computed once in Python, as for every other report: the page never recomputes.
        "status": status.value,
        "severity": SEVERITY[status],
        "remaining": r.remaining_bytes,
        "used_percent": None if r.used_percent is None else round(r.used_percent, 1),
        "warn_limit": _warn_limit(r),
        "panel": panel.to_dict(),
        "warning": r.warning,
        "used": r.used_bytes,
        "budget": r.budget_bytes,
        "reserve": r.reserve_bytes,
        "creep": r.creep_limit_bytes,
        "creep_percent": r.creep_budget_percent,
        "owner": r.owner,
        "baseline": r.baseline,
        "baseline_used": r.baseline_used_bytes,
        "delta": r.delta_bytes,
        "fixed": r.fixed_bytes,
        "error": r.error,
        # Blobs as arrays, not objects: a product of 50,000 blobs is a third smaller.
        # [path, merkle, size, share count, charged, excluded_by, delta, added]
        "packages": [
            {
                "name": p.name,
                "origin": p.origin,
                "charged": p.proportional_size,
                "blobs": [
                    [
                        b.path,
                        b.merkle,
                        b.size,
                        b.share_count,
                        b.charged_bytes,
                        b.excluded_by,
                        deltas.get((p.name, b.path)),
                        (p.name, b.path) in added,
                    ]
                    for b in sorted(p.blobs, key=lambda b: (-b.charged_bytes, b.path, b.merkle))
                ],
            }
            for p in sorted(r.packages, key=lambda p: (-p.proportional_size, p.name, p.origin))
        ],
        "diff": None if r.diff is None else [c.to_dict() for c in r.diff],
    }


def _warn_limit(r: BudgetResult) -> int | None:
    """Where the bar marks the warning threshold: the lower of warn_at and warn_bytes."""
    limits = []
    if r.warn_at is not None:
        limits.append(int(r.budget_bytes * r.warn_at / 100))
    if r.warn_bytes is not None:
        limits.append(r.warn_bytes)
    return min(limits) if limits else None


def render_html(
    results: Sequence[BudgetResult],
    problems: Sequence[FileProblem],
    tool: Mapping[str, Any],
    baseline: Mapping[str, Any] | None = None,
    kinds: KindRegistry | None = None,
) -> str:
    """The page; ``kinds`` draw their budgets' panels (without: the generic panel)."""
    data = {
        "tool": dict(tool),
        "budgets": [
            _budget_data(r, kinds) for r in sorted(order(results), key=lambda r: SEVERITY[r.status])
        ],
        "problems": [p.to_dict() for p in sorted(problems, key=lambda p: (p.file, p.check))],
        "baseline": None if baseline is None else dict(baseline),
    }
    payload = json.dumps(data, sort_keys=True, ensure_ascii=True, separators=(",", ":"))
    payload = payload.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    title = escape(f"Size budgets — {tool.get('name', 'pytest-sizebudget')}")
    return (
        _PAGE.replace("__TITLE__", title)
        .replace("__CSS__", _asset("report.css"))
        .replace("__JS__", _asset("report.js"))
        .replace("__DATA__", payload)
    )


_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>__TITLE__</title>
<style>__CSS__</style>
</head>
<body>
<header>
<h1>Size budgets</h1>
<span id="counts"></span>
<input id="search" type="search" placeholder="Search budgets, packages, paths, merkles"
 autocomplete="off">
</header>
<main id="app"><noscript>This report needs JavaScript to draw its treemaps.</noscript></main>
<script id="sizebudget-data" type="application/json">__DATA__</script>
<script>__JS__</script>
</body>
</html>
"""


def _asset(name: str) -> str:
    return files("pytest_sizebudget.report").joinpath("assets", name).read_text(encoding="utf-8")
