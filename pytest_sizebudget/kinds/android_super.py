"""Super budgets: Android's dynamic partitions checked the way AOSP's build checks them.

One budget per entry of ``super_budgets``, with exactly one input:

- ``info``: key=value files (``misc_info.txt``, ``dynamic_partitions_info.txt``), merged in
  order; partition sizes from ``<p>_image_size`` or the ``<p>_image`` file;
- ``target_files``: a target-files directory or ``.zip`` (``META/misc_info.txt`` and
  ``META/dynamic_partitions_info.txt``; images under ``IMAGES/``);
- ``super_image``: a ``super.img`` (raw, Android sparse, or the pieces of a split sparse
  image) or a ``super_empty.img``, read through its liblp metadata.

``images`` (partition -> image) overrides where a partition's size comes from, for any
input.  The checks, slot count, limits, alignment rounding and messages are AOSP's
``check_partition_sizes.py`` (``pytest_sizebudget.android.partition_sizes``).
``used_bytes`` is the dynamic partitions' sum as AOSP counts it; ``budget_bytes`` is the
per-slot limit, min(super, error limit) // slots, so it is computed, not written in the
budget file.  The other error checks (groups, the groups' sum, retrofit block devices) fail
the budget through ``failed_checks``; AOSP's two warnings (the warn limit, the groups plus
1 MiB of metadata) make a passing budget warn.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, ClassVar

from pytest_sizebudget.android.info import InfoDict, InfoError, InfoValue, load_info_file
from pytest_sizebudget.android.partition_sizes import (
    PartitionSize,
    SuperOutcome,
    check_partition_sizes,
)
from pytest_sizebudget.android.super_image import SuperImage, metadata_info, read_super
from pytest_sizebudget.android.target_files import TargetFiles
from pytest_sizebudget.budget.fields import FieldReader, KeyPath, budget_name, dotted
from pytest_sizebudget.budget.model import Budget, BudgetFile, FileRef
from pytest_sizebudget.errors import InputError, kind_of
from pytest_sizebudget.images import ImageFormatError, measure_image
from pytest_sizebudget.report.failure import creep_headline
from pytest_sizebudget.report.model import BudgetResult, Details, HtmlPanel
from pytest_sizebudget.report.text import aligned_rows, shown
from pytest_sizebudget.units import describe, format_bytes

from .base import BudgetKind, EntryParser, EvaluationContext

Display = Callable[[Path], str]
INPUTS = ("info", "target_files", "super_image")
_KEYS = ("name", "creep_budget_bytes", "owner", *INPUTS, "images")
# Checks whose failure is already the budget's own verdict (used_bytes > budget_bytes).
_BUDGET_CHECKS = frozenset({"super_size", "error_limit"})


@dataclass(frozen=True, slots=True, kw_only=True)
class SuperBudget(Budget):
    """``budget_bytes`` is 0 here: the per-slot limit is known once the input is read."""

    source: str  # which of INPUTS
    inputs: tuple[FileRef, ...]  # info files in merge order, one target-files, image pieces
    images: tuple[tuple[str, FileRef], ...] = ()

    @property
    def kind(self) -> str:
        return "super"


def parse_super_budget(
    r: FieldReader, entry: Mapping[str, Any], path: KeyPath, root: Path
) -> Budget | None:
    if r.object(entry, path, _KEYS) is None:
        return None
    name = budget_name(r, entry, path)
    creep = r.size(entry, path, "creep_budget_bytes")
    owner = r.string(entry, path, "owner")
    given = [k for k in INPUTS if k in entry]
    if len(given) != 1:
        what = "none" if not given else " and ".join(repr(k) for k in given)
        r.error(path, f"needs exactly one of 'info', 'target_files', 'super_image'; has {what}")
        return None
    source = given[0]
    inputs = r.file_refs(entry, path, source, root, required=True, allow_single=True)
    if inputs is not None and not inputs:
        r.error((*path, source), "must name at least one file")
        inputs = None
    if inputs is not None and source == "target_files" and len(inputs) != 1:
        r.error((*path, source), "names one target-files directory or .zip, not a list")
        inputs = None
    images: list[tuple[str, FileRef]] = []
    if "images" in entry:
        value = entry["images"]
        if not isinstance(value, dict):
            r.error(
                (*path, "images"), f"expected an object (partition -> image), got {kind_of(value)}"
            )
        else:
            for partition, image in value.items():
                where = (*path, "images", partition)
                if not isinstance(image, str) or not image:
                    r.error(where, f"expected an image path, got {kind_of(image)}")
                else:
                    images.append((partition, FileRef(image, root, where)))
    if name is None or inputs is None:
        return None
    return SuperBudget(
        name=name,
        key=dotted(path),
        line=r.line(path),
        budget_bytes=0,
        creep_budget_bytes=creep or 0,
        owner=owner,
        source=source,
        inputs=inputs,
        images=tuple(images),
    )


@dataclass(frozen=True, slots=True)
class SuperDetails(Details):
    """The JSON report's ``super`` object (None when the budget could not be checked)."""

    outcome: SuperOutcome | None
    source: str = ""
    metadata: Mapping[str, Any] | None = None  # super_image: what the liblp metadata says
    # With a baseline: (what, name, old bytes, new bytes) of every partition (aligned size)
    # and group (used bytes) that changed; None for one that is new or gone.
    changes: tuple[Change, ...] | None = None

    @property
    def failed_checks(self) -> tuple[str, ...]:
        if self.outcome is None:
            return ()
        return tuple(
            c.id
            for c in self.outcome.checks
            if c.level == "error" and not c.passed and c.id not in _BUDGET_CHECKS
        )

    def to_dict(self) -> dict[str, Any]:
        if self.outcome is None:
            return {"super": None}
        out = {"input": self.source, **self.outcome.to_dict()}
        if self.metadata is not None:
            out["metadata"] = dict(self.metadata)
        if self.changes is not None:
            out["baseline_changes"] = [c.to_dict() for c in self.changes]
        first = self.outcome.first_error
        out["aosp_verdict"] = "fail" if first else "warn" if self.outcome.warnings else "pass"
        return {"super": out, "failed_checks": list(self.failed_checks)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SuperDetails:
        d = data.get("super")
        if not isinstance(d, Mapping):
            return cls(None)
        metadata = d.get("metadata")
        changes = d.get("baseline_changes")
        return cls(
            SuperOutcome.from_dict(d),
            str(d.get("input", "")),
            metadata,
            None if changes is None else tuple(Change.from_dict(c) for c in changes),
        )


@dataclass(frozen=True, slots=True)
class Change:
    what: str  # "partition" or "group"
    name: str
    old: int | None  # None: new since the baseline
    new: int | None  # None: gone

    @property
    def delta(self) -> int:
        return (self.new or 0) - (self.old or 0)

    def to_dict(self) -> dict[str, Any]:
        return {
            "what": self.what,
            "name": self.name,
            "old": self.old,
            "new": self.new,
            "delta": self.delta,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Change:
        old, new = d.get("old"), d.get("new")
        return cls(
            str(d["what"]),
            str(d["name"]),
            None if old is None else int(old),
            None if new is None else int(new),
        )


def changes_between(old: SuperOutcome, new: SuperOutcome) -> tuple[Change, ...]:
    """Partitions (aligned sizes) and groups (used bytes) that differ, largest first."""
    found: list[Change] = []
    for what, before, after in (
        (
            "partition",
            {p.name: p.aligned_bytes for p in old.partitions},
            {p.name: p.aligned_bytes for p in new.partitions},
        ),
        ("group", {g.name: g.used for g in old.groups}, {g.name: g.used for g in new.groups}),
    ):
        for name in dict.fromkeys([*after, *before]):
            a, b = before.get(name), after.get(name)
            if a != b:
                found.append(Change(what, name, a, b))
    return tuple(sorted(found, key=lambda c: (-abs(c.delta), c.what, c.name)))


# --- evaluation ------------------------------------------------------------------------------


class _Problem(InputError):
    """An input of one budget is unusable; ``key`` is where the budget names it."""

    def __init__(self, key: str, message: str) -> None:
        self.key, self.message = key, message
        super().__init__(f"{key}: {message}")


def _measured(ref: FileRef, display: Display, label: str) -> PartitionSize:
    shown_path = display(ref.path)
    try:
        sizes = measure_image(ref.path)
    except ImageFormatError as exc:
        where = shown_path if exc.offset is None else f"{shown_path}: offset {exc.offset}"
        raise _Problem(ref.key, f"{where}: {exc.problem}") from None
    except OSError as exc:
        raise _Problem(ref.key, f"{shown_path}: {exc.strerror or exc}") from None
    return PartitionSize(sizes.expanded_bytes, label, sizes.format, sizes.file_bytes)


def evaluate_budget(budget: SuperBudget, base: BudgetResult, display: Display) -> BudgetResult:
    shown_inputs = [display(ref.path) for ref in budget.inputs]
    result = replace(
        base,
        parameters={
            "input": budget.source,
            "files": shown_inputs,
            "images": {p: display(ref.path) for p, ref in budget.images},
        },
        details=SuperDetails(None),
    )
    target: TargetFiles | None = None
    try:
        metadata: dict[str, Any] | None = None
        key = f"{budget.key}.{budget.source}"
        if budget.source == "info":
            info = InfoDict()
            for ref, name in zip(budget.inputs, shown_inputs, strict=True):
                try:
                    info = info.merged(load_info_file(ref.path, name))
                except InputError as exc:
                    raise _Problem(ref.key, str(exc)) from None
        elif budget.source == "target_files":
            try:
                target = TargetFiles(budget.inputs[0].path, shown_inputs[0])
                info = target.info()
            except InputError as exc:
                raise _Problem(key, str(exc)) from None
            if target.has_image("system_other") and "system_other_image" not in info:
                info = info.merged(
                    InfoDict(
                        {
                            "system_other_image": InfoValue(
                                "IMAGES/system_other.img", shown_inputs[0]
                            )
                        }
                    )
                )
        else:
            try:
                image = read_super([r.path for r in budget.inputs], shown_inputs)
                _check_container(image, budget, shown_inputs)
            except ImageFormatError as exc:
                where = exc.file if exc.offset is None else f"{exc.file}: offset {exc.offset}"
                raise _Problem(key, f"{where}: {exc.problem}") from None
            except InputError as exc:
                raise _Problem(key, str(exc)) from None
            info = metadata_info(image, f"{shown_inputs[0]} metadata")
            metadata = _metadata_facts(image)
        for partition, ref in budget.images:
            info = info.merged(InfoDict({f"{partition}_image": InfoValue(ref.raw, ref.key)}))
        size_of = _sizer(budget, info, target, display)
        try:
            outcome = check_partition_sizes(info, size_of)
        except _Problem:
            raise
        except InputError as exc:
            raise _Problem(key, str(exc)) from None
    except _Problem as problem:
        return result.with_error(str(problem))
    except OSError as exc:  # a read that fails half-way (EIO, permission changed)
        where = display(Path(exc.filename)) if isinstance(exc.filename, str) else "input"
        return result.with_error(f"{budget.key}.{budget.source}: {where}: {exc.strerror or exc}")
    finally:
        if target is not None:
            target.close()
    return replace(
        result,
        used_bytes=outcome.used_bytes,
        budget_bytes=outcome.budget_bytes,
        details=SuperDetails(outcome, budget.source, metadata),
    )


def _check_container(image: SuperImage, budget: SuperBudget, shown_inputs: Sequence[str]) -> None:
    """The image reader checks a full super image's sparse structure (chunk by chunk)."""
    if image.container == "super_empty":
        return
    paths = [r.path for r in budget.inputs]
    measure_image(paths[0] if len(paths) == 1 else paths)


def _metadata_facts(image: SuperImage) -> dict[str, Any]:
    md = image.metadata
    return {
        "container": image.container,
        "expanded_bytes": image.expanded_bytes,
        "version": md.version,
        "header_flags": md.flags,
        "metadata_slots": md.geometry.metadata_slot_count,
        "metadata_max_size": md.geometry.metadata_max_size,
        "logical_block_size": md.geometry.logical_block_size,
        "allocatable_bytes": md.allocatable_bytes,
        "partitions": [
            {
                "name": p.name,
                "group": md.groups[p.group].name,
                "bytes": p.bytes,
                "linear_bytes": p.linear_bytes,
            }
            for p in md.partitions
        ],
        "groups": [{"name": g.name, "maximum_size": g.maximum_size} for g in md.groups],
    }


def _sizer(
    budget: SuperBudget, info: InfoDict, target: TargetFiles | None, display: Display
) -> Callable[[str], PartitionSize]:
    overrides = dict(budget.images)
    root = budget.inputs[0].root

    def size_of(name: str) -> PartitionSize:
        if name in overrides:
            ref = overrides[name]
            return _measured(ref, display, f"images.{name}")
        key = f"{name}_image_size"
        if key in info:
            return PartitionSize(info.integer(key), info.where(key))
        key = f"{name}_image"
        if key in info and not (target is not None and info.origin(key) == target.shown):
            where = f"{budget.key}.{budget.source}: {key} ({info.origin(key)})"
            ref = FileRef(info[key], root, where)
            return _measured(ref, display, info.where(key))
        if target is not None:
            try:
                found = target.image_size(name)
            except InputError as exc:
                raise _Problem(f"{budget.key}.target_files", str(exc)) from None
            if found is not None:
                return found
        places = [f"images.{name} in the budget", f"{name}_image_size", f"{name}_image"]
        if target is not None:
            places.append(f"IMAGES/{name}.img in {target.shown}")
        raise InfoError(f"partition {name!r} has no size: none of {', '.join(places)}")

    return size_of


# --- reporting -------------------------------------------------------------------------------


def _outcome(result: BudgetResult) -> SuperOutcome | None:
    details = result.details
    return details.outcome if isinstance(details, SuperDetails) else None


def warning_text(result: BudgetResult) -> str | None:
    outcome = _outcome(result)
    if outcome is None or not result.passed or not outcome.warnings:
        return None
    messages = "; ".join(c.message().replace("\n", " ") for c in outcome.warnings)
    return (
        f"super budget {result.name!r} passes with AOSP's warning: {messages} "
        f"({result.file}:{result.line})"
    )


def failure_rows(result: BudgetResult, top_n: int) -> list[str]:
    outcome = _outcome(result)
    if outcome is None:
        return []
    lines = [
        f"  slots         {outcome.slots}  ({outcome.slots_reason})",
        f"  super         {describe(outcome.super_bytes)}",
        f"  error limit   {describe(outcome.error_limit.bytes)}  ({outcome.error_limit.source})",
        f"  warn limit    {describe(outcome.warn_limit.bytes)}  ({outcome.warn_limit.source})",
        f"  per slot      {describe(outcome.budget_bytes)}  (min(super, error limit) // slots)",
        f"  used          {describe(outcome.used_bytes, outcome.budget_bytes)}",
    ]
    if outcome.alignment:
        lines.append(f"  alignment     {format_bytes(outcome.alignment)}  (sizes rounded up)")
    lines.append("")
    partitions = sorted(outcome.partitions, key=lambda p: (-p.aligned_bytes, p.name))
    listed = partitions[:top_n] if top_n > 0 else partitions
    details = result.details
    diffed = isinstance(details, SuperDetails) and details.changes is not None
    rows = [
        [
            shown(p.name) + ("" if p.counted else " (group only)"),
            shown(p.group or "-"),
            format_bytes(p.aligned_bytes),
            *([_delta(result, "partition", p.name)] if diffed else []),
            shown(p.source),
        ]
        for p in listed
    ]
    header = ["partition", "group", "size", *(["delta"] if diffed else []), "from"]
    lines += aligned_rows(header, rows, "<<>>><"[: len(header) - 1] + "<")
    if len(partitions) > len(listed):
        lines.append(f"  ... and {len(partitions) - len(listed)} more partitions")
    if outcome.groups:
        lines.append("")
        group_rows = [
            [
                shown(g.name),
                "-" if g.size is None else format_bytes(g.size),
                format_bytes(g.used),
                "-" if g.headroom is None else f"{g.headroom:+,} B",
                *([_delta(result, "group", g.name)] if diffed else []),
            ]
            for g in outcome.groups
        ]
        header = ["group", "size", "used", "headroom", *(["delta"] if diffed else [])]
        lines += aligned_rows(header, group_rows, "<>>>>"[: len(header)])
    details = result.details
    gone = (
        [c for c in (details.changes or ()) if c.new is None]
        if isinstance(details, SuperDetails)
        else []
    )
    for c in gone:
        lines.append(f"  {c.what} {shown(c.name)}: gone since the baseline ({c.old:,} B)")
    return lines


def _delta(result: BudgetResult, what: str, name: str) -> str:
    details = result.details
    if not isinstance(details, SuperDetails) or details.changes is None:
        return ""
    change = next((c for c in details.changes if (c.what, c.name) == (what, name)), None)
    if change is None:
        return "0 B"
    if change.old is None:
        return "new"
    return f"{change.delta:+,} B"


class SuperKind(BudgetKind):
    name = "super"
    titles: ClassVar[Mapping[str, str]] = {"super": "Super budget"}
    sections: ClassVar[Mapping[str, EntryParser]] = {"super_budgets": parse_super_budget}
    descriptive_parameters = frozenset({"files", "images"})

    def evaluate(
        self,
        context: EvaluationContext,
        budget_file: BudgetFile,
        budgets: Sequence[Budget],
        base: Mapping[str, BudgetResult],
    ) -> Mapping[str, BudgetResult]:
        return {
            b.key: evaluate_budget(b, base[b.key], context.display)
            for b in budgets
            if isinstance(b, SuperBudget)
        }

    def with_baseline(self, result: BudgetResult, old: BudgetResult) -> BudgetResult:
        new_details, old_details = result.details, old.details
        if not isinstance(new_details, SuperDetails) or new_details.outcome is None:
            return result
        if not isinstance(old_details, SuperDetails) or old_details.outcome is None:
            return result
        changes = changes_between(old_details.outcome, new_details.outcome)
        return replace(result, details=replace(new_details, changes=changes))

    def joins_total(self, budget: Budget) -> bool:
        return False  # the limit comes from the build, not from the budget file

    def details_from_dict(self, data: Mapping[str, Any]) -> Details:
        return SuperDetails.from_dict(data)

    def warning(self, result: BudgetResult) -> str | None:
        return warning_text(result)

    def failure_text(self, result: BudgetResult, top_n: int) -> str:
        outcome = _outcome(result)
        lines: list[str] = []
        title = self.title(result)
        if outcome is not None:
            failed = [c for c in outcome.checks if c.level == "error" and not c.passed]
            if failed:
                lines.append(f"{title} fails AOSP's check_partition_sizes:")
                for check in failed:
                    lines.extend(f"  {line}" for line in check.message().splitlines())
        if result.creep_exceeded:
            lines.append(creep_headline(result, title))
            lines.append(f"  baseline      {describe(result.baseline_used_bytes or 0)}")
            lines.append(f"  delta         {result.delta_bytes or 0:+,} B")
        lines.extend(failure_rows(result, top_n))
        lines.append("")
        lines.append(f"  file          {shown(f'{result.file}:{result.line} ({result.key})')}")
        return "\n".join(lines)

    def failure_line(self, result: BudgetResult) -> str:
        outcome = _outcome(result)
        first = outcome.first_error if outcome is not None else None
        if first is None:
            return super().failure_line(result)
        return f"{self.title(result)}: {first.message().replace(chr(10), ' ')}"

    def junit_properties(self, result: BudgetResult) -> Sequence[tuple[str, int]]:
        outcome = _outcome(result)
        if outcome is None:
            return ()
        return (("super_slots", outcome.slots), ("super_bytes", outcome.super_bytes))

    def html_panel(self, result: BudgetResult) -> HtmlPanel:
        outcome = _outcome(result)
        if outcome is None:
            return HtmlPanel.generic(result)
        figures = [
            ("slots", f"{outcome.slots} ({outcome.slots_reason})"),
            ("super", f"{outcome.super_bytes:,} B"),
            ("per-slot limit (budget_bytes)", f"{outcome.budget_bytes:,} B"),
            ("warn limit / slots", f"{outcome.warn_limit.bytes // outcome.slots:,} B"),
            ("partitions (used)", f"{outcome.used_bytes:,} B"),
            ("headroom", f"{outcome.budget_bytes - outcome.used_bytes:+,} B"),
        ]
        for g in outcome.groups:
            size = "unlimited" if g.size is None else f"{g.size:,} B"
            room = "" if g.headroom is None else f", headroom {g.headroom:+,} B"
            figures.append((f"group {g.name}", f"{g.used:,} B of {size}{room}"))
        for c in outcome.checks:
            if not c.passed:
                figures.append((f"check {c.id} ({c.verdict})", c.message().replace("\n", " ")))
        bar = tuple(
            (f"{p.name} ({p.group})" if p.group else p.name, p.aligned_bytes)
            for p in outcome.partitions
            if p.counted
        )
        return HtmlPanel(figures=tuple(figures), bar=bar)
