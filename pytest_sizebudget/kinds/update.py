"""Update (OTA) budgets: from the system a device runs to the one it installs.

``used_bytes`` is ``peak_bytes``, checked against ``capacity_bytes``:
max(disk(from ∪ to), slots × disk(to)) + the update package's blobs in neither; an
optional ``download_budget_bytes`` bounds ``download_bytes``, the Type-1 delivery-blob
sizes of the blobs the device does not have yet (``download_size: "stored"``: their
stored data sizes; see ``systems.py``).  The failure text names which limit is exceeded
and the new blobs that contribute most.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, ClassVar

from pytest_sizebudget.budget.fields import FieldReader, KeyPath, common_fields
from pytest_sizebudget.budget.model import Budget, BudgetFile, FileRef
from pytest_sizebudget.budget.system_spec import SYSTEM_FORMS, SystemSpec, parse_system
from pytest_sizebudget.errors import shown
from pytest_sizebudget.measure.formats import format_parameters
from pytest_sizebudget.product_inputs import System
from pytest_sizebudget.report.breakdown import Breakdown, figures_breakdown, short_merkle
from pytest_sizebudget.report.failure import creep_text
from pytest_sizebudget.report.model import BudgetResult, Details, HtmlPanel
from pytest_sizebudget.report.text import aligned_rows
from pytest_sizebudget.systems import (
    NewBlob,
    SystemLoader,
    account_product,
    account_update,
    evaluate_each,
    missing_text,
    size_systems,
    where_used,
)
from pytest_sizebudget.units import describe, format_bytes

from .base import BudgetKind, EntryParser, EvaluationContext

_COMMON = ("name", "creep_budget_bytes", "owner")
# What download_bytes counts per new blob: the Type-1 delivery blob an OTA fetches
# (default), or the data the filesystem stores (blobs.json compressed_file_size; the
# meaning before delivery blobs were modelled).
DOWNLOAD_SIZES = ("delivery_blob", "stored")


@dataclass(frozen=True, slots=True, kw_only=True)
class UpdateBudget(Budget):
    """``budget_bytes`` is ``capacity_bytes``, checked against the peak."""

    source: SystemSpec  # "from": what the device runs now
    target: SystemSpec  # "to": what the update installs
    update_package: FileRef | None = None
    download_budget_bytes: int | None = None
    slots: int = 1
    download_size: str = "delivery_blob"  # one of DOWNLOAD_SIZES

    @property
    def kind(self) -> str:
        return "update"


@dataclass(frozen=True, slots=True, kw_only=True)
class UpdateDetails(Details):
    peak_bytes: int
    capacity_bytes: int
    download_bytes: int | None  # None when a new blob's stored size is unknown
    download_budget_bytes: int | None
    slots: int
    from_bytes: int
    to_bytes: int
    union_bytes: int
    update_package_bytes: int
    update_package_extra_bytes: int
    source: str  # "from": how the system was given
    target: str  # "to"
    new_blobs: tuple[NewBlob, ...]
    checks_failed: tuple[str, ...] = ()
    download_unknown: str | None = None  # why download_bytes is None

    @property
    def failed_checks(self) -> tuple[str, ...]:
        return self.checks_failed

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "peak_bytes": self.peak_bytes,
            "capacity_bytes": self.capacity_bytes,
            "download_bytes": self.download_bytes,
            "download_budget_bytes": self.download_budget_bytes,
            "slots": self.slots,
            "from_bytes": self.from_bytes,
            "to_bytes": self.to_bytes,
            "union_bytes": self.union_bytes,
            "update_package_bytes": self.update_package_bytes,
            "update_package_extra_bytes": self.update_package_extra_bytes,
            "from": self.source,
            "to": self.target,
            "new_blobs": [
                {
                    "merkle": n.merkle,
                    "size": n.on_disk,
                    "download_bytes": n.stored,
                    "saves_peak_bytes": n.saves_peak,
                    "in": list(n.where),
                }
                for n in self.new_blobs
            ],
            "failed_checks": list(self.checks_failed),
        }
        if self.download_unknown is not None:
            out["download_unknown"] = self.download_unknown
        return out

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> UpdateDetails:
        return cls(
            peak_bytes=int(d["peak_bytes"]),
            capacity_bytes=int(d["capacity_bytes"]),
            download_bytes=_int_or_none(d["download_bytes"]),
            download_budget_bytes=_int_or_none(d["download_budget_bytes"]),
            slots=int(d["slots"]),
            from_bytes=int(d["from_bytes"]),
            to_bytes=int(d["to_bytes"]),
            union_bytes=int(d["union_bytes"]),
            update_package_bytes=int(d["update_package_bytes"]),
            update_package_extra_bytes=int(d["update_package_extra_bytes"]),
            source=str(d["from"]),
            target=str(d["to"]),
            new_blobs=tuple(
                NewBlob(
                    merkle=str(n["merkle"]),
                    on_disk=int(n["size"]),
                    # "stored_bytes": reports written before delivery-blob sizes
                    stored=_int_or_none(n.get("download_bytes", n.get("stored_bytes"))),
                    where=tuple(str(w) for w in n["in"]),
                    saves_peak=int(n["saves_peak_bytes"]),
                )
                for n in d["new_blobs"]
            ),
            checks_failed=tuple(str(c) for c in d.get("failed_checks") or ()),
            download_unknown=(
                None if d.get("download_unknown") is None else str(d["download_unknown"])
            ),
        )


def _int_or_none(value: Any) -> int | None:
    return None if value is None else int(value)


_SIDE_KEYS = (*SYSTEM_FORMS, "budgets", "blob_sizes")


def parse_update(
    r: FieldReader, entry: Mapping[str, Any], path: KeyPath, root: Path
) -> Budget | None:
    known = (
        *_COMMON,
        "capacity_bytes",
        "download_budget_bytes",
        "download_size",
        "slots",
        "from",
        "to",
        "update_package",
    )
    if r.object(entry, path, known) is None:
        return None
    common = common_fields(r, entry, path, "capacity_bytes")
    download = r.size(entry, path, "download_budget_bytes")
    download_size = r.string(entry, path, "download_size", choices=DOWNLOAD_SIZES)
    slots = 1
    if "slots" in entry:
        raw = entry["slots"]
        if isinstance(raw, bool) or not isinstance(raw, int) or raw < 1:
            r.error(
                (*path, "slots"), f"expected a positive integer (1, or 2 for A/B), got {shown(raw)}"
            )
        else:
            slots = raw
    sides: list[SystemSpec | None] = []
    for side in ("from", "to"):
        if side not in entry:
            r.error(path, f"missing required key {side!r}")
            sides.append(None)
            continue
        obj = r.object(entry[side], (*path, side), _SIDE_KEYS)
        sides.append(
            None
            if obj is None
            else parse_system(r, obj, (*path, side), root, SYSTEM_FORMS, ("budgets", "blob_sizes"))
        )
    update_package = None
    raw_up = r.string(entry, path, "update_package")
    if raw_up:
        update_package = FileRef(raw=raw_up, root=root, where=(*path, "update_package"))
    elif raw_up is not None:
        r.error((*path, "update_package"), "must not be empty")
    source, target = sides
    if common is None or source is None or target is None:
        return None
    return UpdateBudget(
        **common,
        source=source,
        target=target,
        update_package=update_package,
        download_budget_bytes=download,
        slots=slots,
        download_size=download_size or "delivery_blob",
    )


class UpdateKind(BudgetKind):
    name = "update"
    titles: ClassVar[Mapping[str, str]] = {"update": "Update"}
    sections: ClassVar[Mapping[str, EntryParser]] = {"update_budgets": parse_update}

    def joins_total(self, budget: Budget) -> bool:
        return False  # whole systems are not shares of the file's package-set total

    def details_from_dict(self, data: Mapping[str, Any]) -> Details:
        return UpdateDetails.from_dict(data)

    def failure_text(self, result: BudgetResult, top_n: int) -> str:
        return render_update_failure(result, top_n)

    def failure_line(self, result: BudgetResult) -> str:
        x = result.details
        if not isinstance(x, UpdateDetails):  # pragma: no cover - always so for updates
            return super().failure_line(result)
        verdicts = []
        if x.peak_bytes > x.capacity_bytes:
            verdicts.append(
                f"peak_bytes over capacity_bytes by {x.peak_bytes - x.capacity_bytes:,} B"
            )
        if "download_bytes" in x.checks_failed and x.download_bytes is not None:
            over = x.download_bytes - (x.download_budget_bytes or 0)
            verdicts.append(f"download_bytes over download_budget_bytes by {over:,} B")
        if not verdicts:
            return super().failure_line(result)
        return f"{self.title(result)} is over budget: {'; '.join(verdicts)}"

    def breakdown(self, result: BudgetResult, top_n: int) -> Sequence[Breakdown]:
        x = result.details
        if result.error is not None or not isinstance(x, UpdateDetails):
            return ()
        download = "unknown" if x.download_bytes is None else format_bytes(x.download_bytes)
        figures = [
            ("peak", format_bytes(x.peak_bytes)),
            ("capacity", format_bytes(x.capacity_bytes)),
            ("download", download),
        ]
        if x.download_budget_bytes is not None:
            figures.append(("download budget", format_bytes(x.download_budget_bytes)))
        figures += [
            ("slots", str(x.slots)),
            ("from (on disk)", format_bytes(x.from_bytes)),
            ("to (on disk)", format_bytes(x.to_bytes)),
            ("update package blobs in neither", format_bytes(x.update_package_extra_bytes)),
        ]
        return (figures_breakdown("Peak and download", figures), _new_blobs(x, top_n))

    def junit_properties(self, result: BudgetResult) -> Sequence[tuple[str, int]]:
        x = result.details
        if not isinstance(x, UpdateDetails):
            return ()
        props = [
            ("download_bytes", x.download_bytes),
            ("download_budget_bytes", x.download_budget_bytes),
            ("peak_bytes", x.peak_bytes),
        ]
        return [(k, v) for k, v in props if v is not None]

    def html_panel(self, result: BudgetResult) -> HtmlPanel:
        x = result.details
        if not isinstance(x, UpdateDetails):
            return HtmlPanel.generic(result)
        download = "unknown" if x.download_bytes is None else f"{x.download_bytes:,} B"
        figures = [
            ("peak", f"{x.peak_bytes:,} B"),
            ("capacity", f"{x.capacity_bytes:,} B"),
            ("download", download),
        ]
        if x.download_budget_bytes is not None:
            figures.append(("download budget", f"{x.download_budget_bytes:,} B"))
        figures += [
            ("slots", str(x.slots)),
            ("from", f"{x.source}: {x.from_bytes:,} B on disk"),
            ("to", f"{x.target}: {x.to_bytes:,} B on disk"),
            ("new blobs", f"{len(x.new_blobs):,}"),
        ]
        # The peak as its parts: what the larger term holds, then the update package.
        larger = max(x.union_bytes, x.slots * x.to_bytes)
        bar = [("systems", larger), ("update package", x.update_package_extra_bytes)]
        return HtmlPanel(treemap=bool(result.packages), figures=tuple(figures), bar=tuple(bar))

    def evaluate(
        self,
        context: EvaluationContext,
        budget_file: BudgetFile,
        budgets: Sequence[Budget],
        base: Mapping[str, BudgetResult],
    ) -> Mapping[str, BudgetResult]:
        mine = [b for b in budgets if isinstance(b, UpdateBudget)]
        return evaluate_each(context, budget_file, mine, base, _update)


def _update(loader: SystemLoader, b: UpdateBudget, base: BudgetResult) -> BudgetResult:
    source = loader.system("from", b.source)
    target = loader.system("to", b.target)
    systems = [source, target]
    if b.update_package is not None:
        package = loader.package(b.update_package)
        systems.append(System("update_package", b.update_package.key, (package,)))
    f_set, t_set = source.merkles(), target.merkles()
    p_set = systems[2].merkles() if len(systems) == 3 else set()
    new = (t_set | p_set) - f_set
    index, compressed = loader.index([*b.source.blob_sizes, *b.target.blob_sizes])
    layout = loader.storage_format(systems)
    delivery = b.download_size == "delivery_blob"
    table = size_systems(
        systems, index, compressed, loader.context.sizer, layout, new, delivery=delivery
    )
    where = where_used(systems[1:])
    parameters = {**format_parameters(layout), "slots": b.slots, "download_size": b.download_size}
    result = replace(base, parameters=parameters)
    if table.why_no_size:
        text = missing_text(
            f"update {b.name!r}", "no known on-disk size", table.why_no_size, where_used(systems)
        )
        return result.with_error(text)
    usage = account_update(f_set, t_set, p_set, table.on_disk, table.stored, b.slots, where)
    to_usage = account_product(target.packages, table.on_disk)
    failed = []
    if usage.peak_bytes > b.budget_bytes:
        failed.append("peak_bytes")
    download_missing = {m: table.why_no_stored[m] for m in new if m not in table.stored}
    if (
        b.download_budget_bytes is not None
        and usage.download_bytes is not None
        and usage.download_bytes > b.download_budget_bytes
    ):
        failed.append("download_bytes")
    dl_text: str | None = None
    if download_missing:
        dl_text = missing_text(
            f"update {b.name!r}", "no known download size", download_missing, where
        )
    details = UpdateDetails(
        peak_bytes=usage.peak_bytes,
        capacity_bytes=b.budget_bytes,
        download_bytes=usage.download_bytes,
        download_budget_bytes=b.download_budget_bytes,
        slots=b.slots,
        from_bytes=usage.from_bytes,
        to_bytes=usage.to_bytes,
        union_bytes=usage.union_bytes,
        update_package_bytes=usage.update_package_bytes,
        update_package_extra_bytes=usage.update_package_extra_bytes,
        source=source.description,
        target=target.description,
        new_blobs=usage.new_blobs,
        checks_failed=tuple(failed),
        # Without a download budget nothing is checked against it: the peak still decides.
        download_unknown=dl_text,
    )
    result = replace(
        result, used_bytes=usage.peak_bytes, packages=to_usage.packages, details=details
    )
    if dl_text is not None and b.download_budget_bytes is not None:
        return result.with_error(dl_text)
    return result


def render_update_failure(result: BudgetResult, top_n: int = 10) -> str:
    x = result.details
    assert isinstance(x, UpdateDetails)
    title = f"Update {result.name!r}"
    peak, capacity = x.peak_bytes, result.budget_bytes
    download, dl_budget = x.download_bytes, x.download_budget_bytes
    failed: list[str] = list(x.checks_failed)
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
    formula = (
        f"max(disk(from ∪ to) {format_bytes(x.union_bytes)}, "
        f"{x.slots} × disk(to) {format_bytes(x.to_bytes)})"
        f" + update package blobs in neither {format_bytes(x.update_package_extra_bytes)}"
    )
    rows: list[tuple[str, str]] = [
        ("peak", describe(peak, capacity)),
        ("capacity", describe(capacity, peak)),
        ("peak is", formula),
    ]
    if download is not None:
        rows.append(("download", describe(download, *([dl_budget] if dl_budget else []))))
    else:
        rows.append(("download", "unknown (see below)"))
    if dl_budget is not None:
        rows.append(("download budget", describe(dl_budget)))
    rows.append(("from", f"{x.source}: {format_bytes(x.from_bytes)} on disk"))
    rows.append(("to", f"{x.target}: {format_bytes(x.to_bytes)} on disk"))
    if x.update_package_bytes:
        rows.append(("update package", format_bytes(x.update_package_bytes)))
    if result.creep_budget_bytes or result.creep_budget_percent is not None:
        rows.append(("creep budget", creep_text(result)))
    filesystem = "fxfs" if result.parameters.get("filesystem") == "fxfs" else "blobfs"
    if "blobfs_layout" in result.parameters:
        filesystem += f" ({result.parameters['blobfs_layout']} layout)"
    rows.append(("filesystem", filesystem))
    rows.append(("download is", _download_meaning(result.parameters.get("download_size"))))
    rows.append(("file", f"{result.file}:{result.line} ({result.key})"))
    lines.extend(f"  {label:<15} {value}" for label, value in rows)
    lines.append("")
    lines.extend(_contributors(x.new_blobs, "peak_bytes" in failed, top_n))
    if x.download_unknown:
        lines.append("")
        lines.extend(x.download_unknown.splitlines())
    return "\n".join(lines)


def _download_meaning(mode: object) -> str:
    if mode == "stored":
        return "Σ stored data size of the new blobs (download_size: stored)"
    return "Σ Type-1 delivery-blob size of the new blobs"


def _ranked(new_blobs: Sequence[NewBlob], peak_failed: bool) -> list[NewBlob]:
    """Largest first by what removing the blob saves of the check that failed (the peak,
    else the download); ties by merkle."""

    def weight(b: NewBlob) -> int:
        return b.saves_peak if peak_failed else (b.stored or 0)

    return sorted(new_blobs, key=lambda b: (-weight(b), b.merkle))


def _where(b: NewBlob) -> str:
    """The blob's first package path, and how many more have it."""
    refs = list(b.where) or ["?"]
    return refs[0] + (f" (+{len(refs) - 1} more)" if len(refs) > 1 else "")


