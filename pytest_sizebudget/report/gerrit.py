"""Chromium's Gerrit binary-size plugin input, exactly as Fuchsia's size checks write it.

A flat object with sorted keys: ``"<name>"`` (used bytes), ``"<name>.budget"`` (less any
``reserve_bytes``, so that the plugin's verdict is the item's),
``"<name>.creepBudget"`` and, when an owner is known, ``"<name>.owner"``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from .model import BudgetResult


def gerrit_report(results: Sequence[BudgetResult]) -> dict[str, int | str]:
    out: dict[str, int | str] = {}
    for r in results:
        if r.used_bytes is None:  # could not be measured: the item failed and says why
            continue
        out[r.name] = r.used_bytes
        # What used_bytes may reach: an image budget's reserve is not available to the image.
        out[f"{r.name}.budget"] = r.budget_bytes - r.reserve_bytes
        out[f"{r.name}.creepBudget"] = r.creep_budget_bytes
        if r.owner:
            out[f"{r.name}.owner"] = r.owner
    return dict(sorted(out.items()))


def name_clashes(results: Sequence[BudgetResult]) -> list[str]:
    """Budget names shared by several files: the Gerrit format, keyed by name, holds one."""
    files: dict[str, list[str]] = {}
    for r in results:
        if r.used_bytes is not None:
            files.setdefault(r.name, []).append(r.file)
    return [
        f"budget name {name!r} is used in {', '.join(sorted(where))}; the Gerrit report is "
        f"keyed by name and holds only the last of them ({sorted(where)[-1]})"
        for name, where in sorted(files.items())
        if len(where) > 1
    ]


def render_gerrit(results: Sequence[BudgetResult]) -> str:
    return json.dumps(gerrit_report(results), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
