"""ELF budgets: each memory region of a linked firmware program must fit its budget.

An ``elf_budgets`` entry names an ELF program (``elf``) and its memory regions, from the
"Memory Configuration" table of the GNU ld map file of the same link (``map``) or written
inline (``regions: [{name, origin, length}]``).  Each region is one budget, and so one
item, named ``<name>/<REGION>``: its ``used_bytes`` is what ``ld --print-memory-usage``
prints as "Used Size" for the region (``firmware/regions.py`` says how that follows from
the ELF), its ``budget_bytes`` the region's length unless ``limits.<REGION>`` sets one.
With a map file the breakdown also lists the region's largest input objects; with a
baseline, how its sections and objects changed.

The regions are read when the budget file is read (the items are the regions), so a map
file that cannot be read makes one item, ``<name>``, that fails with the reason; the
file's other budgets are not affected.  The ELF file is read when the budgets are
evaluated, once per entry.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from pytest_sizebudget.budget.fields import FieldReader, KeyPath, budget_name, dotted
from pytest_sizebudget.budget.model import Budget, BudgetFile, FileRef
from pytest_sizebudget.errors import InputError, kind_of
from pytest_sizebudget.firmware.ldmap import read_input_pieces, read_memory_configuration
from pytest_sizebudget.firmware.regions import (
    LayoutError,
    Region,
    RegionUsage,
    overlap_message,
    overlapping,
    region_usage,
)
from pytest_sizebudget.paths import printable
from pytest_sizebudget.report.failure import creep_headline
from pytest_sizebudget.report.model import BudgetResult, Details, HtmlPanel

if TYPE_CHECKING:
    from pytest_sizebudget.firmware.elf import ElfLayout
from pytest_sizebudget.units import describe, format_bytes

from .base import BudgetKind, EntryParser, EvaluationContext, entry_groups

_KEYS = ("name", "elf", "map", "regions", "limits", "owner", "creep_budget_bytes")
_REGION_KEYS = ("name", "origin", "length")
_LIMIT_KEYS = ("budget_bytes", "creep_budget_bytes", "warn_at")
# How many sections and input objects of a region the JSON report keeps (largest first):
# a large program links thousands of objects, and the report is read by people.
MAX_SECTIONS = 100
MAX_OBJECTS = 200


@dataclass(frozen=True, slots=True)
class _Limits:
    budget_bytes: int | None = None
    creep_budget_bytes: int | None = None
    warn_at: float | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ElfRegionBudget(Budget):
    entry_key: str  # the entry's key: its regions are measured together
    elf: FileRef
    map: FileRef | None
    region: Region | None  # None: the regions could not be read (``problem`` says why)
    regions: tuple[Region, ...]  # every region of the program, to place its sections
    warn_at: float | None = None  # percent of budget_bytes
    problem: str | None = None

    @property
    def kind(self) -> str:
        return "elf_region"


# -- parsing -------------------------------------------------------------------------


def parse_elf_budget(
    r: FieldReader, entry: Mapping[str, Any], path: KeyPath, root: Path
) -> Sequence[Budget] | None:
    if r.object(entry, path, _KEYS) is None:
        return None
    name = budget_name(r, entry, path)
    owner = r.string(entry, path, "owner")
    creep = r.size(entry, path, "creep_budget_bytes")
    elf = r.string(entry, path, "elf", required=True)
    if elf is not None and not elf:
        r.error((*path, "elf"), "must name the ELF file")
        elf = None
    map_raw = r.string(entry, path, "map")
    if map_raw is not None and not map_raw:
        r.error((*path, "map"), "must name the map file")
        map_raw = None
    limits = _limits(r, entry, path)
    key = dotted(path)
    if name is None or elf is None or limits is None:
        if "map" not in entry:
            _regions_inline(r, entry, path)  # report their problems too
        return None
    map_ref: FileRef | None = None
    elf_ref = FileRef(raw=elf, root=root, where=(*path, "elf"))
    if "map" in entry:
        if map_raw is None:
            return None
        selected = _region_names(r, entry, path)
        if selected is None:
            return None
        map_ref = FileRef(raw=map_raw, root=root, where=(*path, "map"))
        try:
            regions = _map_regions(map_ref, selected, limits)
        except InputError as exc:
            return [
                ElfRegionBudget(
                    name=name,
                    key=key,
                    line=r.line(path),
                    budget_bytes=0,
                    elf=elf_ref,
                    map=map_ref,
                    region=None,
                    regions=(),
                    problem=f"{map_ref.key}: {exc}",
                    owner=owner,
                    entry_key=key,
                )
            ]
        chosen = [rg for rg in regions if not selected or rg.name in selected]
    else:
        inline = _regions_inline(r, entry, path, required=True)
        if inline is None:
            return None
        regions = tuple(inline)
        chosen = list(regions)
        unknown = sorted(set(limits) - {rg.name for rg in regions})
        for region_name in unknown:
            r.error((*path, "limits", region_name), _unknown_limit(region_name, regions))
        if unknown:
            return None
    budgets: list[Budget] = []
    for region in chosen:
        limit = limits.get(region.name, _Limits())
        line_path = (*path, "limits", region.name) if region.name in limits else path
        budgets.append(
            ElfRegionBudget(
                name=f"{name}/{region.name}",
                key=f"{key}/{region.name}",
                line=r.line(line_path),
                budget_bytes=region.length if limit.budget_bytes is None else limit.budget_bytes,
                creep_budget_bytes=(
                    limit.creep_budget_bytes if limit.creep_budget_bytes is not None else creep or 0
                ),
                elf=elf_ref,
                map=map_ref,
                region=region,
                regions=regions,
                warn_at=limit.warn_at,
                owner=owner,
                entry_key=key,
            )
        )
    return budgets


def _unknown_limit(region: str, regions: Sequence[Region]) -> str:
    names = ", ".join(r.name for r in regions)
    return f"no memory region {region!r}: the regions are {names}"


def _map_regions(
    map_ref: FileRef, selected: Sequence[str], limits: Mapping[str, _Limits]
) -> tuple[Region, ...]:
    where = printable(map_ref.raw)
    regions = read_memory_configuration(map_ref.path, where)
    names = {r.name for r in regions}
    for wanted, what in ((selected, "regions"), (sorted(limits), "limits")):
        missing = [n for n in wanted if n not in names]
        if missing:
            raise InputError(
                f"{where}: {what} names region(s) the map does not have: "
                f"{', '.join(missing)} (the map's regions: {', '.join(r.name for r in regions)})"
            )
    pairs = overlapping(regions)
    if pairs:
        raise InputError(f"{where}: {overlap_message(pairs)}")
    return regions


def _region_names(r: FieldReader, entry: Mapping[str, Any], path: KeyPath) -> list[str] | None:
    """With a map file, ``regions`` may list the region names to budget (default: all)."""
    if "regions" not in entry:
        return []
    items = r.strings(entry, path, "regions")
    if items is None:
        return None
    if not items:
        r.error((*path, "regions"), "must name at least one region (or leave it out for all)")
        return None
    return [v for _, v in items]


def _regions_inline(
    r: FieldReader, entry: Mapping[str, Any], path: KeyPath, *, required: bool = False
) -> list[Region] | None:
    if required and "regions" not in entry:
        r.error(path, "needs its memory regions: a 'map' file (GNU ld -Map) or 'regions'")
        return None
    items = r.list_of(entry, path, "regions")
    if items is None:
        return None
    if not items:
        r.error((*path, "regions"), "must list at least one region")
        return None
    out: list[Region] = []
    ok = True
    for item_path, item in items:
        if isinstance(item, str) and "map" not in entry:
            r.error(
                item_path,
                "a region name alone needs a 'map' file; inline regions are "
                "objects {name, origin, length}",
            )
            ok = False
            continue
        obj = r.object(item, item_path, _REGION_KEYS)
        if obj is None:
            ok = False
            continue
        rname = r.string(obj, item_path, "name", required=True)
        origin = _address(r, obj, item_path, "origin")
        length = r.size(obj, item_path, "length", required=True)
        if rname is not None and not rname:
            r.error((*item_path, "name"), "must not be empty")
            rname = None
        if rname is None or origin is None or length is None:
            ok = False
            continue
        if any(o.name == rname for o in out):
            r.error((*item_path, "name"), f"region {rname!r} is listed twice")
            ok = False
            continue
        out.append(Region(rname, origin, length))
    if not ok:
        return None
    pairs = overlapping(out)
    if pairs:
        r.error((*path, "regions"), overlap_message(pairs))
        return None
    return out


def _address(r: FieldReader, obj: Mapping[str, Any], path: KeyPath, key: str) -> int | None:
    if key not in obj:
        r.error(path, f"missing required key {key!r}")
        return None
    value = obj[key]
    if isinstance(value, str):
        try:
            value = int(value, 0)  # "0x08000000" in a JSON file
        except ValueError:
            r.error((*path, key), f"expected an address (0x08000000 or a number), got {value!r}")
            return None
    if isinstance(value, bool) or not isinstance(value, int):
        r.error((*path, key), f"expected an address (0x08000000 or a number), got {kind_of(value)}")
        return None
    if not 0 <= value < 1 << 64:
        r.error((*path, key), f"an address must be between 0 and 2^64 - 1, got {value}")
        return None
    return value


def _limits(r: FieldReader, entry: Mapping[str, Any], path: KeyPath) -> dict[str, _Limits] | None:
    if "limits" not in entry:
        return {}
    obj = entry["limits"]
    if not isinstance(obj, dict):
        r.error((*path, "limits"), f"expected an object of regions, got {kind_of(obj)}")
        return None
    out: dict[str, _Limits] = {}
    ok = True
    for region, value in obj.items():
        lpath = (*path, "limits", region)
        lim = r.object(value, lpath, _LIMIT_KEYS)
        if lim is None:
            ok = False
            continue
        budget = r.size(lim, lpath, "budget_bytes")
        creep = r.size(lim, lpath, "creep_budget_bytes")
        warn_at = _percent(r, lim, lpath, "warn_at")
        if "warn_at" in lim and warn_at is None:
            ok = False
        if ("budget_bytes" in lim and budget is None) or (
            "creep_budget_bytes" in lim and creep is None
        ):
            ok = False
        out[region] = _Limits(budget, creep, warn_at)
    return out if ok else None


def _percent(r: FieldReader, obj: Mapping[str, Any], path: KeyPath, key: str) -> float | None:
    if key not in obj:
        return None
    value = obj[key]
    if isinstance(value, bool) or not isinstance(value, int | float):
        r.error((*path, key), f"expected a percentage (a number such as 95), got {kind_of(value)}")
        return None
    if not math.isfinite(value) or not 0 <= value <= 100:
        r.error((*path, key), f"must be a percentage between 0 and 100, got {value!r}")
        return None
    return value


# -- evaluation ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Piece:
    """A section (``what`` "section": its name; ``place`` run or load) or an input
    object (``what`` "object": the object file) and its bytes in the region."""

    name: str
    size: int
    address: int | None = None
    place: str = "run"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "bytes": self.size}
        if self.address is not None:
            out["address"] = self.address
            out["place"] = self.place
        return out

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Piece:
        return cls(str(d["name"]), int(d["bytes"]), d.get("address"), str(d.get("place", "run")))


@dataclass(frozen=True, slots=True)
class Change:
    what: str  # "section" or "object"
    name: str
    old: int
    new: int

    @property
    def delta(self) -> int:
        return self.new - self.old

    def to_dict(self) -> dict[str, Any]:
        return {
            "what": self.what,
            "name": self.name,
            "old_bytes": self.old,
            "new_bytes": self.new,
            "delta_bytes": self.delta,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Change:
        return cls(str(d["what"]), str(d["name"]), int(d["old_bytes"]), int(d["new_bytes"]))


@dataclass(frozen=True, slots=True)
class ElfRegionDetails(Details):
    """The JSON report's ``elf_region`` object."""

    region: Region | None
    elf: str = ""  # "ELF32 little-endian ARM"
    source: str = ""  # "sections" or "program headers"
    sections: tuple[Piece, ...] = ()
    section_count: int = 0
    gap_bytes: int = 0  # used bytes no section covers: alignment gaps, explicit addresses
    objects: tuple[Piece, ...] | None = None  # None: no map file
    object_count: int = 0
    changes: tuple[Change, ...] | None = None  # with a baseline

    def to_dict(self) -> dict[str, Any]:
        if self.region is None:
            return {"elf_region": None}
        data: dict[str, Any] = {
            "region": {
                "name": self.region.name,
                "origin": self.region.origin,
                "length": self.region.length,
                "attributes": self.region.attributes,
            },
            "elf": self.elf,
            "source": self.source,
            "sections": [p.to_dict() for p in self.sections],
            "section_count": self.section_count,
            "gap_bytes": self.gap_bytes,
            "objects": None if self.objects is None else [p.to_dict() for p in self.objects],
            "object_count": self.object_count,
        }
        if self.changes is not None:
            data["changes"] = [c.to_dict() for c in self.changes]
        return {"elf_region": data}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ElfRegionDetails:
        d = data.get("elf_region")
        if not isinstance(d, Mapping):
            return cls(None)
        reg = d["region"]
        objects = d.get("objects")
        changes = d.get("changes")
        return cls(
            Region(
                str(reg["name"]), int(reg["origin"]), int(reg["length"]), str(reg["attributes"])
            ),
            str(d["elf"]),
            str(d["source"]),
            tuple(Piece.from_dict(p) for p in d["sections"]),
            int(d["section_count"]),
            int(d["gap_bytes"]),
            None if objects is None else tuple(Piece.from_dict(p) for p in objects),
            int(d["object_count"]),
            None if changes is None else tuple(Change.from_dict(c) for c in changes),
        )


