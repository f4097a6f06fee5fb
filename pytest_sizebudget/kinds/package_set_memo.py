"""Package-set accounting remembered between runs (``measure/memo.py``).

What a file's package sets and resource budgets used last time is their answer again
when nothing they were computed from has changed: the budgets and their base results,
the budget file's sharing, storage format and working directory, how reports name each
manifest, the content of every manifest and blobs.json, and the measurement parameters.
Blobs that the sizer answered (not a blobs.json) get the warm run's own check: their
files still have the lengths that were measured.

Only files of plain package manifests are remembered: a directory package's answer
depends on every file below it, a Yocto package's on its tree, a subpackage's on
manifests found while reading, and with ``--sizebudget-verify`` every blob is read
anyway.  An evaluation with any error is not remembered either: it is evaluated again,
and says so again.

A remembered budget's charges (one per blob instance, 100,000 in a large product) are
decoded only when something reads them (failure text, a report with blobs): a passing
run without such reports never makes them (``RememberedPackages``).  They are kept
compressed (zstd level 1: 7.5 MB of charges for 100,000 instances become 3.3 MB, so
every warm run reads and checks the seal of less, and decompressing them when they are
read costs 15 ms).
"""

from __future__ import annotations

import marshal
import os
import threading
from collections.abc import Iterator, Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import overload

import zstandard

from pytest_sizebudget import __version__
from pytest_sizebudget.accounting import BlobCharge, PackageCharge, Usage
from pytest_sizebudget.budget.model import Budget, BudgetFile
from pytest_sizebudget.measure.memo import AnsweredBlobs, EvaluationMemo, MemoKey, digest, gc_paused
from pytest_sizebudget.measure.sizer import SizeRequest
from pytest_sizebudget.report.model import BudgetResult

from .base import EvaluationContext

MEMO_VERSION = 3


class RememberedPackages(Sequence[PackageCharge]):
    """A remembered budget's package charges, decoded on first use.  Pickled (to an
    xdist controller) and compared as the tuple it stands for."""

    __slots__ = ("_count", "_data", "_decoded", "_lock")

    def __init__(self, data: bytes, count: int) -> None:
        self._data = data
        self._count = count
        self._decoded: tuple[PackageCharge, ...] | None = None
        self._lock = threading.Lock()

    def _packages(self) -> tuple[PackageCharge, ...]:
        with self._lock:
            if self._decoded is None:
                charge = partial(tuple.__new__, BlobCharge)
                raw = zstandard.ZstdDecompressor().decompress(self._data)
                with gc_paused():
                    self._decoded = tuple(
                        PackageCharge(name, origin, on_disk, share, tuple(map(charge, blobs)))
                        for name, origin, on_disk, share, blobs in marshal.loads(raw)
                    )
                self._data = b""
            return self._decoded

    def __len__(self) -> int:
        return self._count

    @overload
    def __getitem__(self, index: int) -> PackageCharge: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[PackageCharge, ...]: ...
    def __getitem__(self, index: int | slice) -> PackageCharge | tuple[PackageCharge, ...]:
        return self._packages()[index]

    def __iter__(self) -> Iterator[PackageCharge]:
        return iter(self._packages())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, RememberedPackages | tuple):
            return self._packages() == tuple(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return repr(self._packages())

    def __reduce__(self) -> tuple[type[tuple[PackageCharge, ...]], tuple[object, ...]]:
        return (tuple, (self._packages(),))


def memo_key(
    memo: EvaluationMemo,
    context: EvaluationContext,
    bf: BudgetFile,
    budgets: Sequence[Budget],
    base: Mapping[str, BudgetResult],
    manifests: Sequence[tuple[Path, str]],
) -> MemoKey | None:
    """The key of this evaluation of ``manifests`` (absolute paths, as reports name
    them); ``None`` when an input cannot be read (the evaluation then says why)."""
    blobs_json = [(ref.path.absolute(), context.display(ref.path)) for ref in bf.blob_sizes]
    blobs_json += [(p.absolute(), str(p)) for p in context.blob_sizes.extra]
    salt = digest(
        repr(
            (
                MEMO_VERSION,
                __version__,
                bf.sharing,
                bf.storage_format,
                str(bf.root),
                bf.display,
                tuple(budgets),
                tuple(base[b.key] for b in budgets),
            )
        ).encode(),
        memo.identity(bf.storage_format),
    )
    slot = digest(b"package_set", str(bf.path.absolute()).encode(), bf.display.encode())
    return memo.key(slot, salt, [*manifests, *blobs_json])


def recall(
    memo: EvaluationMemo, at: MemoKey, bf: BudgetFile, budgets: Sequence[Budget]
) -> dict[str, Usage] | None:
    """Each budget's usage as remembered under ``at``, if its measured blobs' files
    still pass the warm run's check; else ``None``."""
    found = memo.recall(at)
    if not (isinstance(found, tuple) and len(found) == 2):
        return None
    answered, compact = found
    try:  # sealed and keyed, so written by this code; a shape it does not know is a miss
        usages = {
            key: Usage(used, RememberedPackages(data, count), fixed)
            for key, used, fixed, count, data in compact
        }
        checks = AnsweredBlobs(*answered)
    except (TypeError, ValueError):
        return None
    if set(usages) != {b.key for b in budgets}:
        return None
    if not memo.still_answered(bf.storage_format, checks):
        return None
    return usages


def answered_blobs(requests: Sequence[SizeRequest]) -> AnsweredBlobs | None:
    """The sizer's answers as the memo checks them: each blob's file and the length it
    was measured at (the manifest's, which the answer was checked against, else the
    file's own); ``None`` if one has no file (its budgets failed)."""
    triples: list[tuple[str, str, int]] = []
    for r in requests:
        if r.source is None:
            return None
        length = r.manifest_size
        if length is None:
            try:
                length = os.stat(r.source).st_size
            except (OSError, ValueError):
                return None
        triples.append((r.merkle, str(r.source), length))
    return AnsweredBlobs.of(triples)


def remember(
    memo: EvaluationMemo, at: MemoKey, usages: Mapping[str, Usage], answered: AnsweredBlobs
) -> None:
    # One object per distinct string (a merkle in many packages, a path in many sets):
    # marshal writes a repeated object as a reference, so the file is smaller and the
    # next run makes fewer objects.
    same: dict[str, str] = {}
    one = same.setdefault

    squeeze = zstandard.ZstdCompressor(level=1).compress

    def packages(usage: Usage) -> bytes:
        return squeeze(
            marshal.dumps(
                [
                    (
                        p.name,
                        p.origin,
                        p.used_space_in_blobfs,
                        p.proportional_size,
                        [(one(b.merkle, b.merkle), one(b.path, b.path), *b[2:]) for b in p.blobs],
                    )
                    for p in usage.packages
                ]
            )
        )

    compact = [
        (key, u.used_bytes, u.fixed_bytes, len(u.packages), packages(u))
        for key, u in usages.items()
    ]
    checks = (answered.merkles, answered.folders)
    memo.remember(at, (checks, compact))
