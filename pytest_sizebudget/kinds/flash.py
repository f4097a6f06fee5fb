"""Flash budgets: each binary must fit its partition of a flash layout.

Two kinds of layout:

- an ESP-IDF partition table (``partitions``: a ``partitions.csv`` or a binary table),
  with ``images: [{image, type, subtype?}]`` or ``{image, partition}``: each binary is
  checked against the partitions of its type exactly as ESP-IDF's ``check_sizes.py``
  checks it: it fails only when it fits none of them (``budget_bytes`` is the largest),
  and passes with a warning when some are too small or when less than 5 % of the
  smallest stays free.  ``must_fit: "all"`` makes the smallest the budget instead.  A
  ``type: "bootloader"`` binary must fit between ``bootloader_offset`` and the table.
- an inline layout (``partitions: [{name, offset, size, image?}]``), such as a NOR
  flash map: each partition with an ``image`` must hold it.

Either way the layout must be valid (the table as ESP-IDF verifies it, inline
partitions must not overlap) and, with ``flash_size``, fit the flash: a layout larger
than the flash fails every binary of the entry.  One budget (item) per binary, named
``<name>/<label>``; ``label`` defaults to the partition (inline) or the binary's file name.

One deliberate difference from ``check_sizes.py``: a binary whose type matches no
partition is an error here (ESP-IDF only warns), because a budget that checks nothing
must not pass.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath
from typing import Any, ClassVar

from pytest_sizebudget.budget.fields import FieldReader, KeyPath, dotted
from pytest_sizebudget.budget.model import Budget, BudgetFile, FileRef
from pytest_sizebudget.errors import InputError, kind_of
from pytest_sizebudget.firmware.partitions import (
    APP,
    BOOTLOADER,
    SUBTYPES,
    TEE_SUBTYPES,
    TYPES,
    Partition,
    PartitionTableError,
    parse_int,
    read_table,
    subtype_name,
    table_end,
    type_name,
)
from pytest_sizebudget.paths import PathProblem, check_path, read_bytes
from pytest_sizebudget.report.failure import creep_headline
from pytest_sizebudget.report.model import BudgetResult, Details, HtmlPanel
from pytest_sizebudget.units import describe

from .base import BudgetKind, EntryParser, EvaluationContext, entry_groups

_KEYS = (
    "name",
    "partitions",
    "images",
    "table_offset",
    "bootloader_offset",
    "flash_size",
    "variables",
    "must_fit",
    "owner",
    "creep_budget_bytes",
)
_IMAGE_KEYS = ("image", "type", "subtype", "partition", "label", "creep_budget_bytes")
_INLINE_KEYS = ("name", "offset", "size", "image", "creep_budget_bytes")
NEARLY_FULL = 0.05  # check_sizes.py warns below 5 % free in the smallest partition


@dataclass(frozen=True, slots=True)
class Target:
    """What a binary is checked against: a type (and subtype), a named partition, or,
    for a bootloader, the space before the partition table."""

    type: int | None = None
    subtype: int | None = None
    partition: str | None = None  # a name (CSV tables) or the inline partition itself
    inline: Partition | None = None

    def describe(self) -> str:
        if self.partition is not None:
            return f"partition {self.partition!r}"
        assert self.type is not None
        sub = "" if self.subtype is None else f"/{subtype_name(self.type, self.subtype)}"
        return f"{type_name(self.type)}{sub}"


@dataclass(frozen=True, slots=True, kw_only=True)
class FlashBudget(Budget):
    entry_key: str
    image: FileRef
    target: Target
    table: FileRef | None  # None: an inline layout
    layout: tuple[Partition, ...] = ()  # the inline layout
    table_offset: int = 0x8000
    bootloader_offset: int | None = None
    flash_size: int | None = None
    variables: tuple[tuple[str, str], ...] = ()
    must_fit: str = "any"

    @property
    def kind(self) -> str:
        return "flash"


# -- parsing ---------------------------------------------------------------------------


def parse_flash_budget(
    r: FieldReader, entry: Mapping[str, Any], path: KeyPath, root: Path
) -> Sequence[Budget] | None:
    if r.object(entry, path, _KEYS) is None:
        return None
    name = r.string(entry, path, "name", required=True)
    owner = r.string(entry, path, "owner")
    creep = r.size(entry, path, "creep_budget_bytes") or 0
    flash_size = r.size(entry, path, "flash_size")
    must_fit = r.string(entry, path, "must_fit", choices=("any", "all")) or "any"
    table_offset = _offset(r, entry, path, "table_offset")
    boot_offset = _offset(r, entry, path, "bootloader_offset")
    variables = _variables(r, entry, path)
    key = dotted(path)
    if "partitions" not in entry:
        r.error(path, "missing required key 'partitions' (a partitions.csv, or a list)")
        return None
    layout = entry["partitions"]
    ok = name is not None and variables is not None
    common: dict[str, Any] = {
        "owner": owner,
        "entry_key": key,
        "flash_size": flash_size,
        "must_fit": must_fit,
        "table_offset": 0x8000 if table_offset is None else table_offset,
        "bootloader_offset": boot_offset,
        "variables": tuple(sorted((variables or {}).items())),
    }
    if isinstance(layout, str):
        if not layout:
            r.error((*path, "partitions"), "must name the partition table file")
            return None
        items = r.list_of(entry, path, "images", required=True)
        if items is not None and not items:
            r.error((*path, "images"), "must list at least one binary")
            return None
        if items is None or not ok or name is None:
            return None
        table = FileRef(raw=layout, root=root, where=(*path, "partitions"))
        budgets = []
        for item_path, item in items:
            budget = _image_budget(r, item, item_path, root, name, creep, table, common)
            if budget is not None:
                budgets.append(budget)
        return budgets if len(budgets) == len(items) else None
    if "images" in entry:
        r.error((*path, "images"), "inline partitions name their own 'image'")
        return None
    return _inline(r, entry, path, root, name, creep, common) if ok and name else None


def _image_budget(
    r: FieldReader,
    item: Any,
    path: KeyPath,
    root: Path,
    name: str,
    creep: int,
    table: FileRef,
    common: Mapping[str, Any],
) -> FlashBudget | None:
    obj = r.object(item, path, _IMAGE_KEYS)
    if obj is None:
        return None
    image = r.string(obj, path, "image", required=True)
    partition = r.string(obj, path, "partition")
    label = r.string(obj, path, "label")
    own_creep = r.size(obj, path, "creep_budget_bytes")
    target: Target | None
    if partition is not None:
        if "type" in obj or "subtype" in obj:
            r.error(path, "give either 'partition' or 'type' (and 'subtype'), not both")
            return None
        target = Target(partition=partition)
    else:
        target = _type_target(r, obj, path)
    if image is None or not image or target is None:
        if image == "":
            r.error((*path, "image"), "must name the binary")
        return None
    if target.type == BOOTLOADER and common["bootloader_offset"] is None:
        r.error(
            path,
            "a bootloader binary needs the entry's bootloader_offset (0x1000 on ESP32, 0x0 "
            "on ESP32-C2/C3/S3, 0x2000 on ESP32-C5/P4)",
        )
        return None
    shown = label or PurePosixPath(image).name
    return FlashBudget(
        name=f"{name}/{shown}",
        key=f"{dotted(path)}",
        line=r.line(path),
        budget_bytes=0,  # known once the table is read
        creep_budget_bytes=creep if own_creep is None else own_creep,
        image=FileRef(raw=image, root=root, where=(*path, "image")),
        target=target,
        table=table,
        **common,
    )


def _type_target(r: FieldReader, obj: Mapping[str, Any], path: KeyPath) -> Target | None:
    type_text = r.string(obj, path, "type", required=True)
    sub_text = r.string(obj, path, "subtype")
    if type_text is None:
        return None
    type_ = TYPES.get(type_text.lower())
    if type_ is None:
        try:
            type_ = parse_int(type_text)
        except ValueError:
            r.error((*path, "type"), f"unknown partition type {type_text!r} ({', '.join(TYPES)})")
            return None
    subtype = None
    if sub_text is not None:
        subtype = SUBTYPES.get(type_, {}).get(sub_text.lower())
        if subtype is None:
            try:
                subtype = parse_int(sub_text)
            except ValueError:
                known = ", ".join(SUBTYPES.get(type_, {})) or "a number"
                r.error((*path, "subtype"), f"unknown subtype {sub_text!r} ({known})")
                return None
    return Target(type=type_, subtype=subtype)


def _inline(
    r: FieldReader,
    entry: Mapping[str, Any],
    path: KeyPath,
    root: Path,
    name: str,
    creep: int,
    common: Mapping[str, Any],
) -> list[Budget] | None:
    items = r.list_of(entry, path, "partitions")
    if items is None:
        return None
    layout: list[Partition] = []
    images: list[tuple[KeyPath, Partition, str, int | None]] = []
    ok = True
    for item_path, item in items:
        obj = r.object(item, item_path, _INLINE_KEYS)
        if obj is None:
            ok = False
            continue
        pname = r.string(obj, item_path, "name", required=True)
        offset = r.size(obj, item_path, "offset", required=True)
        size = r.size(obj, item_path, "size", required=True)
        image = r.string(obj, item_path, "image")
        own_creep = r.size(obj, item_path, "creep_budget_bytes")
        if pname is None or offset is None or size is None:
            ok = False
            continue
        part = Partition(pname, -1, -1, offset, size, line=r.line(item_path))
        layout.append(part)
        if image:
            images.append((item_path, part, image, own_creep))
    if not ok:
        return None
    problem = _inline_problem(layout)
    if problem:
        r.error((*path, "partitions"), problem)
        return None
    if not images:
        r.error((*path, "partitions"), "no partition names an 'image': nothing to check")
        return None
    return [
        FlashBudget(
            name=f"{name}/{part.name}",
            key=dotted(item_path),
            line=r.line(item_path),
            budget_bytes=part.size,
            creep_budget_bytes=creep if own_creep is None else own_creep,
            image=FileRef(raw=image, root=root, where=(*item_path, "image")),
            target=Target(partition=part.name, inline=part),
            table=None,
            layout=tuple(layout),
            **common,
        )
        for item_path, part, image, own_creep in images
    ]


def _inline_problem(layout: Sequence[Partition]) -> str | None:
    names = [p.name for p in layout]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        return f"partition names used twice: {', '.join(dupes)}"
    ordered = sorted(layout, key=lambda p: p.offset)
    for a, b in itertools.pairwise(ordered):
        if b.offset < a.end:
            return (
                f"partitions overlap: {b.name} at {b.offset:#x} starts inside {a.name} "
                f"({a.offset:#x}-{a.end - 1:#x})"
            )
    return None


def _offset(r: FieldReader, entry: Mapping[str, Any], path: KeyPath, key: str) -> int | None:
    if key not in entry:
        return None
    value = entry[key]
    if isinstance(value, str):
        try:
            value = parse_int(value)
        except ValueError:
            r.error((*path, key), f"expected an offset (0x8000 or a number), got {value!r}")
            return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 1 << 32:
        r.error((*path, key), f"expected an offset between 0 and 2^32 - 1, got {kind_of(value)}")
        return None
    if value % 0x1000:
        r.error((*path, key), f"must be a multiple of 0x1000 (a flash sector), got {value:#x}")
        return None
    return value


def _variables(r: FieldReader, entry: Mapping[str, Any], path: KeyPath) -> dict[str, str] | None:
    value = entry.get("variables", {})
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        r.error((*path, "variables"), "expected an object of strings ($NAME in partitions.csv)")
        return None
    return dict(value)


# -- evaluation ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FlashDetails(Details):
    """The JSON report's ``flash`` object."""

    target: str = ""
    candidates: tuple[Partition, ...] = ()  # the partitions the binary was checked against
    must_fit: str = "any"
    flash_size: int | None = None
    layout_end: int | None = None  # flash the layout needs
    bootloader: bool = False

    @property
    def failed_checks(self) -> tuple[str, ...]:
        over = self.flash_size is not None and (self.layout_end or 0) > self.flash_size
        return ("flash_size",) if over else ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "flash": {
                "target": self.target,
                "partitions": [
                    {
                        "name": p.name,
                        "offset": p.offset,
                        "size": p.size,
                        "type": p.type,
                        "subtype": p.subtype,
                    }
                    for p in self.candidates
                ],
                "must_fit": self.must_fit,
                "flash_size": self.flash_size,
                "layout_end": self.layout_end,
                "bootloader": self.bootloader,
                "failed_checks": list(self.failed_checks),
            }
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FlashDetails:
        d = data.get("flash")
        if not isinstance(d, Mapping):
            return cls()
        return cls(
            str(d["target"]),
            tuple(
                Partition(
                    str(p["name"]),
                    int(p["type"]),
                    int(p["subtype"]),
                    int(p["offset"]),
                    int(p["size"]),
                )
                for p in d["partitions"]
            ),
            str(d["must_fit"]),
            d["flash_size"],
            d["layout_end"],
            bool(d["bootloader"]),
        )


