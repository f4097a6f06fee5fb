"""Chromium's Gerrit binary-size plugin input, exactly as Fuchsia's size checks write it.

A flat object with sorted keys: ``"<name>"`` (used bytes), ``"<name>.budget"`` (less any
``reserve_bytes``, so that the plugin's verdict is the item's),
``"<name>.creepBudget"`` and ``"<name>.owner"``: the budget's ``owner``, else the ini
template, else the owner its kind gives (ffx's go/ link for package sets and resource
budgets, which ffx always writes).  A product with ``platform_resources_budget_bytes``
writes ffx's two components instead (its details' ``gerrit_entries``).

ffx's format has no key for a relative creep budget or for a warning, and the plugin
compares the change's size with the base revision's itself, so ``.creepBudget`` is always
bytes: with ``creep_budget_percent``, the limit the creep check applied (the percentage of
the baseline's used bytes, or ``creep_budget_bytes`` when stricter); without a baseline,
the growth above which the change is over the percentage, found from the used bytes
alone: growing by d to u bytes is more than p% of the base exactly when d > u * p / (100 + p).

The format is keyed by name alone, so two budgets could write the same key: the same
name in two budget files, or a name that is another's plus ``.budget``,
``.creepBudget`` or ``.owner``.  Such budgets are keyed ``"<name> [<file>]"`` instead
(and ``"<name> [<file>:<key>]"`` should even that meet another key), and the run says so:
no budget ever overwrites another's keys.  Without such names the output is ffx's,
byte for byte.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from .model import BudgetResult

SUFFIXES = (".budget", ".creepBudget", ".owner")


@dataclass(frozen=True, slots=True)
class GerritKeys:
    """The Gerrit name of each result (by its position in the results given), and what
    the run should say about the names it had to change."""

    names: tuple[str, ...]
    notes: tuple[str, ...]


def _clashing(names: Sequence[str]) -> set[int]:
    """Budgets any of whose keys another budget writes too (one pass, one dict)."""
    first: dict[str, int] = {}
    out: set[int] = set()
    for i, name in enumerate(names):
        for key in (name, *(name + s for s in SUFFIXES)):
            j = first.setdefault(key, i)
            if j != i:
                out.update((i, j))
    return out


def _with_file(r: BudgetResult) -> str:
    return f"{r.name} [{r.file}]"


def _with_key(r: BudgetResult) -> str:
    return f"{r.name} [{r.file}:{r.key}]"


def gerrit_keys(results: Sequence[BudgetResult]) -> GerritKeys:
    """Every budget's Gerrit name: its own name unless a key would be written twice.

    Decided over every budget of the run, measured or not (an unmeasured budget writes no
    keys), so that a budget's keys do not change with another budget's outcome.  Every
    key a budget may write counts, ``.owner`` too, whether or not it has an owner.
    """
    names = [r.name for r in results]
    left = _clashing(names)
    for level in (_with_file, _with_key):
        for i in left:
            names[i] = level(results[i])
        left = _clashing(names) if left else left
    order = sorted(range(len(results)), key=lambda i: (results[i].file, results[i].key, names[i]))
    notes = [
        f"budget {results[i].name!r} in {results[i].file} would write Gerrit keys that "
        f"another budget writes too; the Gerrit report keys it as {names[i]!r}"
        for i in order
        if names[i] != results[i].name
    ]
    # Only names made to meet our own disambiguation get here: say so, and let the
    # budget that sorts last win, as the report always did.
    notes.extend(
        f"budget {results[i].name!r} in {results[i].file}: another budget writes its Gerrit "
        "keys too; the report holds the one that sorts last"
        for i in order
        if i in left
    )
    return GerritKeys(tuple(names), tuple(notes))


def gerrit_report(
    results: Sequence[BudgetResult], keys: GerritKeys | None = None
) -> dict[str, int | str]:
    """The report; ``keys``: ``gerrit_keys(results)``, when the caller has it already."""
    names = (keys or gerrit_keys(results)).names
    out: dict[str, int | str] = {}
    ranked = sorted(
        range(len(results)), key=lambda i: (results[i].file, results[i].line, results[i].key)
    )
    for i in ranked:
        r = results[i]
        if r.used_bytes is None:  # could not be measured: the item failed and says why
            continue
        name = names[i]
        split = r.details.gerrit_components(r, name)
        if split is not None:
            for component, used, budget, creep in split:
                if component != name and component in out:
                    # Another budget's component of that name (a second product's
                    # platform resources): keyed with this budget's file, as names are.
                    component = f"{component} [{r.file}]"
                out[component] = used
                out[f"{component}.budget"] = budget
                out[f"{component}.creepBudget"] = creep
            if r.owner:
                out[f"{name}.owner"] = r.owner
            continue
        out[name] = r.used_bytes
        # What used_bytes may reach: an image budget's reserve is not available to the image.
        out[f"{name}.budget"] = r.budget_bytes - r.reserve_bytes
        out[f"{name}.creepBudget"] = creep_budget(r)
        if r.owner:
            out[f"{name}.owner"] = r.owner
    return dict(sorted(out.items()))


def creep_budget(r: BudgetResult) -> int:
    """``.creepBudget``: the growth allowed, in bytes (see the module's docstring)."""
    limit = r.creep_limit_bytes
    if limit is not None or r.creep_budget_percent is None or r.used_bytes is None:
        return r.creep_budget_bytes if limit is None else limit
    p = r.creep_budget_percent
    relative = int(r.used_bytes * p // (100 + p))
    return min(relative, r.creep_budget_bytes) if r.creep_budget_bytes else relative


def render_gerrit(results: Sequence[BudgetResult], keys: GerritKeys | None = None) -> str:
    report = gerrit_report(results, keys)
    return json.dumps(report, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
