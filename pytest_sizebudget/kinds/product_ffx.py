"""``ffx assembly size-check product``'s own numbers and texts (reference
fuchsia_current.md §2): the size breakdown, platform resources, and the diff against a base
product (``--base-assembly-manifest``).  Pytest-free; the product kind uses it.

A breakdown walks the packages in order (base, then cache, for an images manifest); a
blob is keyed by merkle, its first occurrence fixes its size, and every (package, path)
that names it is a reference; ``psize = size // references``.  Packages are keyed by
name (two packages of one name merge) and map each path to a merkle.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

# In-package paths ffx reports as "Platform Resources" (``RESOURCES`` in breakdown.rs):
# matched exactly, so a subpackage's copy (``<sub>/lib/...``) is not one.
PLATFORM_RESOURCES = frozenset(
    {
        "lib/VkLayer_image_pipe_swapchain.so",
        "lib/ld.so.1",
        "lib/libasync-default.so",
        "lib/libfdio.so",
        "lib/libsyslog.so",
        "lib/libtrace-engine.so",
        "lib/libtrace-provider-so.so",
        "lib/libvulkan.so",
        "lib/libc++.so.2",
        "lib/libc++abi.so.1",
        "lib/libunwind.so.1",
        "lib/libre2.so",
        "lib/libvfs_internal.so",
    }
)
RESOURCES_CREEP_BUDGET = 2097152  # ffx's RESOURCES_CREEP_BUDGET, "2.0 MiB"
PLATFORM_RESOURCES_NAME = "Platform Resources"
CONTENTS_NAME = "Total BlobFS contents"

Ref = tuple[str, str]  # (package name, in-package path)
PackageBlobs = tuple[str, Sequence[tuple[str, str, int]]]  # name, [(merkle, path, size)]


@dataclass(frozen=True, slots=True)
class Blob:
    merkle: str
    size: int
    references: tuple[Ref, ...]

    @property
    def psize(self) -> int:
        return self.size // len(self.references)


@dataclass(frozen=True, slots=True)
class Breakdown:
    blobs: Mapping[str, Blob]  # by merkle, in first-seen order
    packages: Mapping[str, Mapping[str, str]]  # name -> path -> merkle

    @property
    def consumed_bytes(self) -> int:
        return sum(b.size for b in self.blobs.values())

    @property
    def resources_bytes(self) -> int:
        """Σ size over merkles having any reference at a platform-resource path."""
        return sum(
            b.size
            for b in self.blobs.values()
            if any(path in PLATFORM_RESOURCES for _, path in b.references)
        )


def breakdown(packages: Iterable[PackageBlobs]) -> Breakdown:
    sizes: dict[str, int] = {}
    refs: dict[str, list[Ref]] = {}
    by_name: dict[str, dict[str, str]] = {}
    for name, blobs in packages:
        paths = by_name.setdefault(name, {})
        for merkle, path, size in blobs:
            sizes.setdefault(merkle, size)
            refs.setdefault(merkle, []).append((name, path))
            paths[path] = merkle
    return Breakdown(
        {m: Blob(m, sizes[m], tuple(r)) for m, r in refs.items()},
        by_name,
    )


# -- the breakdown text (--size-breakdown-output) -------------------------------------


def wrap_path(path: str) -> str:
    """ffx's ``wrap_text(indent 3, width 40)``: 40 columns, long paths over several lines
    whose last is padded so that the numbers that follow line up (at column 43)."""
    if len(path) <= 40:
        return f"{path:<40}"
    rest = path[37:]
    pieces = [rest[i : i + 34] for i in range(0, len(rest), 34)]
    lines = [path[:37], *(f"      {p}" for p in pieces)]
    return "...\n".join(lines[:-1]) + "...\n" + f"{lines[-1]:<43}"


def breakdown_lines(bd: Breakdown) -> list[str]:
    lines = [f"{'PACKAGES':<43}{'MERKLE':>10}{'SIZE':>10}{'PSIZE':>10}{'SHARE':>10}"]
    for name in sorted(bd.packages):
        paths = bd.packages[name]
        blobs = {p: bd.blobs[m] for p, m in paths.items()}
        size = sum(b.size for b in blobs.values())
        psize = sum(b.psize for b in blobs.values())
        lines.append(f"{name:<53}{size:>10}{psize:>10}")
        for path in sorted(blobs):
            b = blobs[path]
            lines.append(
                f"   {wrap_path(path)}{b.merkle[:6]:>10}{b.size:>10}{b.psize:>10}"
                f"{len(b.references):>10}"
            )
    return lines


def breakdown_text(bd: Breakdown) -> str:
    """What ``--size-breakdown-output`` writes (no newline at the end, as ffx)."""
    return "\n".join(breakdown_lines(bd)) + f"\nTotal size: {bd.consumed_bytes} bytes"


# -- the diff against a base (--base-assembly-manifest) -------------------------------

_BLOB_MODES = {"added": 0, "removed": 1, "updated": 2, "unchanged": 3}
_REF_MODES = {"added": 0, "removed": 1, "kept": 2}


@dataclass(frozen=True, slots=True)
class RefChange:
    mode: str  # added, removed, kept
    package: str
    path: str


@dataclass(frozen=True, slots=True)
class BlobChange:
    mode: str  # added, removed, updated, unchanged
    before: str | None  # merkle in the base
    after: str | None  # merkle now
    size: int
    size_delta: int
    psize: int
    psize_delta: int
    share: int
    share_delta: int
    references: tuple[RefChange, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "before": self.before,
            "after": self.after,
            "size": self.size,
            "size_delta": self.size_delta,
            "psize": self.psize,
            "psize_delta": self.psize_delta,
            "share": self.share,
            "share_delta": self.share_delta,
            "references": [[r.mode, r.package, r.path] for r in self.references],
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> BlobChange:
        return cls(
            **{k: d[k] for k in _BLOB_FIELDS},
            references=tuple(RefChange(*r) for r in d["references"]),
        )


_BLOB_FIELDS = (
    "mode",
    "before",
    "after",
    "size",
    "size_delta",
    "psize",
    "psize_delta",
    "share",
    "share_delta",
)


@dataclass(frozen=True, slots=True)
class PackageChange:
    mode: str  # added, removed, updated
    name: str
    size: int  # after (updated), else the blobs it adds or removes
    delta: int

    def to_dict(self) -> dict[str, Any]:
        return {"mode": self.mode, "name": self.name, "size": self.size, "delta": self.delta}


@dataclass(frozen=True, slots=True)
class ProductDiff:
    base: str  # what the base was read from
    before_bytes: int
    after_bytes: int
    packages: tuple[PackageChange, ...] = ()  # every package whose size changed
    blobs: tuple[BlobChange, ...] = ()  # every blob but the unchanged
    unchanged_blobs: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "base": self.base,
            "before_bytes": self.before_bytes,
            "after_bytes": self.after_bytes,
            "unchanged_blobs": self.unchanged_blobs,
            "packages": [p.to_dict() for p in self.packages],
            "blobs": [b.to_dict() for b in self.blobs],
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ProductDiff:
        return cls(
            base=d["base"],
            before_bytes=d["before_bytes"],
            after_bytes=d["after_bytes"],
            unchanged_blobs=d["unchanged_blobs"],
            packages=tuple(PackageChange(**p) for p in d["packages"]),
            blobs=tuple(BlobChange.from_dict(b) for b in d["blobs"]),
        )

    def count(self, mode: str) -> int:
        return sum(1 for b in self.blobs if b.mode == mode)


def _updated(before: Blob, after: Blob) -> BlobChange:
    old, new = set(before.references), set(after.references)
    refs = [RefChange("added", *r) for r in new - old]
    refs += [RefChange("removed", *r) for r in old - new]
    refs += [RefChange("kept", *r) for r in old & new]
    return BlobChange(
        "updated",
        before.merkle,
        after.merkle,
        after.size,
        after.size - before.size,
        after.psize,
        after.psize - before.psize,
        len(new),
        len(new - old) - len(old - new),
        _sorted_refs(refs),
    )


def _one_sided(mode: str, blob: Blob) -> BlobChange:
    sign = 1 if mode == "added" else -1
    share = len(set(blob.references))
    return BlobChange(
        mode,
        blob.merkle if mode == "removed" else None,
        blob.merkle if mode == "added" else None,
        blob.size,
        sign * blob.size,
        blob.psize,
        sign * blob.psize,
        share,
        sign * share,
        _sorted_refs([RefChange(mode, *r) for r in dict.fromkeys(blob.references)]),
    )


def _sorted_refs(refs: list[RefChange]) -> tuple[RefChange, ...]:
    return tuple(sorted(refs, key=lambda r: (_REF_MODES[r.mode], r.package, r.path)))


def diff(before: Breakdown, after: Breakdown, base: str) -> ProductDiff:
    """ffx's ``SizeBreakdown::diff``: each base blob in merkle order is matched by merkle,
    else through the first of its (package, path) references that still exists."""
    changes: list[BlobChange] = []
    matched: set[str] = set()
    for merkle in sorted(before.blobs):
        old = before.blobs[merkle]
        new = after.blobs.get(merkle)
        if new is None:
            successor = next(
                (
                    after.packages[p][path]
                    for p, path in old.references
                    if path in after.packages.get(p, {})
                ),
                None,
            )
            new = None if successor is None else after.blobs[successor]
        if new is None:
            changes.append(_one_sided("removed", old))
            continue
        matched.add(new.merkle)
        if new.merkle == merkle and new.size == old.size and new.references == old.references:
            # Most blobs of a product: never shown, so their references are not compared.
            share = len(set(new.references))
            changes.append(
                BlobChange("unchanged", merkle, merkle, new.size, 0, new.psize, 0, share, 0, ())
            )
        else:
            changes.append(_updated(old, new))
    changes.extend(_one_sided("added", b) for m, b in after.blobs.items() if m not in matched)
    # ffx's ordered sets: two changes equal under the sort key are one.
    unique = {_blob_key(c): c for c in changes}
    blobs = sorted(unique.values(), key=_blob_key)

    added = {c.after for c in blobs if c.mode == "added"}
    removed = {c.before for c in blobs if c.mode == "removed"}
    packages: list[PackageChange] = []
    for name, paths in after.packages.items():
        if name not in before.packages:
            size = sum(after.blobs[m].size for m in paths.values() if m in added)
            packages.append(PackageChange("added", name, size, size))
        else:
            now = sum(after.blobs[m].size for m in paths.values())
            then = sum(before.blobs[m].size for m in before.packages[name].values())
            packages.append(PackageChange("updated", name, now, now - then))
    for name, paths in before.packages.items():
        if name not in after.packages:
            size = sum(before.blobs[m].size for m in paths.values() if m in removed)
            packages.append(PackageChange("removed", name, size, -size))
    packages.sort(key=lambda p: (-p.delta, p.name, _BLOB_MODES[p.mode]))

    def total(modes: Sequence[str], value: Any) -> int:
        return sum(value(c) for c in blobs if c.mode in modes)

    before_bytes = (
        total(("removed",), lambda c: c.size)
        + total(("updated",), lambda c: c.size - c.size_delta)
        + total(("unchanged",), lambda c: c.size)
    )
    after_bytes = total(("added", "updated", "unchanged"), lambda c: c.size)
    return ProductDiff(
        base=base,
        before_bytes=before_bytes,
        after_bytes=after_bytes,
        packages=tuple(p for p in packages if p.delta != 0),
        blobs=tuple(c for c in blobs if c.mode != "unchanged"),
        unchanged_blobs=sum(1 for c in blobs if c.mode == "unchanged"),
    )


def _blob_key(c: BlobChange) -> tuple[int, int, int, str, str]:
    return (-c.size_delta, -c.psize_delta, _BLOB_MODES[c.mode], c.after or "", c.before or "")


_MARKS = {"added": "++", "removed": "--"}
_REF_MARKS = {"added": "+", "removed": "-"}


def _number(delta: int, value: int, updated: bool) -> str:
    return f"{delta:>+10}" + (f"{f'({value})':<10}" if updated else " " * 10)


def _reference(r: RefChange) -> str:
    return f"{_REF_MARKS.get(r.mode, ' ')}{r.package:<30}{r.path:<30}"


def diff_lines(d: ProductDiff) -> list[str]:
    """ffx's ``SizeDiff::get_print_lines``: totals, changed packages, changed blobs."""
    lines = [
        "TOTAL SIZE",
        "-" * 117,
        f"before: {d.before_bytes:>10}",
        f"after:  {d.after_bytes:>10}",
        f"diff:   {d.after_bytes - d.before_bytes:>+10}",
        "",
        "",
    ]
    if d.packages:
        lines += [f"{'PACKAGES':<32}{'SIZE':>10}", "-" * 117]
        for p in d.packages:
            extra = f"({p.size})" if p.mode == "updated" else ""
            lines.append(f"{_MARKS.get(p.mode, '  ')}{p.name:<30}{p.delta:>+10}{extra:<10}")
        lines += ["", ""]
    if any(b.size_delta or b.psize_delta for b in d.blobs):
        lines += [
            f"{'BLOB MERKLE':<22} {'PACKAGE':<30}{'PATH':<30}{'SIZE':>10}{'PSIZE':>20}"
            f"{'SHARE':>20}",
            "-" * 137,
        ]
        for b in d.blobs:
            updated = b.mode == "updated"
            if updated and b.before != b.after:
                hash_field = f"{(b.before or '')[:6]} -> {(b.after or '')[:6]}"
            else:
                hash_field = (b.after or b.before or "")[:6]
            refs = b.references or (RefChange("kept", "", ""),)
            lines.append(
                f"{_MARKS.get(b.mode, '  ')}{hash_field:<20}{_reference(refs[0])}"
                f"{_number(b.size_delta, b.size, updated)}"
                f"{_number(b.psize_delta, b.psize, updated)}"
                f"{_number(b.share_delta, b.share, updated)}"
            )
            lines.extend(" " * 22 + _reference(r) for r in refs[1:])
    return lines