def evaluate_entry(
    budgets: Sequence[ElfRegionBudget], base: Mapping[str, BudgetResult], context: EvaluationContext
) -> dict[str, BudgetResult]:
    first = budgets[0]
    elf_shown = context.display(first.elf.path)
    map_shown = None if first.map is None else context.display(first.map.path)
    results = {
        b.key: replace(
            base[b.key],
            parameters={"elf": elf_shown, "map": map_shown, "warn_at": b.warn_at},
            details=ElfRegionDetails(None),
        )
        for b in budgets
    }
    if first.problem is not None:
        return {k: r.with_error(first.problem) for k, r in results.items()}
    try:
        # pyelftools is imported only by runs that read an ELF file: it costs every
        # other run a tenth of a second at start-up.
        from pytest_sizebudget.firmware.elf import read_elf

        layout = read_elf(first.elf.path, elf_shown)
    except InputError as exc:
        return {k: r.with_error(f"{first.elf.key}: {exc}") for k, r in results.items()}
    try:
        usages = {u.region.name: u for u in region_usage(first.regions, layout.ranges)}
    except LayoutError as exc:
        return {
            k: r.with_error(f"{first.entry_key}: {elf_shown}: {exc}") for k, r in results.items()
        }
    objects: dict[str, dict[str, int]] | None = None
    if first.map is not None:
        try:
            objects = _objects(first.map.path, map_shown or "", usages)
        except InputError as exc:
            return {k: r.with_error(f"{first.map.key}: {exc}") for k, r in results.items()}
    for b in budgets:
        assert b.region is not None
        usage = usages[b.region.name]
        results[b.key] = replace(
            results[b.key],
            used_bytes=usage.used_bytes,
            details=_details(usage, layout, None if objects is None else objects[b.region.name]),
        )
    return results