def evaluate_entry(
    budgets: Sequence[FlashBudget], base: Mapping[str, BudgetResult], context: EvaluationContext
) -> dict[str, BudgetResult]:
    first = budgets[0]
    table_shown = None if first.table is None else context.display(first.table.path)
    results = {
        b.key: replace(
            base[b.key],
            parameters={
                "image": context.display(b.image.path),
                "partitions": table_shown or "inline",
            },
            details=FlashDetails(
                target=b.target.describe(), must_fit=b.must_fit, flash_size=b.flash_size
            ),
        )
        for b in budgets
    }
    layout = first.layout
    if first.table is not None:
        assert table_shown is not None
        try:
            data = read_bytes(first.table.path, table_shown)
            layout = read_table(
                data,
                table_shown,
                table_offset=first.table_offset,
                bootloader_offset=first.bootloader_offset,
                variables=dict(first.variables),
            )
        except (PartitionTableError, PathProblem) as exc:
            return {k: r.with_error(f"{first.table.key}: {exc}") for k, r in results.items()}
    end = table_end(layout) if layout else None
    for b in budgets:
        results[b.key] = _check(b, results[b.key], layout, end, context)
    return results


def _check(
    b: FlashBudget,
    result: BudgetResult,
    layout: tuple[Partition, ...],
    end: int | None,
    context: EvaluationContext,
) -> BudgetResult:
    candidates = _candidates(b, layout)
    if not candidates:
        return result.with_error(
            f"{b.key}: no {b.target.describe()} partition in "
            f"{result.parameters['partitions']}: nothing to check the binary against"
        )
    shown = str(result.parameters["image"])
    try:
        size = check_path(b.image.path, shown).st_size
    except InputError as exc:
        return result.with_error(f"{b.image.key}: {exc}")
    sizes = [p.size for p in candidates]
    budget = max(sizes) if b.must_fit == "any" else min(sizes)
    details = FlashDetails(
        target=b.target.describe(),
        candidates=tuple(sorted(candidates, key=lambda p: (p.size, p.offset))),
        must_fit=b.must_fit,
        flash_size=b.flash_size,
        layout_end=end,
        bootloader=b.target.type == BOOTLOADER,
    )
    return replace(result, used_bytes=size, budget_bytes=budget, details=details)


