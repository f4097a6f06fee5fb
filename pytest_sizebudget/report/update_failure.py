"""Failure text of an update budget: which limit, the numbers, and the blobs to blame."""

from __future__ import annotations

from typing import Any

from pytest_sizebudget.report.text import aligned_rows
from pytest_sizebudget.units import describe, format_bytes

from .model import BudgetResult


def render_update_failure(result: BudgetResult, top_n: int = 10) -> str:
    x = result.extra
    title = f"Update {result.name!r}"
    peak, capacity = int(x["peak_bytes"]), result.budget_bytes
    download, dl_budget = x.get("download_bytes"), x.get("download_budget_bytes")
    failed: list[str] = list(x.get("failed_checks") or [])
    if result.used_bytes is not None and peak > capacity and "peak_bytes" not in failed:
        failed.insert(0, "peak_bytes")
    verdicts = []
    if "peak_bytes" in failed:
        verdicts.append(f"peak_bytes over capacity_bytes by {describe(peak - capacity)}")
    if "download_bytes" in failed and download is not None and dl_budget is not None:
        verdicts.append(
            f"download_bytes over download_budget_bytes by {describe(download - dl_budget)}"
        )
    lines = [f"{title} is over budget: {'; '.join(verdicts)}"]
    slots = int(x["slots"])
    formula = (
        f"max(disk(from ∪ to) {format_bytes(int(x['union_bytes']))}, "
        f"{slots} × disk(to) {format_bytes(int(x['to_bytes']))})"
        f" + update package blobs in neither {format_bytes(int(x['update_package_extra_bytes']))}"
    )
    rows: list[tuple[str, str]] = [
        ("peak", describe(peak, capacity)),
        ("capacity", describe(capacity, peak)),
        ("peak is", formula),
    ]
    if download is not None:
        rows.append(("download", describe(int(download), *([dl_budget] if dl_budget else []))))
    else:
        rows.append(("download", "unknown (see below)"))
    if dl_budget is not None:
        rows.append(("download budget", describe(int(dl_budget))))
    rows.append(("from", f"{x['from']}: {format_bytes(int(x['from_bytes']))} on disk"))
    rows.append(("to", f"{x['to']}: {format_bytes(int(x['to_bytes']))} on disk"))
    if x.get("update_package_bytes"):
        rows.append(("update package", format_bytes(int(x["update_package_bytes"]))))
    if result.creep_budget_bytes:
        rows.append(("creep budget", describe(result.creep_budget_bytes)))
    rows.append(("blobfs layout", str(result.parameters.get("blobfs_layout"))))
    rows.append(("file", f"{result.file}:{result.line} ({result.key})"))
    lines.extend(f"  {label:<15} {value}" for label, value in rows)
    lines.append("")
    lines.extend(_contributors(x["new_blobs"], "peak_bytes" in failed, top_n))
    if x.get("download_unknown"):
        lines.append("")
        lines.extend(str(x["download_unknown"]).splitlines())
    return "\n".join(lines)


def _contributors(new_blobs: list[dict[str, Any]], peak_failed: bool, top_n: int) -> list[str]:
    if not new_blobs:
        return ["No blob of 'to' is new: the excess is in blobs that 'from' already has."]
    key = "saves_peak_bytes" if peak_failed else "stored_bytes"
    ranked = sorted(new_blobs, key=lambda b: (-(b.get(key) or 0), b["merkle"]))
    shown = ranked[:top_n] if top_n > 0 else ranked
    header = ("NEW BLOB (package: path)", "ON DISK", "DOWNLOAD", "SAVES PEAK", "SAVES DOWNLOAD")
    rows = []
    for b in shown:
        refs = list(b["in"]) or ["?"]
        label = refs[0] + (f" (+{len(refs) - 1} more)" if len(refs) > 1 else "")
        stored = "unknown" if b["stored_bytes"] is None else format_bytes(b["stored_bytes"])
        rows.append(
            (
                f"{label}  [{b['merkle'][:12]}]",
                format_bytes(b["size"]),
                stored,
                format_bytes(b["saves_peak_bytes"]),
                stored,
            )
        )
    what = "peak" if peak_failed else "download"
    out = [
        f"Largest contributors to the {what} excess ({len(shown)} of {len(new_blobs)} blobs "
        "in 'to' or the update package and not in 'from'); removing one saves:"
    ]
    out.extend(aligned_rows(header, rows, "<>>>>"))
    if len(ranked) > len(shown):
        rest = ranked[len(shown) :]
        out.append(
            f"  ... {len(rest)} more new blob{'' if len(rest) == 1 else 's'}, "
            f"{format_bytes(sum(b['size'] for b in rest))} on disk"
        )
    return out