def _objects(
    path: Path, shown: str, usages: Mapping[str, RegionUsage]
) -> dict[str, dict[str, int]]:
    """Bytes per input object in each region: an output section's input pieces count in
    every region the section occupies (``.data`` in RAM and, at its load address, flash)."""
    where: dict[str, list[str]] = defaultdict(list)
    for name, usage in usages.items():
        for rng in usage.ranges:
            where[rng.name].append(name)
    out: dict[str, dict[str, int]] = {name: defaultdict(int) for name in usages}
    for piece in read_input_pieces(path, shown):
        for region in where.get(piece.output_section, ()):
            out[region][piece.obj] += piece.size
    return out


def _details(
    usage: RegionUsage, layout: ElfLayout, objects: Mapping[str, int] | None
) -> ElfRegionDetails:
    sections = tuple(Piece(r.name, r.size, r.start, r.place) for r in usage.ranges)
    covered = _covered(usage)
    listed = None
    if objects is not None:
        listed = tuple(
            Piece(name, size)
            for name, size in sorted(objects.items(), key=lambda kv: (-kv[1], kv[0]))
        )
    return ElfRegionDetails(
        region=usage.region,
        elf=layout.describe(),
        source=layout.source,
        sections=sections[:MAX_SECTIONS],
        section_count=len(sections),
        gap_bytes=max(usage.used_bytes - covered, 0),
        objects=None if listed is None else listed[:MAX_OBJECTS],
        object_count=0 if listed is None else len(listed),
    )


