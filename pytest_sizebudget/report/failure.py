"""The text a failing budget item shows: verdict, numbers, and where the bytes went."""

from __future__ import annotations

from collections.abc import Sequence

from pytest_sizebudget.accounting import BlobCharge, PackageCharge
from pytest_sizebudget.report.text import aligned_rows
from pytest_sizebudget.units import describe, format_bytes

from .diff import render_changes
from .image_failure import image_numbers
from .model import BudgetResult

_KIND_TITLE = {
    "package_set": "Package set",
    "resource": "Resource budget",
    "image": "Image budget",
    "product": "Product",
    "update": "Update",
}


def title(result: BudgetResult) -> str:
    kind = _KIND_TITLE.get(result.kind, result.kind.replace("_", " ").capitalize())
    return f"{kind} {result.name!r}"


def render_failure(result: BudgetResult, top_n: int = 10) -> str:
    """Plain text for a failed or errored budget; safe to send across processes."""
    lines: list[str] = []
    where = f"{result.file}:{result.line} ({result.key})"
    if result.error is not None:
        lines.append(f"{title(result)} could not be checked")
        lines.append(f"  file    {where}")
        lines.append("")
        lines.extend(result.error.splitlines())
        return "\n".join(lines)
    if result.kind == "update":
        from .update_failure import render_update_failure

        return render_update_failure(result, top_n)
    if result.kind == "image":
        if result.over_budget:
            over = describe(result.over_by or 0)
            lines.append(f"{title(result)} does not fit its partition: over by {over}")
        if result.creep_exceeded:
            lines.append(_creep_headline(result))
            lines.append(f"  baseline      {describe(result.baseline_used_bytes or 0)}")
            lines.append(f"  delta         {result.delta_bytes or 0:+,} B")
        lines.extend(image_numbers(result))
        lines.append(f"  file          {where}")
        return "\n".join(lines)
    used, budget = result.used_bytes or 0, result.budget_bytes
    if result.over_budget:
        lines.append(f"{title(result)} is over budget by {describe(used - budget)}")
    if result.creep_exceeded:
        lines.append(_creep_headline(result))
    lines.extend(_numbers(result))
    lines.append(f"  file          {where}")
    lines.append("")
    if result.diff:  # with a baseline: what changed, for creep and absolute failures alike
        lines.extend(render_changes(result.diff, top_n))
        lines.append("")
    lines.extend(render_breakdown(result.packages, top_n, result.fixed_bytes))
    return "\n".join(lines)


def _creep_headline(result: BudgetResult) -> str:
    delta = result.delta_bytes or 0
    return (
        f"{title(result)} grew by {describe(delta)} since the baseline, over its creep budget "
        f"of {describe(result.creep_budget_bytes)} by {describe(delta - result.creep_budget_bytes)}"
    )


def _numbers(result: BudgetResult) -> list[str]:
    used, budget = result.used_bytes or 0, result.budget_bytes
    rows = [
        ("used", describe(used, budget)),
        ("budget", describe(budget, used)),
    ]
    if used > budget:
        rows.append(("over by", describe(used - budget)))
    else:
        rows.append(("remaining", describe(budget - used)))
    if result.baseline_used_bytes is not None:
        rows.append(("baseline", describe(result.baseline_used_bytes, used)))
    if result.delta_bytes is not None:
        rows.append(("delta", f"{result.delta_bytes:+,} B"))
    if result.creep_budget_bytes or result.delta_bytes is not None:
        rows.append(("creep budget", describe(result.creep_budget_bytes)))
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
    shown = ranked[:top_n] if top_n > 0 else ranked
    rows: list[tuple[str, str, str, str]] = []
    for p in shown:
        rows.append(
            (
                f"{p.name}  ({p.origin})",
                format_bytes(p.used_space_in_blobfs),
                "",
                format_bytes(p.proportional_size),
            )
        )
        blobs = sorted(p.blobs, key=lambda b: (-b.charged_bytes, b.path, b.merkle))
        for b in blobs[:top_n] if top_n > 0 else blobs:
            rows.append((f"  {b.path}  [{b.merkle[:12]}]", _size(b), _share(b), _charged(b)))
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
    out = [f"Largest packages ({len(shown)} of {len(packages)}):"]
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
        return f"-> {b.excluded_by}"
    return f"*{b.share_count}" if b.share_count > 1 else "1"


def _charged(b: BlobCharge) -> str:
    return "-" if b.size is None or b.excluded_by else format_bytes(b.charged_bytes)
