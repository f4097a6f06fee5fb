"""The end-of-run table of every budget, like ``ffx assembly size-check --verbose``."""

from __future__ import annotations

from collections.abc import Sequence

from .model import BudgetResult, FileProblem


def _status(r: BudgetResult) -> str:
    if r.error is not None:
        return "ERROR"
    return "ok" if r.passed else "OVER"


def render_summary(
    results: Sequence[BudgetResult], problems: Sequence[FileProblem] = ()
) -> list[str]:
    """Rows sorted by name (then file): used, budget, signed remaining, percent used."""
    ordered = sorted(results, key=lambda r: (r.name, r.file, r.line))
    several_files = len({r.file for r in results}) > 1
    rows: list[tuple[str, ...]] = []
    for r in ordered:
        name = f"{r.name}  [{r.file}]" if several_files else r.name
        if r.used_bytes is None:
            rows.append((name, "?", f"{r.budget_bytes:,}", "?", "?", _status(r)))
            continue
        # An image budget's reserve is taken from the partition, as its check does.
        occupied = r.used_bytes + r.reserve_bytes
        remaining = r.budget_bytes - occupied
        percent = f"{100 * occupied / r.budget_bytes:,.1f}%" if r.budget_bytes else "-"
        rows.append(
            (
                name,
                f"{r.used_bytes:,}",
                f"{r.budget_bytes:,}",
                f"{remaining:+,}",
                percent,
                _status(r),
            )
        )
    header = ("Name", "Used", "Budget", "Remaining", "Used %", "")
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(6)]
    widths[0] = max(widths[0], 40)
    lines = []
    for row in (header, *rows):
        lines.append(
            f"{row[0]:<{widths[0]}} {row[1]:>{widths[1]}} {row[2]:>{widths[2]}} "
            f"{row[3]:>{widths[3]}} {row[4]:>{widths[4]}}  {row[5]}".rstrip()
        )
    over = sum(1 for r in results if r.error is None and not r.passed)
    errored = sum(1 for r in results if r.error is not None)
    tail = (
        f"{len(results)} budget{'' if len(results) == 1 else 's'} checked: "
        f"{over} over budget, {errored} could not be checked"
    )
    if problems:
        tail += f", {len(problems)} budget file problem{'s' if len(problems) != 1 else ''}"
    lines.append(tail)
    lines.extend(f"  {p.message}".splitlines()[0] for p in problems)
    return lines