def _covered(usage: RegionUsage) -> int:
    """Bytes of the region's used extent that some section covers (overlaps once)."""
    total, reach = 0, usage.region.origin
    for rng in sorted(usage.ranges, key=lambda r: r.start):
        start = max(rng.start, reach)
        if rng.end > start:
            total += rng.end - start
            reach = rng.end
    return total


def compare_details(new: ElfRegionDetails, old: ElfRegionDetails) -> tuple[Change, ...]:
    """Sections and objects that changed size, largest change first."""
    changes: list[Change] = []
    for what, now, then in (
        ("section", new.sections, old.sections),
        ("object", new.objects or (), old.objects or ()),
    ):
        a = _sizes(then)
        b = _sizes(now)
        for name in a.keys() | b.keys():
            if a.get(name, 0) != b.get(name, 0):
                changes.append(Change(what, name, a.get(name, 0), b.get(name, 0)))
    changes.sort(key=lambda c: (-abs(c.delta), c.what, c.name))
    return tuple(changes)


def _sizes(pieces: Sequence[Piece]) -> dict[str, int]:
    out: dict[str, int] = defaultdict(int)
    for p in pieces:
        out[p.name if p.place == "run" else f"{p.name} (load)"] += p.size
    return out


def warning_text(result: BudgetResult) -> str | None:
    warn_at = result.parameters.get("warn_at")
    if not isinstance(warn_at, int | float) or not result.passed or not result.budget_bytes:
        return None
    assert result.used_bytes is not None
    percent = 100 * result.used_bytes / result.budget_bytes
    if percent <= warn_at:
        return None
    return (
        f"memory region {result.name!r} is at {percent:.1f}% of its budget, above warn_at "
        f"{warn_at:g}%: used {result.used_bytes:,} B of {result.budget_bytes:,} B "
        f"({result.file}:{result.line})"
    )


