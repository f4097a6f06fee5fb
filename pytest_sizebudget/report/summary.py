"""The end-of-run table of every budget, like ``ffx assembly size-check --verbose``."""

from __future__ import annotations

from collections.abc import Sequence

from .model import NEW, BudgetResult, FileProblem, Status
from .text import shown


def _status(r: BudgetResult) -> str:
    status = r.status
    return "ok" if status is Status.OK else status.value.upper()


def _delta(r: BudgetResult, threshold: int) -> str:
    if r.baseline == NEW:
        return "new"
    if r.delta_bytes is None:
        return "?"
    if abs(r.delta_bytes) < threshold or r.delta_bytes == 0:
        return ""
    return f"{r.delta_bytes:+,}"


def render_summary(
    results: Sequence[BudgetResult],
    problems: Sequence[FileProblem] = (),
    *,
    gone: Sequence[BudgetResult] = (),
    delta_threshold: int = 0,
) -> list[str]:
    """Rows sorted by name (then file): used, budget, signed remaining, percent used.

    With a baseline (any result compared with one) a Delta column follows; deltas
    smaller than ``delta_threshold`` bytes are left blank (verdicts do not change).
    """
    ordered = sorted(results, key=lambda r: (r.name, r.file, r.line))
    several_files = len({r.file for r in results}) > 1
    with_delta = any(r.baseline is not None for r in results) or bool(gone)
    rows: list[tuple[str, ...]] = []
    for r in ordered:
        # Names and paths escaped: a newline in a name must not forge a row of its own.
        name = shown(f"{r.name}  [{r.file}]" if several_files else r.name)
        delta = (_delta(r, delta_threshold),) if with_delta else ()
        if r.used_bytes is None:
            rows.append((name, "?", f"{r.budget_bytes:,}", "?", "?", *delta, _status(r)))
            continue
        # An image budget's reserve is taken from the partition, as its check does.
        remaining = r.remaining_bytes or 0
        percent = "-" if r.used_percent is None else f"{r.used_percent:,.1f}%"
        rows.append(
            (
                name,
                f"{r.used_bytes:,}",
                f"{r.budget_bytes:,}",
                f"{remaining:+,}",
                percent,
                *delta,
                _status(r),
            )
        )
    header = ("Name", "Used", "Budget", "Remaining", "Used %", *(("Delta",) if with_delta else ()))
    header = (*header, "")
    n = len(header)
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(n)]
    widths[0] = max(widths[0], 40)
    lines = []
    for row in (header, *rows):
        cells = [f"{row[0]:<{widths[0]}}"] + [f"{row[i]:>{widths[i]}}" for i in range(1, n - 1)]
        lines.append(f"{' '.join(cells)}  {row[n - 1]}".rstrip())
    over = sum(1 for r in results if r.over_budget)
    errored = sum(1 for r in results if r.error is not None)
    warned = sum(1 for r in results if r.status is Status.WARN)
    tail = (
        f"{len(results)} budget{'' if len(results) == 1 else 's'} checked: "
        f"{over} over budget, {errored} could not be checked"
    )
    if warned:
        tail += f", {warned} with a warning"
    if with_delta:
        creep = sum(1 for r in results if r.creep_exceeded)
        tail += f", {creep} over creep budget"
    if problems:
        tail += f", {len(problems)} budget file problem{'s' if len(problems) != 1 else ''}"
    lines.append(tail)
    lines.extend(shown(f"  {p.message}".splitlines()[0]) for p in problems)
    if with_delta and delta_threshold:
        lines.append(f"(deltas under {delta_threshold:,} B are not shown)")
    for g in sorted(gone, key=lambda g: (g.name, g.file)):
        used = "?" if g.used_bytes is None else f"{g.used_bytes:,} B"
        lines.append(shown(f"gone since the baseline: {g.name}  [{g.file}] (used {used})"))
    return lines
