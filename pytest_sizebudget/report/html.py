"""The HTML report: one self-contained file (inline CSS, JS and SVG; no network access).

The page carries the report's data as JSON and draws, per budget, the panel its kind
chooses (``HtmlPanel``): a squarified treemap of its packages (package -> blob, by
charged bytes; shared blobs outlined in dashes; red for growth and green for shrinkage
against the baseline), key figures, and a bar of what it uses against its budget; plus
a search box and sortable tables.  The file holds no timestamp and sorts everything, so the same
results give the same bytes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from html import escape
from importlib.resources import files
from typing import TYPE_CHECKING, Any

from .json_report import order
from .model import BudgetResult, FileProblem, HtmlPanel

if TYPE_CHECKING:
    from pytest_sizebudget.kinds.registry import KindRegistry


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
    return {
        "name": r.name,
        "file": r.file,
        "kind": r.kind,
        "status": r.status.value,
        "panel": panel.to_dict(),
        "warning": r.warning,
        "used": r.used_bytes,
        "budget": r.budget_bytes,
        "creep": r.creep_budget_bytes,
        "baseline": r.baseline,
        "baseline_used": r.baseline_used_bytes,
        "delta": r.delta_bytes,
        "fixed": r.fixed_bytes,
        "error": r.error,
        "packages": [
            {
                "name": p.name,
                "origin": p.origin,
                "charged": p.proportional_size,
                "blobs": [
                    {
                        "path": b.path,
                        "merkle": b.merkle,
                        "size": b.size,
                        "share": b.share_count,
                        "charged": b.charged_bytes,
                        "excluded_by": b.excluded_by,
                        "delta": deltas.get((p.name, b.path)),
                        "added": (p.name, b.path) in added,
                    }
                    for b in sorted(p.blobs, key=lambda b: (-b.charged_bytes, b.path, b.merkle))
                ],
            }
            for p in sorted(r.packages, key=lambda p: (-p.proportional_size, p.name, p.origin))
        ],
        "diff": None if r.diff is None else [c.to_dict() for c in r.diff],
    }


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
        "budgets": [_budget_data(r, kinds) for r in order(results)],
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
<input id="search" type="search" placeholder="Search packages, paths, merkles" autocomplete="off">
</header>
<main id="app"><noscript>This report needs JavaScript to draw its treemaps.</noscript></main>
<script id="sizebudget-data" type="application/json">__DATA__</script>
<script>__JS__</script>
</body>
</html>
"""


def _asset(name: str) -> str:
    return files("pytest_sizebudget.report").joinpath("assets", name).read_text(encoding="utf-8")