class ElfKind(BudgetKind):
    name = "elf"
    titles: ClassVar[Mapping[str, str]] = {"elf_region": "Memory region"}
    sections: ClassVar[Mapping[str, EntryParser]] = {"elf_budgets": parse_elf_budget}
    descriptive_parameters = frozenset({"elf", "map", "warn_at"})

    def evaluate(
        self,
        context: EvaluationContext,
        budget_file: BudgetFile,
        budgets: Sequence[Budget],
        base: Mapping[str, BudgetResult],
    ) -> Mapping[str, BudgetResult]:
        results: dict[str, BudgetResult] = {}
        for group in entry_groups(budgets, ElfRegionBudget, lambda b: b.entry_key):
            results.update(evaluate_entry(group, base, context))
        return results

    def details_from_dict(self, data: Mapping[str, Any]) -> Details:
        return ElfRegionDetails.from_dict(data)

    def warning(self, result: BudgetResult) -> str | None:
        return warning_text(result)

    def with_baseline(self, result: BudgetResult, old: BudgetResult) -> BudgetResult:
        new_d, old_d = result.details, old.details
        if not isinstance(new_d, ElfRegionDetails) or not isinstance(old_d, ElfRegionDetails):
            return result
        if new_d.region is None or old_d.region is None:
            return result
        return replace(result, details=replace(new_d, changes=compare_details(new_d, old_d)))

    def joins_total(self, budget: Budget) -> bool:
        # Regions of one program are different memories: adding flash to RAM means nothing.
        return False

    def failure_text(self, result: BudgetResult, top_n: int) -> str:
        title = self.title(result)
        d = (
            result.details
            if isinstance(result.details, ElfRegionDetails)
            else ElfRegionDetails(None)
        )
        used, budget = result.used_bytes or 0, result.budget_bytes
        lines = []
        if result.over_budget:
            lines.append(f"{title} is over budget by {describe(used - budget)}")
        if result.creep_exceeded:
            lines.append(creep_headline(result, title))
        rows = [("used", f'{describe(used, budget)}  (ld\'s "Used Size")')]
        rows.append(("budget", describe(budget, used)))
        if d.region is not None:
            reg = d.region
            attrs = f" ({reg.attributes})" if reg.attributes else ""
            pct = f", {100 * used / reg.length:.2f}% used" if reg.length else ""
            rows.append(
                (
                    "region",
                    f"{reg.name}{attrs} {reg.origin:#010x}, length {describe(reg.length)}{pct}",
                )
            )
        if result.baseline_used_bytes is not None:
            rows.append(("baseline", describe(result.baseline_used_bytes)))
            rows.append(("delta", f"{result.delta_bytes or 0:+,} B"))
        if result.creep_budget_bytes:
            rows.append(("creep budget", describe(result.creep_budget_bytes)))
        elf = result.parameters.get("elf")
        if elf:
            rows.append(("elf", f"{elf} ({d.elf}, from {d.source})" if d.elf else str(elf)))
        lines.extend(f"  {label:<13} {value}" for label, value in rows)
        lines.append(f"  file          {result.file}:{result.line} ({result.key})")
        if d.changes:
            lines.append("")
            lines.append("Changes since the baseline (largest first):")
            lines.extend(_change_rows(d.changes, top_n))
        if d.sections:
            lines.append("")
            lines.append(f"Largest sections in {d.region.name if d.region else 'the region'}:")
            for p in d.sections[: max(top_n, 1)]:
                at = "load address" if p.place == "load" else "at"
                lines.append(f"  {format_bytes(p.size):>14}  {p.name}  ({at} {p.address or 0:#x})")
            if d.section_count > top_n:
                lines.append(f"  ... {d.section_count - top_n} more")
            if d.gap_bytes:
                lines.append(f"  {format_bytes(d.gap_bytes):>14}  (gaps between sections)")
        if d.objects:
            lines.append("")
            lines.append(f"Largest input objects ({result.parameters.get('map')}):")
            for p in d.objects[: max(top_n, 1)]:
                lines.append(f"  {format_bytes(p.size):>14}  {p.name}")
            if d.object_count > top_n:
                lines.append(f"  ... {d.object_count - top_n} more")
        return "\n".join(lines)

    def html_panel(self, result: BudgetResult) -> HtmlPanel:
        d = (
            result.details
            if isinstance(result.details, ElfRegionDetails)
            else ElfRegionDetails(None)
        )
        figures = [
            (
                "used (ld Used Size)",
                "?" if result.used_bytes is None else f"{result.used_bytes:,} B",
            ),
            ("budget", f"{result.budget_bytes:,} B"),
        ]
        bar: list[tuple[str, int]] = []
        if d.region is not None:
            figures.append(
                ("region", f"{d.region.name} {d.region.origin:#x}, {d.region.length:,} B")
            )
            figures.append(("elf", f"{d.elf} ({d.source})"))
            bar = [
                (f"{p.name}{' (load)' if p.place == 'load' else ''}", p.size)
                for p in d.sections[:8]
            ]
            rest = (result.used_bytes or 0) - sum(size for _, size in bar)
            if rest > 0:
                bar.append(("other", rest))
        return HtmlPanel(figures=tuple(figures), bar=tuple(bar))


def _change_rows(changes: Sequence[Change], top_n: int) -> list[str]:
    rows = []
    for c in changes[: max(top_n, 1)]:
        rows.append(f"  {c.delta:+14,} B  {c.what} {c.name}  ({c.old:,} -> {c.new:,} B)")
    if len(changes) > top_n:
        rows.append(f"  ... {len(changes) - top_n} more")
    return rows