def _candidates(b: FlashBudget, layout: tuple[Partition, ...]) -> list[Partition]:
    t = b.target
    if t.inline is not None:
        return [t.inline]
    if t.partition is not None:
        return [p for p in layout if p.name == t.partition]
    if t.type == BOOTLOADER:
        assert b.bootloader_offset is not None
        size = b.table_offset - b.bootloader_offset
        return (
            [Partition("bootloader", BOOTLOADER, 0, b.bootloader_offset, size)] if size > 0 else []
        )
    found = [
        p for p in layout if p.type == t.type and (t.subtype is None or p.subtype == t.subtype)
    ]
    if t.type == APP and t.subtype is None:
        found = [p for p in found if p.subtype not in TEE_SUBTYPES]
    return found


def warning_text(result: BudgetResult) -> str | None:
    """check_sizes.py's warnings for a binary that fits: partitions it does not fit, or
    less than 5 % free in the smallest."""
    d = result.details
    if not isinstance(d, FlashDetails) or not result.passed or not d.candidates or d.bootloader:
        return None
    used = result.used_bytes or 0
    image = result.parameters.get("image")
    where = f" ({result.file}:{result.line})"
    small = [p for p in d.candidates if p.size < used]
    if small:
        listed = "; ".join(
            f"{p.name} size {p.size:#x} (overflow {used - p.size:#x})" for p in small
        )
        return (
            f"{len(small)}/{len(d.candidates)} {d.target} partitions are too small for binary "
            f"{image} size {used:#x}: {listed}{where}"
        )
    smallest = d.candidates[0]
    free = smallest.size - used
    if smallest.size and free / smallest.size < NEARLY_FULL:
        return (
            f"the smallest {d.target} partition ({smallest.name}) is nearly full "
            f"({free / smallest.size:.0%} free space left): binary {image} size {used:#x}, "
            f"partition {smallest.size:#x}{where}"
        )
    return None


