"""AOSP's dynamic-partition size checks (``check_partition_sizes.py``), exactly.

Restated from android_super.md §1 (``aosp-mirror/platform_build``,
``tools/releasetools/check_partition_sizes.py``):

- slots in super: from ``use_dynamic_partitions``, ``dynamic_partition_retrofit``,
  ``ab_update``, ``virtual_ab_retrofit`` and ``virtual_ab``, each true only when it is the
  literal ``true`` (§1.3 table, including its two errors);
- limits: ``super_partition_warn_limit`` defaults to super × 95 // 100 and
  ``super_partition_error_limit`` to super; every limit is floor-divided by the slots;
- checks, in AOSP's order: the partitions' sum against super, the error limit and (a
  warning) the warn limit; each group's partitions against the group size (no slot
  division); the groups' sum strictly below super (≤ for retrofit) and (a warning) plus
  1 MiB; for retrofit the block devices summing exactly to super;
- launch Virtual A/B counts ``system_other`` when the dictionary has an image for it;
- sizes are rounded up to ``super_partition_alignment`` when it is set.  AOSP keeps that
  value a string and so fails with a ``TypeError`` whenever a board sets it; here it is
  read as the number it is meant to be.

AOSP stops at the first error; every check is evaluated here so that a report shows all
verdicts, and ``first_error`` names the one AOSP would print.  Messages keep AOSP's form
(``<desc> is greater than <desc>:`` / ``<expr> == <value> > <expr> == <value>``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .info import InfoDict, InfoError

METADATA_BYTES = 1 << 20  # the fixed "plus 1M metadata" of the warning on the groups' sum

OPS = {
    "<=": ("is less than or equal to", "is greater than", ">"),
    "<": ("is less than", "is greater than or equal to", ">="),
    "==": ("equals", "does not equal", "!="),
}


@dataclass(frozen=True, slots=True)
class Expr:
    """One side of a comparison: what it is, the sum that makes it, and its value."""

    desc: str
    expr: str
    value: int

    @classmethod
    def number(cls, desc: str, value: int) -> Expr:
        return cls(desc, str(value), value)

    @classmethod
    def total(cls, desc: str, values: Sequence[int]) -> Expr:
        return cls(desc, "+".join(str(v) for v in values), sum(values))

    def to_dict(self) -> dict[str, Any]:
        return {"desc": self.desc, "expr": self.expr, "value": self.value}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Expr:
        return cls(str(d["desc"]), str(d["expr"]), int(d["value"]))


@dataclass(frozen=True, slots=True)
class Check:
    id: str  # "super_size", "error_limit", "warn_limit", "group:<g>", "groups", ...
    left: Expr
    op: str  # "<=", "<" or "=="
    right: Expr
    level: str  # "error" or "warning"

    @property
    def passed(self) -> bool:
        a, b = self.left.value, self.right.value
        return a <= b if self.op == "<=" else a < b if self.op == "<" else a == b

    @property
    def verdict(self) -> str:
        return "pass" if self.passed else "warn" if self.level == "warning" else "fail"

    def message(self) -> str:
        """AOSP's two lines for this comparison."""
        word_pass, word_fail, op_fail = OPS[self.op]
        word, op = (word_pass, self.op) if self.passed else (word_fail, op_fail)
        return (
            f"{self.left.desc} {word} {self.right.desc}:\n"
            f"{self.left.expr} == {self.left.value} {op} {self.right.expr} == {self.right.value}"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "level": self.level,
            "verdict": self.verdict,
            "op": self.op,
            "left": self.left.to_dict(),
            "right": self.right.to_dict(),
            "message": self.message(),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Check:
        return cls(
            str(d["id"]),
            Expr.from_dict(d["left"]),
            str(d["op"]),
            Expr.from_dict(d["right"]),
            str(d["level"]),
        )


@dataclass(frozen=True, slots=True)
class PartitionSize:
    """Where a partition's size came from (an image, a ``<p>_image_size`` key, metadata)."""

    bytes: int
    source: str  # e.g. "system_image_size (misc_info.txt:12)", "IMAGES/system.img"
    format: str | None = None  # the image's format, when measured from an image
    file_bytes: int | None = None  # its length as stored


SizeOf = Callable[[str], PartitionSize]


@dataclass(frozen=True, slots=True)
class PartitionRow:
    name: str
    group: str | None
    bytes: int  # as measured
    aligned_bytes: int  # rounded up to super_partition_alignment (what AOSP sums)
    source: str
    format: str | None = None
    file_bytes: int | None = None
    counted: bool = True  # in the sum against super (dynamic_partition_list, system_other)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "group": self.group,
            "bytes": self.bytes,
            "aligned_bytes": self.aligned_bytes,
            "source": self.source,
            "format": self.format,
            "file_bytes": self.file_bytes,
            "counted": self.counted,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> PartitionRow:
        return cls(
            name=str(d["name"]),
            group=d.get("group"),
            bytes=int(d["bytes"]),
            aligned_bytes=int(d["aligned_bytes"]),
            source=str(d["source"]),
            format=d.get("format"),
            file_bytes=d.get("file_bytes"),
            counted=bool(d.get("counted", True)),
        )


@dataclass(frozen=True, slots=True)
class GroupRow:
    name: str
    size: int | None  # super_<g>_group_size (None: not set)
    used: int  # sum of its partitions' aligned sizes
    partitions: tuple[str, ...]

    @property
    def headroom(self) -> int | None:
        return None if self.size is None else self.size - self.used

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "size": self.size,
            "used": self.used,
            "headroom": self.headroom,
            "partitions": list(self.partitions),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> GroupRow:
        size = d.get("size")
        return cls(
            str(d["name"]),
            None if size is None else int(size),
            int(d["used"]),
            tuple(str(p) for p in d.get("partitions") or ()),
        )


@dataclass(frozen=True, slots=True)
class Limit:
    bytes: int
    source: str  # the key and its line, or "default: ..."

    def to_dict(self) -> dict[str, Any]:
        return {"bytes": self.bytes, "source": self.source}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Limit:
        return cls(int(d["bytes"]), str(d["source"]))


@dataclass(frozen=True, slots=True)
class SuperOutcome:
    """Everything the checks found, for the budget's JSON ``super`` object."""

    slots: int
    slots_reason: str
    super_bytes: int
    error_limit: Limit
    warn_limit: Limit
    alignment: int | None
    used_bytes: int  # the partitions' sum against super (check 1)
    partitions: tuple[PartitionRow, ...]
    groups: tuple[GroupRow, ...]
    checks: tuple[Check, ...]
    block_devices: tuple[tuple[str, int], ...] = field(default=())

    @property
    def budget_bytes(self) -> int:
        """The per-slot limit: min(super, error limit) // slots."""
        return min(self.super_bytes, self.error_limit.bytes) // self.slots

    @property
    def first_error(self) -> Check | None:
        """The check AOSP would fail on (it stops at the first)."""
        return next((c for c in self.checks if c.level == "error" and not c.passed), None)

    @property
    def warnings(self) -> tuple[Check, ...]:
        return tuple(c for c in self.checks if c.level == "warning" and not c.passed)

    def to_dict(self) -> dict[str, Any]:
        return {
            "slots": self.slots,
            "slots_reason": self.slots_reason,
            "super_bytes": self.super_bytes,
            "error_limit": self.error_limit.to_dict(),
            "warn_limit": self.warn_limit.to_dict(),
            "alignment": self.alignment,
            "per_slot_limit_bytes": self.budget_bytes,
            "used_bytes": self.used_bytes,
            "partitions": [p.to_dict() for p in self.partitions],
            "groups": [g.to_dict() for g in self.groups],
            "checks": [c.to_dict() for c in self.checks],
            "block_devices": [{"name": n, "size": s} for n, s in self.block_devices],
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> SuperOutcome:
        return cls(
            slots=int(d["slots"]),
            slots_reason=str(d["slots_reason"]),
            super_bytes=int(d["super_bytes"]),
            error_limit=Limit.from_dict(d["error_limit"]),
            warn_limit=Limit.from_dict(d["warn_limit"]),
            alignment=d.get("alignment"),
            used_bytes=int(d["used_bytes"]),
            partitions=tuple(PartitionRow.from_dict(p) for p in d["partitions"]),
            groups=tuple(GroupRow.from_dict(g) for g in d["groups"]),
            checks=tuple(Check.from_dict(c) for c in d["checks"]),
            block_devices=tuple((str(b["name"]), int(b["size"])) for b in d["block_devices"]),
        )


def slot_count(info: InfoDict) -> tuple[int, str]:
    """Slots of super and why (§1.3); ``InfoError`` where AOSP raises."""
    if not info.flag("use_dynamic_partitions"):
        raise InfoError(
            "use_dynamic_partitions is not 'true': check_partition_sizes should only be "
            "executed on builds with dynamic partitions enabled"
        )
    ab = info.flag("ab_update")
    if info.flag("dynamic_partition_retrofit"):
        if not ab or info.flag("virtual_ab_retrofit") or info.flag("virtual_ab"):
            raise InfoError(
                "dynamic_partition_retrofit=true: Device with retrofit dynamic partitions "
                "must use regular (non-Virtual) A/B (ab_update=true, no virtual_ab)"
            )
        return 1, "retrofit dynamic partitions (one super per slot, from its block devices)"
    if not ab:
        return 1, "non-A/B (ab_update is not 'true')"
    if info.flag("virtual_ab_retrofit"):
        return 2, "retrofit Virtual A/B (virtual_ab_retrofit=true): 2 slots, as A/B"
    if info.flag("virtual_ab"):
        return 1, "launch Virtual A/B (virtual_ab=true): 1 real slot in super"
    return 2, "A/B (ab_update=true): 2 slots in super"


def check_partition_sizes(info: InfoDict, size_of: SizeOf) -> SuperOutcome:
    """Run AOSP's checks over ``info``; ``size_of`` measures a partition by name.

    Raises ``InfoError`` for what AOSP refuses (no dynamic partitions, retrofit without
    plain A/B, a partition without an image) and for what it would trip over (a value
    ``int()`` rejects, a zero alignment), and when ``super_partition_size`` is missing:
    without it there is no limit to budget against (AOSP then checks only the groups).
    """
    slots, reason = slot_count(info)
    if "super_partition_size" not in info:
        raise InfoError(
            "super_partition_size is not set (BOARD_SUPER_PARTITION_SIZE): nothing to "
            "check the dynamic partitions against"
        )
    super_bytes = info.integer("super_partition_size")
    warn = _limit(info, "super_partition_warn_limit", super_bytes * 95 // 100, "95% of super")
    error = _limit(info, "super_partition_error_limit", super_bytes, "super_partition_size")
    alignment = None
    if "super_partition_alignment" in info:
        alignment = info.integer("super_partition_alignment")
        if alignment == 0:
            raise InfoError(f"{info.where('super_partition_alignment')}: must not be 0")
    suffix = f" / {slots}" if slots > 1 else ""

    measured: dict[str, PartitionSize] = {}

    def size(name: str) -> int:
        if name not in measured:
            measured[name] = size_of(name)
        raw = measured[name].bytes
        return raw if alignment is None else (raw + alignment - 1) // alignment * alignment

    checks: list[Check] = []
    counted: list[str] = []
    used = 0
    if "dynamic_partition_list" in info:
        counted = info.words("dynamic_partition_list")
        if (
            info.flag("ab_update")
            and not info.flag("virtual_ab_retrofit")
            and info.flag("virtual_ab")
        ) and ("system_other_image" in info or "system_other_image_size" in info):
            counted.append("system_other")
        total = Expr.total(f"sum of sizes of {counted!r}", [size(p) for p in counted])
        used = total.value
        checks += [
            Check(
                "super_size",
                total,
                "<=",
                _per_slot("BOARD_SUPER_PARTITION_SIZE", suffix, super_bytes, slots),
                "error",
            ),
            Check(
                "error_limit",
                total,
                "<=",
                _per_slot("BOARD_SUPER_PARTITION_ERROR_LIMIT", suffix, error.bytes, slots),
                "error",
            ),
            Check(
                "warn_limit",
                total,
                "<=",
                _per_slot("BOARD_SUPER_PARTITION_WARN_LIMIT", suffix, warn.bytes, slots),
                "warning",
            ),
        ]

    groups = info.words("super_partition_groups")
    rows: list[GroupRow] = []
    group_of: dict[str, str] = {}
    for group in groups:
        size_key, list_key = f"super_{group}_group_size", f"super_{group}_partition_list"
        members = info.words(list_key)
        for p in members:
            group_of.setdefault(p, group)
        group_size = info.integer(size_key) if size_key in info else None
        member_sum = Expr.total(f"sum of sizes of {members!r}", [size(p) for p in members])
        rows.append(GroupRow(group, group_size, member_sum.value, tuple(members)))
        if group_size is not None and list_key in info:
            checks.append(
                Check(
                    f"group:{group}",
                    member_sum,
                    "<=",
                    Expr.number(f"BOARD_{group}_SIZE", group_size),
                    "error",
                )
            )

    group_sizes = [
        info.integer(f"super_{g}_group_size") if f"super_{g}_group_size" in info else 0
        for g in groups
    ]
    limit = _per_slot("BOARD_SUPER_PARTITION_SIZE", suffix, super_bytes, slots)
    groups_sum = Expr.total(f"sum of sizes of {groups!r}", group_sizes)
    retrofit = info.flag("dynamic_partition_retrofit")
    if retrofit:
        checks.append(Check("groups", groups_sum, "<=", limit, "error"))
    else:
        checks.append(Check("groups", groups_sum, "<", limit, "error"))
        plus = Expr.total(
            f"sum of sizes of {groups!r} plus 1M metadata", [*group_sizes, METADATA_BYTES]
        )
        checks.append(Check("groups_metadata", plus, "<=", limit, "warning"))

    devices: list[tuple[str, int]] = []
    if retrofit:
        for dev in info.words("super_block_devices"):
            key = f"super_{dev}_device_size"
            devices.append((dev, info.integer(key) if key in info else 0))
        dev_sum = Expr.total("sum of super partition block device sizes", [s for _, s in devices])
        checks.append(
            Check(
                "block_devices",
                dev_sum,
                "==",
                Expr.number("BOARD_SUPER_PARTITION_SIZE", super_bytes),
                "error",
            )
        )

    partitions = []
    for name in dict.fromkeys([*counted, *group_of]):
        got = measured[name]
        partitions.append(
            PartitionRow(
                name=name,
                group=group_of.get(name),
                bytes=got.bytes,
                aligned_bytes=size(name),
                source=got.source,
                format=got.format,
                file_bytes=got.file_bytes,
                counted=name in counted,
            )
        )
    return SuperOutcome(
        slots=slots,
        slots_reason=reason,
        super_bytes=super_bytes,
        error_limit=error,
        warn_limit=warn,
        alignment=alignment,
        used_bytes=used,
        partitions=tuple(partitions),
        groups=tuple(rows),
        checks=tuple(checks),
        block_devices=tuple(devices),
    )


def _limit(info: InfoDict, key: str, default: int, default_text: str) -> Limit:
    if key in info:
        return Limit(info.integer(key), f"{key} ({info.origin(key)})")
    return Limit(default, f"default: {default_text}")


def _per_slot(variable: str, suffix: str, value: int, slots: int) -> Expr:
    return Expr.number(f"{variable}{suffix}", value // slots)
