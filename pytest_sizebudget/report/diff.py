"""Blob-level diff of one budget against its baseline, the way ``ffx``'s product diff matches.

Every blob instance (a blob in a package) of the baseline is matched to one of the new run:
first by merkle (the same content; an instance in the same package and path is preferred),
then, for what is left, by package name and in-package path (the content changed: an
*updated* blob).  Instances matched by neither are *added* or *removed*.  Deltas are in
charged bytes (what the budget counts), so the changes add up to the budget's delta less
any change in fixed allowances; changes are sorted by absolute delta, largest first.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pytest_sizebudget.accounting import PackageCharge
from pytest_sizebudget.report.text import aligned_rows

ChangeKind = Literal["added", "removed", "updated"]


@dataclass(frozen=True, slots=True, kw_only=True)
class BlobChange:
    kind: ChangeKind
    package: str
    path: str
    old_merkle: str | None = None
    new_merkle: str | None = None
    old_size: int | None = None
    new_size: int | None = None
    old_charged: int = 0
    new_charged: int = 0

    @property
    def delta(self) -> int:
        return self.new_charged - self.old_charged

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "package": self.package,
            "path": self.path,
            "old_merkle": self.old_merkle,
            "new_merkle": self.new_merkle,
            "old_size": self.old_size,
            "new_size": self.new_size,
            "old_charged_bytes": self.old_charged,
            "new_charged_bytes": self.new_charged,
            "delta_bytes": self.delta,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> BlobChange:
        return cls(
            kind=d["kind"],
            package=d["package"],
            path=d["path"],
            old_merkle=d["old_merkle"],
            new_merkle=d["new_merkle"],
            old_size=d["old_size"],
            new_size=d["new_size"],
            old_charged=d["old_charged_bytes"],
            new_charged=d["new_charged_bytes"],
        )


@dataclass(frozen=True, slots=True)
class _Instance:
    package: str
    path: str
    merkle: str
    size: int | None
    charged: int


def _instances(packages: Sequence[PackageCharge]) -> list[_Instance]:
    out = [
        _Instance(p.name, b.path, b.merkle, b.size, b.charged_bytes)
        for p in packages
        for b in p.blobs
    ]
    return sorted(out, key=lambda i: (i.package, i.path, i.merkle))


def _sort_key(c: BlobChange) -> tuple[int, str, str, str, str]:
    return (-abs(c.delta), c.package, c.path, c.kind, c.new_merkle or c.old_merkle or "")


def diff_packages(
    old: Sequence[PackageCharge], new: Sequence[PackageCharge]
) -> tuple[BlobChange, ...]:
    """Changed blob instances from ``old`` to ``new``; unchanged ones are left out."""
    old_left = _instances(old)
    new_left = _instances(new)
    changes: list[BlobChange] = []

    def pair(o: _Instance, n: _Instance) -> None:
        if o.merkle == n.merkle and o.charged == n.charged:
            return  # the same blob, charged the same: no change
        changes.append(
            BlobChange(
                kind="updated",
                package=n.package,
                path=n.path,
                old_merkle=o.merkle,
                new_merkle=n.merkle,
                old_size=o.size,
                new_size=n.size,
                old_charged=o.charged,
                new_charged=n.charged,
            )
        )

    # 1. By merkle, preferring the same package and path, then in (package, path) order.
    by_merkle: dict[str, list[_Instance]] = defaultdict(list)
    for o in old_left:
        by_merkle[o.merkle].append(o)
    unmatched_new: list[_Instance] = []
    for exact_pass in (True, False):
        unmatched_new = []
        for n in new_left:
            candidates = by_merkle.get(n.merkle, [])
            match = next(
                (
                    o
                    for o in candidates
                    if not exact_pass or (o.package, o.path) == (n.package, n.path)
                ),
                None,
            )
            if match is None:
                unmatched_new.append(n)
                continue
            candidates.remove(match)
            pair(match, n)
        new_left = unmatched_new
    old_left = [o for group in by_merkle.values() for o in group]

    # 2. By package name and in-package path: the content changed.
    by_place: dict[tuple[str, str], list[_Instance]] = defaultdict(list)
    for o in sorted(old_left, key=lambda i: (i.package, i.path, i.merkle)):
        by_place[(o.package, o.path)].append(o)
    for n in new_left:
        group = by_place.get((n.package, n.path))
        if group:
            pair(group.pop(0), n)
            continue
        changes.append(
            BlobChange(
                kind="added",
                package=n.package,
                path=n.path,
                new_merkle=n.merkle,
                new_size=n.size,
                new_charged=n.charged,
            )
        )
    for group in by_place.values():
        for o in group:
            changes.append(
                BlobChange(
                    kind="removed",
                    package=o.package,
                    path=o.path,
                    old_merkle=o.merkle,
                    old_size=o.size,
                    old_charged=o.charged,
                )
            )
    return tuple(sorted(changes, key=_sort_key))


def render_changes(changes: Sequence[BlobChange], top_n: int) -> list[str]:
    """A table of the largest changes: change, package, path, merkle, size, delta."""
    if not changes:
        return ["Blob changes since the baseline: none"]
    shown = changes[:top_n] if top_n > 0 else list(changes)
    rows: list[tuple[str, ...]] = []
    for c in shown:
        # 12 hex digits, as every report shows a merkle.
        if c.kind == "updated" and c.old_merkle != c.new_merkle:
            merkle = f"{(c.old_merkle or '')[:12]} -> {(c.new_merkle or '')[:12]}"
        else:
            merkle = (c.new_merkle or c.old_merkle or "")[:12]
        mark = {"added": "++", "removed": "--", "updated": "~"}[c.kind]
        rows.append(
            (
                f"{mark} {c.kind}",
                c.package,
                c.path,
                merkle,
                f"{c.new_charged if c.kind != 'removed' else c.old_charged:,} B",
                f"{c.delta:+,} B",
            )
        )
    header = ("CHANGE", "PACKAGE", "PATH", "MERKLE", "CHARGED", "DELTA")
    out = [f"Largest blob changes since the baseline ({len(shown)} of {len(changes)}):"]
    out.extend(aligned_rows(header, rows, "<<<<>>"))
    if len(changes) > len(shown):
        rest = changes[len(shown) :]
        out.append(
            f"  ... {len(rest)} more change{'' if len(rest) == 1 else 's'}, "
            f"{sum(c.delta for c in rest):+,} B"
        )
    return out
