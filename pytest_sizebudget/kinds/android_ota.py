"""OTA budgets for Android: A/B payloads, and the /cache stash of block-based OTAs.

An entry of ``ota_budgets`` has exactly one input:

- ``payload``: a ``payload.bin`` or an A/B OTA ``.zip`` holding one (its
  ``payload_properties.txt`` must then describe it).  ``used_bytes`` is the payload's
  size, checked against ``download_budget_bytes``.  Further checks, each failing the
  budget through ``failed_checks``: ``partition_budgets`` (partition -> bytes of operation
  data the payload carries for it), the new partition sizes of each dynamic group against
  the group size the payload carries (the device's own check, done at build time), and
  ``cow_budget_bytes`` against the sum of ``estimate_cow_size`` (Virtual A/B).
- ``transfer_list``: block-OTA ``*.transfer.list`` files, or a block OTA ``.zip``.
  ``used_bytes`` is the largest stash peak of a partition (blocks × ``block_size``),
  ``budget_bytes`` is ``cache_size × stash_threshold`` (0.8 by default, as releasetools),
  rounded down.

With a baseline, the failure text gives each partition's change (payload data bytes, or
stash peak).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, ClassVar

from pytest_sizebudget.android import transfer_list
from pytest_sizebudget.android.payload import GroupUpdate, OtaPackage, PartitionUpdate, load_payload
from pytest_sizebudget.android.transfer_list import StashUse
from pytest_sizebudget.budget.fields import FieldReader, KeyPath, budget_name, dotted
from pytest_sizebudget.budget.model import Budget, BudgetFile, FileRef
from pytest_sizebudget.errors import InputError, kind_of
from pytest_sizebudget.images.model import ImageFormatError
from pytest_sizebudget.report.failure import creep_headline
from pytest_sizebudget.report.model import BudgetResult, Details, HtmlPanel
from pytest_sizebudget.report.text import aligned_rows, shown
from pytest_sizebudget.units import describe, format_bytes

from .base import BudgetKind, EntryParser, EvaluationContext

Display = Callable[[Path], str]
_COMMON = ("name", "creep_budget_bytes", "owner")
_PAYLOAD_KEYS = ("payload", "download_budget_bytes", "partition_budgets", "cow_budget_bytes")
_STASH_KEYS = ("transfer_list", "cache_size", "stash_threshold", "block_size")
DEFAULT_STASH_THRESHOLD = 0.8  # releasetools' common.OPTIONS.stash_threshold


@dataclass(frozen=True, slots=True, kw_only=True)
class OtaBudget(Budget):
    inputs: tuple[FileRef, ...]
    source: str  # "payload" or "transfer_list"
    partition_budgets: tuple[tuple[str, int], ...] = ()
    cow_budget_bytes: int | None = None
    cache_size: int = 0
    stash_threshold: float = DEFAULT_STASH_THRESHOLD
    block_size: int = 4096

    @property
    def kind(self) -> str:
        return "ota"


def parse_ota_budget(
    r: FieldReader, entry: Mapping[str, Any], path: KeyPath, root: Path
) -> Budget | None:
    if r.object(entry, path, (*_COMMON, *_PAYLOAD_KEYS, *_STASH_KEYS)) is None:
        return None
    name = budget_name(r, entry, path)
    creep = r.size(entry, path, "creep_budget_bytes")
    owner = r.string(entry, path, "owner")
    given = [k for k in ("payload", "transfer_list") if k in entry]
    if len(given) != 1:
        what = "none" if not given else "both"
        r.error(path, f"needs exactly one of 'payload', 'transfer_list'; has {what}")
        return None
    source = given[0]
    wrong = [k for k in (_STASH_KEYS if source == "payload" else _PAYLOAD_KEYS) if k in entry]
    for key in wrong:
        r.error(
            (*path, key),
            f"{key!r} belongs to a {'transfer_list' if source == 'payload' else 'payload'} "
            f"budget, not a {source} one",
        )
    inputs = r.file_refs(entry, path, source, root, required=True, allow_single=True)
    if inputs is not None and source == "payload" and len(inputs) != 1:
        r.error((*path, source), "names one payload.bin or OTA .zip, not a list")
        inputs = None
    if inputs is not None and not inputs:
        r.error((*path, source), "must name at least one file")
        inputs = None
    fields: dict[str, Any] = {}
    if source == "payload":
        budget = r.size(entry, path, "download_budget_bytes", required=True)
        fields["cow_budget_bytes"] = r.size(entry, path, "cow_budget_bytes")
        partitions: list[tuple[str, int]] = []
        value = entry.get("partition_budgets", {})
        if not isinstance(value, dict):
            r.error(
                (*path, "partition_budgets"),
                f"expected an object (partition -> size), got {kind_of(value)}",
            )
        else:
            for partition in value:
                size = r.size(value, (*path, "partition_budgets"), partition)
                if size is not None:
                    partitions.append((partition, size))
        fields["partition_budgets"] = tuple(partitions)
    else:
        cache = r.size(entry, path, "cache_size", required=True)
        block = r.size(entry, path, "block_size")
        threshold = entry.get("stash_threshold", DEFAULT_STASH_THRESHOLD)
        if (
            isinstance(threshold, bool)
            or not isinstance(threshold, int | float)
            or not (math.isfinite(threshold) and 0 < threshold <= 1)
        ):
            r.error(
                (*path, "stash_threshold"),
                "must be a fraction above 0 and at most 1 (as 0.8), got "
                f"{kind_of(threshold)} {threshold!r}",
            )
            threshold = None
        if block == 0:
            r.error((*path, "block_size"), "must not be 0")
            block = None
        if cache is None or threshold is None:
            budget = None
        else:
            budget = math.floor(cache * float(threshold))
            fields.update(
                cache_size=cache, stash_threshold=float(threshold), block_size=block or 4096
            )
    if name is None or inputs is None or budget is None or wrong:
        return None
    return OtaBudget(
        name=name,
        key=dotted(path),
        line=r.line(path),
        budget_bytes=budget,
        creep_budget_bytes=creep or 0,
        owner=owner,
        inputs=inputs,
        source=source,
        **fields,
    )


@dataclass(frozen=True, slots=True)
class OtaDetails(Details):
    """The JSON report's ``ota`` object: a payload's or a block OTA's numbers."""

    source: str
    facts: Mapping[str, Any]  # payload header facts, or the stash limit
    partitions: tuple[PartitionUpdate, ...] = ()
    groups: tuple[tuple[GroupUpdate, int], ...] = ()  # with the sum of their new sizes
    stashes: tuple[StashUse, ...] = ()
    checks_failed: tuple[str, ...] = ()
    changes: tuple[tuple[str, int | None, int | None], ...] | None = None  # partition, old, new

    @property
    def failed_checks(self) -> tuple[str, ...]:
        return self.checks_failed

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"input": self.source, **self.facts}
        if self.source == "payload":
            out["partitions"] = [p.to_dict() for p in self.partitions]
            out["groups"] = [
                {**g.to_dict(), "new_sizes": used, "headroom": g.size - used}
                for g, used in self.groups
            ]
        else:
            out["stashes"] = [s.to_dict() for s in self.stashes]
        if self.changes is not None:
            out["baseline_changes"] = [
                {"partition": p, "old": o, "new": n, "delta": (n or 0) - (o or 0)}
                for p, o, n in self.changes
            ]
        return {"ota": out, "failed_checks": list(self.checks_failed)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> OtaDetails:
        d = dict(data["ota"])
        source = str(d.pop("input"))
        partitions = tuple(PartitionUpdate.from_dict(p) for p in d.pop("partitions", ()))
        groups = tuple((GroupUpdate.from_dict(g), int(g["new_sizes"])) for g in d.pop("groups", ()))
        stashes = tuple(StashUse.from_dict(s) for s in d.pop("stashes", ()))
        changes = d.pop("baseline_changes", None)
        return cls(
            source,
            d,
            partitions,
            groups,
            stashes,
            tuple(str(c) for c in data.get("failed_checks") or ()),
            None
            if changes is None
            else tuple((str(c["partition"]), c["old"], c["new"]) for c in changes),
        )

    def sizes(self) -> dict[str, int]:
        """What a baseline compares per partition: payload data bytes, or stash peak blocks."""
        if self.source == "payload":
            return {p.name: p.data_bytes for p in self.partitions}
        return {s.partition: s.max_stashed_blocks for s in self.stashes}


def _payload_result(budget: OtaBudget, result: BudgetResult, package: OtaPackage) -> BudgetResult:
    payload = package.payload
    failed: list[str] = []
    by_name = {p.name: p for p in payload.partitions}
    for partition, limit in budget.partition_budgets:
        if partition not in by_name:
            raise InputError(
                f"{budget.key}.partition_budgets.{partition}: the payload does not update "
                f"partition {partition!r} (it updates {', '.join(sorted(by_name)) or 'none'})"
            )
        if by_name[partition].data_bytes > limit:
            failed.append(f"partition:{partition}")
    groups = []
    for g in payload.groups:
        used = sum(by_name[p].new_size if p in by_name else 0 for p in g.partitions)
        groups.append((g, used))
        if used > g.size or any(p not in by_name for p in g.partitions):
            failed.append(f"group:{g.name}")
    cow = [p.estimate_cow_size for p in payload.partitions if p.estimate_cow_size is not None]
    if budget.cow_budget_bytes is not None:
        if not cow:
            raise InputError(
                f"{budget.key}.cow_budget_bytes: the payload carries no estimate_cow_size "
                "(not a Virtual A/B update)"
            )
        if sum(cow) > budget.cow_budget_bytes:
            failed.append("cow")
    facts = {
        "payload_bytes": payload.file_bytes,
        "zip_bytes": package.zip_bytes,
        "metadata_bytes": payload.metadata_bytes,
        "metadata_signature_bytes": payload.signature_bytes,
        "data_bytes": payload.data_bytes,
        "block_size": payload.block_size,
        "minor_version": payload.minor_version,
        "full": payload.full,
        "snapshot_enabled": payload.snapshot_enabled,
        "vabc_enabled": payload.vabc_enabled,
        "estimate_cow_bytes": sum(cow) if cow else None,
        "cow_budget_bytes": budget.cow_budget_bytes,
        "partition_budgets": dict(budget.partition_budgets),
        "properties": package.properties,
    }
    details = OtaDetails("payload", facts, payload.partitions, tuple(groups), (), tuple(failed))
    return replace(result, used_bytes=payload.file_bytes, details=details)


def _stash_result(budget: OtaBudget, result: BudgetResult, uses: list[StashUse]) -> BudgetResult:
    peak = max(uses, key=lambda s: (s.max_stashed_blocks, s.partition))
    facts = {
        "cache_size": budget.cache_size,
        "stash_threshold": budget.stash_threshold,
        "block_size": budget.block_size,
        "limit_bytes": budget.budget_bytes,
        "peak_partition": peak.partition,
        "peak_bytes": peak.max_stashed_blocks * budget.block_size,
    }
    details = OtaDetails("transfer_list", facts, stashes=tuple(uses))
    return replace(result, used_bytes=peak.max_stashed_blocks * budget.block_size, details=details)


def evaluate_budget(budget: OtaBudget, base: BudgetResult, display: Display) -> BudgetResult:
    names = [display(r.path) for r in budget.inputs]
    result = replace(
        base,
        parameters={"input": budget.source, "files": names},
        details=OtaDetails(budget.source, {}),
    )
    try:
        if budget.source == "payload":
            return _payload_result(budget, result, load_payload(budget.inputs[0].path, names[0]))
        uses: list[StashUse] = []
        for ref, name in zip(budget.inputs, names, strict=True):
            uses.extend(transfer_list.load(ref.path, name))
        return _stash_result(budget, result, uses)
    except ImageFormatError as exc:
        where = exc.file if exc.offset is None else f"{exc.file}: offset {exc.offset}"
        return result.with_error(f"{budget.key}.{budget.source}: {where}: {exc.problem}")
    except OSError as exc:  # a read that fails half-way (EIO, permission changed)
        where = display(Path(exc.filename)) if isinstance(exc.filename, str) else names[0]
        return result.with_error(f"{budget.key}.{budget.source}: {where}: {exc.strerror or exc}")
    except InputError as exc:
        text = str(exc)
        prefix = "" if text.startswith(budget.key) else f"{budget.key}.{budget.source}: "
        return result.with_error(prefix + text)


def _details(result: BudgetResult) -> OtaDetails | None:
    return (
        result.details if isinstance(result.details, OtaDetails) and result.details.facts else None
    )


def _delta(details: OtaDetails, partition: str, unit: int = 1) -> list[str]:
    if details.changes is None:
        return []
    change = next((c for c in details.changes if c[0] == partition), None)
    if change is None:
        return ["0 B"]
    if change[1] is None:
        return ["new"]
    return [f"{((change[2] or 0) - change[1]) * unit:+,} B"]


def payload_rows(result: BudgetResult, d: OtaDetails, top_n: int) -> list[str]:
    f = d.facts
    lines = [
        f"  payload       {describe(int(f['payload_bytes']), result.budget_bytes)}  "
        f"({'full' if f['full'] else 'incremental'}, minor version {f['minor_version']})",
        f"  download      {describe(result.budget_bytes)}  (download_budget_bytes)",
        f"  metadata      {format_bytes(int(f['metadata_bytes']))} + signature "
        f"{format_bytes(int(f['metadata_signature_bytes']))}",
    ]
    if f.get("estimate_cow_bytes") is not None:
        budget = f.get("cow_budget_bytes")
        limit = "" if budget is None else f" of cow_budget_bytes {describe(int(budget))}"
        lines.append(f"  cow estimate  {describe(int(f['estimate_cow_bytes']))}{limit}")
    lines.append("")
    limits = f.get("partition_budgets") or {}
    parts = sorted(d.partitions, key=lambda p: (-p.data_bytes, p.name))
    listed = parts[:top_n] if top_n > 0 else parts
    diffed = d.changes is not None
    rows = [
        [
            shown(p.name),
            format_bytes(p.data_bytes),
            "-" if p.name not in limits else format_bytes(int(limits[p.name])),
            *_delta(d, p.name),
            format_bytes(p.new_size),
            "-" if p.estimate_cow_size is None else format_bytes(p.estimate_cow_size),
        ]
        for p in listed
    ]
    header = ["partition", "data", "budget", *(["delta"] if diffed else []), "new size", "cow"]
    lines += aligned_rows(header, rows, "<" + ">" * (len(header) - 1))
    if len(parts) > len(listed):
        lines.append(f"  ... and {len(parts) - len(listed)} more partitions")
    if d.groups:
        lines.append("")
        group_rows = [
            [shown(g.name), format_bytes(g.size), format_bytes(used), f"{g.size - used:+,} B"]
            for g, used in d.groups
        ]
        lines += aligned_rows(["group", "size", "new sizes", "headroom"], group_rows, "<>>>")
    return lines


def stash_rows(result: BudgetResult, d: OtaDetails) -> list[str]:
    f = d.facts
    block = int(f["block_size"])
    lines = [
        f"  limit         {describe(result.budget_bytes)}  "
        f"(cache_size {describe(int(f['cache_size']))}"
        f" × stash_threshold {f['stash_threshold']:g})",
        f"  peak          {describe(int(f['peak_bytes']))}  ({shown(str(f['peak_partition']))})",
        "",
    ]
    rows = [
        [
            shown(s.partition),
            f"{s.max_stashed_blocks:,}",
            format_bytes(s.max_stashed_blocks * block),
            *_delta(d, s.partition, block),
            f"{s.version}",
        ]
        for s in sorted(d.stashes, key=lambda s: (-s.max_stashed_blocks, s.partition))
    ]
    header = [
        "partition",
        "stashed blocks",
        "bytes",
        *(["delta"] if d.changes is not None else []),
        "version",
    ]
    lines += aligned_rows(header, rows, "<" + ">" * (len(header) - 1))
    return lines


class OtaKind(BudgetKind):
    name = "ota"
    titles: ClassVar[Mapping[str, str]] = {"ota": "OTA budget"}
    sections: ClassVar[Mapping[str, EntryParser]] = {"ota_budgets": parse_ota_budget}
    descriptive_parameters = frozenset({"files"})

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
            if isinstance(b, OtaBudget)
        }

    def details_from_dict(self, data: Mapping[str, Any]) -> Details:
        return OtaDetails.from_dict(data)

    def with_baseline(self, result: BudgetResult, old: BudgetResult) -> BudgetResult:
        new_d, old_d = _details(result), _details(old)
        if new_d is None or old_d is None or new_d.source != old_d.source:
            return result
        before, after = old_d.sizes(), new_d.sizes()
        changes = tuple(
            sorted(
                (
                    (p, before.get(p), after.get(p))
                    for p in dict.fromkeys([*after, *before])
                    if before.get(p) != after.get(p)
                ),
                key=lambda c: (-abs((c[2] or 0) - (c[1] or 0)), c[0]),
            )
        )
        return replace(result, details=replace(new_d, changes=changes))

    def failure_text(self, result: BudgetResult, top_n: int) -> str:
        d = _details(result)
        title = self.title(result)
        lines: list[str] = []
        if result.used_bytes is not None and result.used_bytes > result.budget_bytes:
            if d is not None and d.source == "transfer_list":
                lines.append(
                    f"{title}: partition {shown(str(d.facts['peak_partition']))} stashes "
                    f"{describe(result.used_bytes)} at its peak, over the /cache limit by "
                    f"{describe(result.used_bytes - result.budget_bytes)}"
                )
            else:
                lines.append(
                    f"{title}: the payload is over download_budget_bytes by "
                    f"{describe(result.used_bytes - result.budget_bytes)}"
                )
        for check in result.details.failed_checks:
            lines.append(f"{title} fails {check}: {_check_text(check, d)}")
        if result.creep_exceeded:
            lines.append(creep_headline(result, title))
        if d is not None:
            lines += (
                payload_rows(result, d, top_n) if d.source == "payload" else stash_rows(result, d)
            )
        lines.append("")
        lines.append(f"  file          {shown(f'{result.file}:{result.line} ({result.key})')}")
        return "\n".join(lines)

    def html_panel(self, result: BudgetResult) -> HtmlPanel:
        d = _details(result)
        if d is None:
            return HtmlPanel.generic(result)
        if d.source == "payload":
            figures = [
                ("payload (used)", f"{result.used_bytes or 0:,} B"),
                ("download_budget_bytes", f"{result.budget_bytes:,} B"),
                ("metadata", f"{int(d.facts['metadata_bytes']):,} B"),
            ]
            if d.facts.get("estimate_cow_bytes") is not None:
                figures.append(("COW estimate", f"{int(d.facts['estimate_cow_bytes']):,} B"))
            for g, used in d.groups:
                figures.append((f"group {g.name}", f"{used:,} B of {g.size:,} B"))
            bar = tuple((p.name, p.data_bytes) for p in d.partitions if p.data_bytes)
            return HtmlPanel(figures=tuple(figures), bar=bar)
        block = int(d.facts["block_size"])
        figures = [
            ("stash peak (used)", f"{result.used_bytes or 0:,} B in {d.facts['peak_partition']}"),
            ("limit (budget_bytes)", f"{result.budget_bytes:,} B"),
        ]
        figures += [(f"{s.partition}", f"{s.max_stashed_blocks * block:,} B") for s in d.stashes]
        peak = max(d.stashes, key=lambda s: s.max_stashed_blocks)
        return HtmlPanel(
            figures=tuple(figures), bar=((peak.partition, peak.max_stashed_blocks * block),)
        )


def _check_text(check: str, d: OtaDetails | None) -> str:
    if d is None:
        return check
    what, _, name = check.partition(":")
    if what == "partition":
        p = next(p for p in d.partitions if p.name == name)
        limit = int(d.facts["partition_budgets"][name])
        return (
            f"partition {name!r} carries {describe(p.data_bytes)} of data, over its budget "
            f"{describe(limit)}"
        )
    if what == "group":
        g, used = next((g, u) for g, u in d.groups if g.name == name)
        names = {p.name for p in d.partitions}
        missing = [p for p in g.partitions if p not in names]
        if missing:
            return (
                f"group {name!r} lists {', '.join(missing)}, which the payload does not update "
                "(the device refuses this)"
            )
        return (
            f"the new sizes of group {name!r} ({', '.join(g.partitions)}) sum to "
            f"{describe(used)}, above its size {describe(g.size)}: the device will refuse "
            "the update"
        )
    total = int(d.facts.get("estimate_cow_bytes") or 0)
    budget = int(d.facts["cow_budget_bytes"])
    return f"estimate_cow_size sums to {describe(total)}, over cow_budget_bytes {describe(budget)}"
