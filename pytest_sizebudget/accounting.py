"""Exact package-set accounting, as Fuchsia's size checks define it.

Every blob of every package is an *instance*.  A blob's share count is the number of
its instances: across all package sets of the file (``sharing="global"``, RFC-0144 and
ffx V0 to V3) or within one set (``"per_set"``, current ffx).  Each instance is charged
``size // share_count`` (integer division per instance: rounding loses bytes, exactly as
Fuchsia's tools do).  ``merge`` sets dedupe by merkle first (the last instance of a
merkle survives, as in ffx V2/V3), drop their meta.far instances and add a fixed 32768
bytes; resource budgets take every instance of the
merkles found at their paths, and package sets then leave those merkles out.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from .budget.model import DEFAULT_SHARING, MERGED_META_FAR_BYTES, Sharing
from .packages.model import META_FAR_PATH, BlobEntry, Package


@dataclass(frozen=True, slots=True)
class SetInput:
    name: str
    packages: Sequence[Package]
    merge: bool = False


@dataclass(frozen=True, slots=True)
class ResourceInput:
    name: str
    paths: frozenset[str]


class BlobCharge(NamedTuple):
    """One blob instance as charged (a named tuple: one per instance, see ``BlobEntry``)."""

    merkle: str
    path: str
    size: int | None  # None: no size is known for this merkle
    share_count: int
    charged_bytes: int
    excluded_by: str | None = None  # resource budget that takes this blob instead


@dataclass(frozen=True, slots=True)
class PackageCharge:
    name: str
    origin: str
    used_space_in_blobfs: int
    proportional_size: int
    blobs: tuple[BlobCharge, ...]


@dataclass(frozen=True, slots=True)
class MissingBlob:
    package: str
    origin: str
    path: str
    merkle: str


@dataclass(frozen=True, slots=True)
class Usage:
    used_bytes: int
    packages: Sequence[PackageCharge]
    fixed_bytes: int = 0  # merged meta.far allowance
    missing: tuple[MissingBlob, ...] = ()


Instance = tuple[int, BlobEntry]  # (package index within its set, blob)


def set_instances(s: SetInput) -> list[Instance]:
    instances = [(i, b) for i, p in enumerate(s.packages) for b in p.blobs]
    if not s.merge:
        return instances
    # ffx collects a merged set into a map keyed by merkle, where the last instance of
    # a merkle replaces the earlier ones: that one (its package and path) is charged.
    last = {b.merkle: n for n, (_, b) in enumerate(instances) if b.path != META_FAR_PATH}
    return [inst for n, inst in enumerate(instances) if last.get(inst[1].merkle) == n]


def account(
    sets: Sequence[SetInput],
    resources: Sequence[ResourceInput],
    sizes: Mapping[str, int],
    sharing: Sharing = DEFAULT_SHARING,
) -> tuple[list[Usage], list[Usage]]:
    """Usage of each package set and each resource budget, in the order given."""
    per_set = [set_instances(s) for s in sets]
    global_counts: Counter[str] = Counter(b.merkle for inst in per_set for _, b in inst)

    resource_merkles = [
        {b.merkle for inst in per_set for _, b in inst if b.path in r.paths} for r in resources
    ]
    excluded: dict[str, str] = {}
    for r, merkles in zip(resources, resource_merkles, strict=True):
        for m in merkles:
            excluded.setdefault(m, r.name)

    set_usages = []
    for s, instances in zip(sets, per_set, strict=True):
        counts = global_counts if sharing == "global" else Counter(b.merkle for _, b in instances)
        set_usages.append(_usage(s.packages, instances, counts, sizes, excluded, s.merge))

    resource_usages = []
    for merkles in resource_merkles:
        # Resource budgets span the sets by nature, so their share counts do too.
        taken = [
            (s, [(i, b) for i, b in inst if b.merkle in merkles])
            for s, inst in zip(sets, per_set, strict=True)
        ]
        resource_usages.append(
            _merge_usages(
                [_usage(s.packages, inst, global_counts, sizes, {}, False) for s, inst in taken]
            )
        )
    return set_usages, resource_usages


def _usage(
    packages: Sequence[Package],
    instances: Sequence[Instance],
    counts: Mapping[str, int],
    sizes: Mapping[str, int],
    excluded: Mapping[str, str],
    merge: bool,
) -> Usage:
    # Once per blob instance (100,000 in a large product, every run): sums are kept as
    # the charges are made, and lookups are bound once.
    by_package: list[list[BlobCharge]] = [[] for _ in packages]
    on_disk = [0] * len(packages)
    charged = [0] * len(packages)
    missing = []
    size_of = sizes.get
    taken_by = excluded.get
    for i, b in instances:
        merkle = b.merkle
        size = size_of(merkle)
        count = counts[merkle]
        resource = taken_by(merkle) if excluded else None
        if resource is not None:
            charge = BlobCharge(merkle, b.path, size, count, 0, resource)
        elif size is None:
            missing.append(MissingBlob(packages[i].name, packages[i].origin, b.path, merkle))
            charge = BlobCharge(merkle, b.path, None, count, 0)
        else:
            share = size // count
            charge = BlobCharge(merkle, b.path, size, count, share)
            on_disk[i] += size
            charged[i] += share
        by_package[i].append(charge)
    charges = tuple(
        PackageCharge(
            name=p.name,
            origin=p.origin,
            used_space_in_blobfs=on_disk[i],
            proportional_size=charged[i],
            blobs=tuple(by_package[i]),
        )
        for i, p in enumerate(packages)
    )
    fixed = MERGED_META_FAR_BYTES if merge else 0
    used = fixed + sum(charged)
    return Usage(used, charges, fixed, tuple(missing))


def _merge_usages(usages: Sequence[Usage]) -> Usage:
    packages = tuple(p for u in usages for p in u.packages if p.blobs)
    return Usage(
        used_bytes=sum(u.used_bytes for u in usages),
        packages=packages,
        missing=tuple(m for u in usages for m in u.missing),
    )