class FlashKind(BudgetKind):
    name = "flash"
    titles: ClassVar[Mapping[str, str]] = {"flash": "Flash image"}
    sections: ClassVar[Mapping[str, EntryParser]] = {"flash_budgets": parse_flash_budget}
    descriptive_parameters = frozenset({"image", "partitions"})

    def evaluate(
        self,
        context: EvaluationContext,
        budget_file: BudgetFile,
        budgets: Sequence[Budget],
        base: Mapping[str, BudgetResult],
    ) -> Mapping[str, BudgetResult]:
        results: dict[str, BudgetResult] = {}
        for group in entry_groups(budgets, FlashBudget, lambda b: b.entry_key):
            results.update(evaluate_entry(group, base, context))
        return results

    def details_from_dict(self, data: Mapping[str, Any]) -> Details:
        return FlashDetails.from_dict(data)

    def warning(self, result: BudgetResult) -> str | None:
        return warning_text(result)

    def joins_total(self, budget: Budget) -> bool:
        return False

    def failure_text(self, result: BudgetResult, top_n: int) -> str:
        title = self.title(result)
        d = result.details if isinstance(result.details, FlashDetails) else FlashDetails()
        used, budget = result.used_bytes or 0, result.budget_bytes
        lines = []
        if used > budget:
            if len(d.candidates) > 1 and d.must_fit == "any":
                lines.append(
                    f"{title}: all {len(d.candidates)} {d.target} partitions are too small, "
                    f"over the largest by {describe(used - budget)}"
                )
            else:
                lines.append(f"{title} does not fit {d.target}: over by {describe(used - budget)}")
        if "flash_size" in d.failed_checks:
            assert d.flash_size is not None
            assert d.layout_end is not None
            lines.append(
                f"{title}: the partition layout needs {describe(d.layout_end)} of flash, more "
                f"than flash_size {describe(d.flash_size)}"
            )
        if result.creep_exceeded:
            lines.append(creep_headline(result, title))
        lines.append(
            f"  binary        {result.parameters.get('image')}: {describe(used)} ({used:#x})"
        )
        lines.append(f"  layout        {result.parameters.get('partitions')}")
        for p in d.candidates[: max(top_n, 1)]:
            fits = "fits" if used <= p.size else f"overflow {used - p.size:#x}"
            lines.append(
                f"  partition     {p.name} at {p.offset:#x}, size {p.size:#x} "
                f"({p.size:,} B): {fits}"
            )
        if result.baseline_used_bytes is not None:
            lines.append(f"  baseline      {describe(result.baseline_used_bytes)}")
            lines.append(f"  delta         {result.delta_bytes or 0:+,} B")
        lines.append(f"  file          {result.file}:{result.line} ({result.key})")
        return "\n".join(lines)

    def html_panel(self, result: BudgetResult) -> HtmlPanel:
        d = result.details if isinstance(result.details, FlashDetails) else FlashDetails()
        figures = [
            ("binary", "?" if result.used_bytes is None else f"{result.used_bytes:,} B"),
            ("budget (partition)", f"{result.budget_bytes:,} B"),
            ("checked against", d.target),
        ]
        figures += [
            (f"partition {p.name}", f"{p.offset:#x}, {p.size:,} B") for p in d.candidates[:8]
        ]
        bar = () if result.used_bytes is None else (("binary", result.used_bytes),)
        return HtmlPanel(figures=tuple(figures), bar=bar)
