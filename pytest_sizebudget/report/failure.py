"""Failure text that kinds share: errors, the generic verdict and numbers, the breakdown of
packages and blobs.  Each kind chooses what of it to show (``kinds/``)."""

from __future__ import annotations

from collections.abc import Sequence

from pytest_sizebudget.accounting import BlobCharge, PackageCharge
from pytest_sizebudget.report.text import aligned_rows, shown
from pytest_sizebudget.units import describe, format_bytes

from .diff import render_changes
from .model import BudgetResult, percent_of


def render_error(result: BudgetResult, title: str) -> str:
    """A budget that could not be checked: where it is, and the error as it was given."""
    lines = [f"{title} could not be checked", f"  file    {_where(result)}", ""]
    lines.extend(shown(line) for line in (result.error or "").splitlines())
    return "\n".join(lines)


def render_generic_failure(
    result: BudgetResult, title: str, top_n: int = 10, *, breakdown: bool | None = None
) -> str:
    """Verdict, numbers, the changes since the baseline and the largest packages.

    ``breakdown``: list the packages (None: when the budget has any).
    """
    if result.error is not None:
        return render_error(result, title)
    lines: list[str] = []
    used, budget = result.used_bytes or 0, result.budget_bytes
    if result.over_budget:
        lines.append(f"{title} is over budget by {describe(used + result.reserve_bytes - budget)}")
    if result.creep_exceeded:
        lines.append(creep_headline(result, title))
    lines.extend(_numbers(result))
    lines.append(f"  file          {_where(result)}")
    lines.append("")
    if result.diff:  # with a baseline: what changed, for creep and absolute failures alike
        lines.extend(render_changes(result.diff, top_n))
        lines.append("")
    if breakdown is None:
        breakdown = bool(result.packages or result.fixed_bytes)
    if breakdown:
        lines.extend(render_breakdown(result.packages, top_n, result.fixed_bytes))
    return "\n".join(lines).rstrip("\n")


def render_generic_line(result: BudgetResult, title: str) -> str:
    """One line for ``--tb=line``: the verdict and by how much."""
    if result.error is not None:
        first = next(iter(result.error.splitlines()), "")
        return f"{title} could not be checked: {shown(first)}"
    verdicts = []
    if result.over_budget:
        over = result.over_by or 0
        verdicts.append(f"is over budget by {over:,} B" if over > 0 else "is over a further limit")
    if result.creep_exceeded:
        excess = (result.delta_bytes or 0) - (result.creep_limit_bytes or 0)
        verdicts.append(f"grew over its creep budget by {excess:,} B")
    return f"{title} {' and '.join(verdicts) or 'failed'}"


def creep_headline(result: BudgetResult, title: str) -> str:
    delta = result.delta_bytes or 0
    limit = result.creep_limit_bytes or 0
    return (
        f"{title} grew by {describe(delta)} since the baseline, over its creep budget "
        f"of {creep_text(result)} by {describe(delta - limit)}"
    )


def creep_text(result: BudgetResult) -> str:
    """The creep budget as applied: bytes, or a percentage of the baseline and what it
    came to (with ``creep_budget_bytes`` too when that was the stricter)."""
    percent = result.creep_budget_percent
    if percent is None:
        return describe(result.creep_budget_bytes)
    limit = result.creep_limit_bytes
    if limit is None:
        relative = f"{percent:g}% of the baseline"
        if result.creep_budget_bytes:
            return f"{relative}, at most {describe(result.creep_budget_bytes)}"
        return relative
    text = f"{describe(limit)} ({percent:g}% of the baseline"
    if result.creep_budget_bytes and limit == result.creep_budget_bytes:
        text += f" is {percent_of(result.baseline_used_bytes or 0, percent):,} B; "
        text += "creep_budget_bytes is stricter"
    return text + ")"


def _where(result: BudgetResult) -> str:
    return shown(f"{result.file}:{result.line} ({result.key})")


def _numbers(result: BudgetResult) -> list[str]:
    used, budget = result.used_bytes or 0, result.budget_bytes
    rows = [
        ("used", describe(used, budget)),
        ("budget", describe(budget, used)),
    ]
    if result.reserve_bytes:
        rows.append(("reserve", describe(result.reserve_bytes)))
    occupied = used + result.reserve_bytes
    if occupied > budget:
        rows.append(("over by", describe(occupied - budget)))
    else:
        rows.append(("remaining", describe(budget - occupied)))
    if result.baseline_used_bytes is not None:
        rows.append(("baseline", describe(result.baseline_used_bytes, used)))
    if result.delta_bytes is not None:
        rows.append(("delta", f"{result.delta_bytes:+,} B"))
    if result.creep_budget_bytes or result.creep_budget_percent or result.delta_bytes is not None:
        rows.append(("creep budget", creep_text(result)))
    params = ", ".join(f"{k}: {v}" for k, v in sorted(result.parameters.items()))
    if params:
        rows.append(("accounting", params))
    return [f"  {label:<13} {value}" for label, value in rows]


def render_breakdown(
    packages: Sequence[PackageCharge], top_n: int, fixed_bytes: int = 0
) -> list[str]:
    """Largest packages by charged bytes, each with its largest blobs."""
    if not packages and not fixed_bytes:
        return ["(no packages)"]
    ranked = sorted(packages, key=lambda p: (-p.proportional_size, p.name, p.origin))
    listed = ranked[:top_n] if top_n > 0 else ranked
    rows: list[tuple[str, str, str, str]] = []
    for p in listed:
        rows.append(
            (
                shown(f"{p.name}  ({p.origin})"),
                format_bytes(p.used_space_in_blobfs),
                "",
                format_bytes(p.proportional_size),
            )
        )
        blobs = sorted(p.blobs, key=lambda b: (-b.charged_bytes, b.path, b.merkle))
        for b in blobs[:top_n] if top_n > 0 else blobs:
            rows.append((shown(f"  {b.path}  [{b.merkle[:12]}]"), _size(b), _share(b), _charged(b)))
        if top_n > 0 and len(blobs) > top_n:
            rest = blobs[top_n:]
            rows.append(
                (
                    f"  ... {len(rest)} more blob{'' if len(rest) == 1 else 's'}",
                    "",
                    "",
                    format_bytes(sum(b.charged_bytes for b in rest)),
                )
            )
    if fixed_bytes:
        rows.append(("merged meta.far (fixed allowance)", "", "", format_bytes(fixed_bytes)))
    header = ("PACKAGE / BLOB", "SIZE", "SHARED BY", "CHARGED")
    out = [f"Largest packages ({len(listed)} of {len(packages)}):"]
    out.extend(aligned_rows(header, rows, "<>>>"))
    if top_n > 0 and len(ranked) > top_n:
        rest_p = ranked[top_n:]
        out.append(
            f"  ... {len(rest_p)} more package{'' if len(rest_p) == 1 else 's'} charged "
            f"{format_bytes(sum(p.proportional_size for p in rest_p))}"
        )
    if any(r[2].startswith("*") for r in rows):
        out.append("  (*N: shared by N instances; each is charged size // N, rounding down)")
    return out


def _size(b: BlobCharge) -> str:
    return "unknown" if b.size is None else format_bytes(b.size)


def _share(b: BlobCharge) -> str:
    if b.excluded_by is not None:
        return f"-> {shown(b.excluded_by)}"
    return f"*{b.share_count}" if b.share_count > 1 else "1"


def _charged(b: BlobCharge) -> str:
    return "-" if b.size is None or b.excluded_by else format_bytes(b.charged_bytes)