def _contributors(new_blobs: Sequence[NewBlob], peak_failed: bool, top_n: int) -> list[str]:
    if not new_blobs:
        return ["No blob of 'to' is new: the excess is in blobs that 'from' already has."]

    ranked = _ranked(new_blobs, peak_failed)
    shown = ranked[:top_n] if top_n > 0 else ranked
    header = ("NEW BLOB (package: path)", "ON DISK", "DOWNLOAD", "SAVES PEAK", "SAVES DOWNLOAD")
    rows = []
    for b in shown:
        label = _where(b)
        stored = "unknown" if b.stored is None else format_bytes(b.stored)
        rows.append(
            (
                f"{label}  [{b.merkle[:12]}]",
                format_bytes(b.on_disk),
                stored,
                format_bytes(b.saves_peak),
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
            f"{format_bytes(sum(b.on_disk for b in rest))} on disk"
        )
    return out


def _new_blobs(x: UpdateDetails, top_n: int) -> Breakdown:
    """The new blobs that weigh most on the check that failed (the peak when it did)."""
    peak_failed = x.peak_bytes > x.capacity_bytes or "peak_bytes" in x.checks_failed

    ranked = _ranked(x.new_blobs, peak_failed)
    listed = ranked[:top_n] if top_n > 0 else ranked
    rows = []
    for b in listed:
        label = _where(b)
        stored = "unknown" if b.stored is None else format_bytes(b.stored)
        rows.append(
            (
                label,
                short_merkle(b.merkle),
                format_bytes(b.on_disk),
                stored,
                format_bytes(b.saves_peak),
            )
        )
    rest = ranked[len(listed) :]
    more = None
    if rest:
        on_disk = sum(b.on_disk for b in rest)
        blobs = f"{len(rest):,} more new blob{'' if len(rest) == 1 else 's'}"
        more = f"{blobs}, {format_bytes(on_disk)} on disk"
    what = "peak" if peak_failed else "download"
    return Breakdown(
        title=f"New blobs by what removing one saves of the {what} ({len(listed):,} of "
        f"{len(ranked):,})",
        columns=("package: path", "merkle", "on disk", "download", "saves peak"),
        align="<<>>>",
        rows=tuple(rows),
        more=more,
    )
