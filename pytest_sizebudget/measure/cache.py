"""``BlobCache``: blob measurements by merkle root, for every process that measures.

The cache directory is shared by xdist workers and parallel CI jobs on one machine; its
files are written and read as ``store.py`` says (sealed, published atomically, never
trusted over the file: anything damaged, foreign or from another parameter set is a
miss and the blob is measured again), and a failure to write costs speed, never
correctness.

Blob entries are immutable facts about content, so concurrent writers of the same entry
write the same bytes and either may win.  New entries are written many to a file (a
pack, ``store.PackDir``): a process collects ``PACK_ENTRIES`` and writes them under a
fresh name, reads every pack once when first asked, and again after waiting for another
process's lock (``refresh``).  Entries of one blob per file (from earlier versions) are
still read.  Which file had which merkle root is the ``StatIndex``'s (``stat_index.py``).
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Final

from .blob import BlobMeasurement
from .blobfs import CHUNK_RULE_VERSION
from .compress import libzstd_version
from .formats import StorageFormat
from .fxfs import FXFS_RULE_VERSION
from .memory import ZSTD_LEVEL
from .remote import RemoteCache
from .stat_index import DEFAULT_RACY_SECONDS, StatIndex
from .store import PACK_MERGE_AT, PackDir, read_entry, seal, unseal, write_atomically

CACHE_FORMAT: Final = 1
PACK_ENTRIES: Final = 1024  # entries a process collects before it writes them as a pack


def params_fingerprint(layout: StorageFormat) -> str:
    """Everything besides the content that changes a blob's measurement, as one short hash.

    The libzstd version is part of it, so sizes measured with a libzstd whose output
    differs from Fuchsia's never answer for one that matches it, nor the other way.
    """
    params: dict[str, object] = {
        "cache_format": CACHE_FORMAT,
        "layout": layout,
        "zstd_level": ZSTD_LEVEL,
        "chunk_rule": CHUNK_RULE_VERSION,
        "libzstd": libzstd_version(),
    }
    if layout == "fxfs":  # only here, so that blobfs fingerprints stay what they were
        params["fxfs_rule"] = FXFS_RULE_VERSION
    return hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()[:16]


class BlobCache:
    """Blob measurements keyed by merkle root and parameter fingerprint.

    ``BlobCache(None, layout)`` is the disabled cache: every lookup misses, writes vanish.

    With a ``remote`` (``--sizebudget-cache-url``), ``prefetch`` asks the server for the
    entries the local cache lacks, many at a time, checks each exactly as a local entry
    and keeps the good ones locally; ``put`` also uploads.  ``get`` itself never waits
    for the network: one round trip per blob, in turn, would cost more than it saves.
    """

    def __init__(
        self,
        root: Path | str | None,
        layout: StorageFormat,
        *,
        racy_seconds: float = DEFAULT_RACY_SECONDS,
        remote: RemoteCache | None = None,
        run: str | None = None,
    ) -> None:
        self.root = None if root is None else Path(root)
        self.remote = remote
        # Entries the remote gave this process (for a run without a local directory).
        self._fetched: dict[str, BlobMeasurement] = {}
        # Entries carry the run that wrote them, so that a hit on a blob this run measured
        # already (in this process or, under xdist, another worker) is told apart from a
        # measurement kept from an earlier run.
        self.run = run
        self.this_run: set[str] = set()  # merkles of entries this run wrote
        self.layout = layout
        self.fingerprint = params_fingerprint(layout)
        self.stat_index = StatIndex(
            None if self.root is None else self.root / f"v{CACHE_FORMAT}" / "stat",
            racy_seconds=racy_seconds,
        )
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0
        self.rejected = 0
        self.write_failures = 0
        # Entries of the packs read so far (merkle -> (result, run that wrote it)), None
        # until the first lookup; entries measured here and not yet written.
        self._packed: dict[str, tuple[dict[str, object], object]] | None = None
        self._packs_read: set[str] = set()
        self._loading = threading.RLock()
        self._legacy: bool | None = None  # entries of one blob per file exist (see get)
        # by the run that measured them: this one's, or None (fetched from a remote)
        self._pending: dict[str | None, dict[str, dict[str, object]]] = {}

    @property
    def enabled(self) -> bool:
        return self.root is not None

    def entry_path(self, merkle: str) -> Path:
        if self.root is None:
            raise ValueError("the disabled cache has no entries")
        return (
            self.root
            / f"v{CACHE_FORMAT}"
            / "blobs"
            / self.fingerprint
            / merkle[:2]
            / f"{merkle}.json"
        )

    def _has_legacy(self) -> bool:
        """Whether an earlier version left entries of one blob per file here: if not, a
        miss costs no attempt to open one (100,000 of them on a cold run)."""
        if self._legacy is None:
            assert self.root is not None
            self._legacy = os.path.isdir(self.entry_path("00").parent.parent)
        return self._legacy

    @property
    def pack_dir(self) -> Path:
        if self.root is None:
            raise ValueError("the disabled cache has no packs")
        return self.root / f"v{CACHE_FORMAT}" / "packs" / self.fingerprint

    def get(self, merkle: str) -> BlobMeasurement | None:
        merkle = merkle.lower()
        if self.root is None:
            return self._fetched.get(merkle) if self._fetched else None
        found = raw = None
        packed = self._packs().get(merkle)
        if packed is not None:
            found = self._from_result(merkle, *packed)
        if found is None and self._has_legacy():
            raw = read_entry(self.entry_path(merkle))
            found = None if raw is None else self._validate(merkle, raw)
        if found is None and self._fetched:
            found = self._fetched.get(merkle)
        with self._lock:
            if found is not None:
                self.hits += 1
            else:
                self.misses += 1
                if raw is not None:
                    self.rejected += 1
        return found

    def _validate(self, merkle: str, raw: bytes) -> BlobMeasurement | None:
        body = unseal(raw)
        if body is None or body.get("kind") != "blob" or body.get("key") != merkle:
            return None
        if body.get("params") != self.fingerprint:
            return None
        result = body.get("result")
        if not isinstance(result, dict):
            return None
        return self._from_result(merkle, result, body.get("run"))

    def _from_result(
        self, merkle: str, result: dict[str, object], run: object
    ) -> BlobMeasurement | None:
        try:
            found = BlobMeasurement.from_dict(result)
        except ValueError:
            return None
        if found.merkle != merkle or found.layout != self.layout:
            return None
        if self.run is not None and run == self.run:
            with self._lock:
                self.this_run.add(merkle)
        return found

    def put(self, measurement: BlobMeasurement) -> None:
        if measurement.layout != self.layout:
            return
        result = measurement.to_dict()
        with self._lock:
            self.this_run.add(measurement.merkle)
        if self.remote is not None:
            body: dict[str, object] = {
                "kind": "blob",
                "key": measurement.merkle,
                "params": self.fingerprint,
                "result": result,
                **({"run": self.run} if self.run is not None else {}),
            }
            self.remote.upload(self.fingerprint, measurement.merkle, seal(body))
        self._keep(measurement.merkle, result, self.run)

    def _keep(self, merkle: str, result: dict[str, object], run: str | None) -> None:
        """Collect an entry for the next pack (written when enough are collected, and by
        ``flush``); this process's lookups see it at once.  ``run`` measured it."""
        if self.root is None:
            return
        packed = self._packs()
        with self._lock:
            pending = self._pending.setdefault(run, {})
            pending[merkle] = result
            packed[merkle] = (result, run)
            full = len(pending) >= PACK_ENTRIES
        if full:
            self._write_pack()

    def _write_pack(self) -> None:
        with self._lock:
            groups, self._pending = self._pending, {}
        if self.root is None:
            return
        for run, entries in groups.items():
            if not self._publish(run, entries):
                with self._lock:
                    self.write_failures += len(entries)

    def _publish(self, run: object, entries: dict[str, dict[str, object]]) -> bool:
        """Write one pack under a fresh name; whether it was written."""
        packs = PackDir(self.pack_dir, "pack")
        name = packs.new_name()
        with self._lock:
            self._packs_read.add(name)  # its entries are known here already
        return packs.write(name, {"params": self.fingerprint, "run": run, "entries": entries})

    def _packs(self) -> dict[str, tuple[dict[str, object], object]]:
        """Every entry of the packs read so far (all of them at the first call)."""
        packed = self._packed
        if packed is None:
            with self._loading:  # two threads' first lookups: one reads, both see all
                if self._packed is None:
                    fresh: dict[str, tuple[dict[str, object], object]] = {}
                    self._read_packs(fresh)
                    self._packed = fresh
            packed = self._packed
            assert packed is not None
        return packed

    def refresh(self) -> None:
        """Read the packs written since the last read (another process's, after waiting
        for its lock); merge them when there are too many."""
        with self._loading:
            self._read_packs(self._packs())

    def _read_packs(self, packed: dict[str, tuple[dict[str, object], object]]) -> None:
        if self.root is None:
            return
        packs = PackDir(self.pack_dir, "pack")
        names = packs.names()
        for name in names:
            if name in self._packs_read:
                continue
            self._packs_read.add(name)
            body = packs.read(name)
            entries = None if body is None else body.get("entries")
            if (
                body is None
                or body.get("params") != self.fingerprint
                or not isinstance(entries, dict)
            ):
                continue  # damaged or foreign: its blobs are measured again
            run = body.get("run")
            for merkle, result in entries.items():
                if isinstance(result, dict):
                    packed.setdefault(merkle, (result, run))
        if len(names) > PACK_MERGE_AT:
            packs.merge(names, lambda: self._republish(packed))

    def _republish(self, packed: dict[str, tuple[dict[str, object], object]]) -> bool:
        """Every entry read, as one pack per run (which the counts of reused blobs need)."""
        by_run: dict[object, dict[str, dict[str, object]]] = {}
        with self._lock:
            for merkle, (result, run) in packed.items():
                by_run.setdefault(run, {})[merkle] = result
        return all([self._publish(run, entries) for run, entries in by_run.items()])

    @property
    def remote_enabled(self) -> bool:
        return self.remote is not None and self.remote.enabled

    def prefetch(self, merkles: Iterable[str | None]) -> None:
        """Fetch from the remote the entries of ``merkles`` that this cache lacks.

        A local entry is only checked for existence here (one ``stat``): a damaged one is
        found by ``get`` and measured again, as without a remote.  Every fetched entry is
        unsealed and checked like a local one; a damaged or foreign entry is counted as
        rejected and the blob is measured (and the measurement uploaded over it).
        """
        remote = self.remote
        if remote is None or not remote.enabled:
            return
        wanted: list[str] = []
        for merkle in merkles:
            if merkle is None:
                continue
            merkle = merkle.lower()
            if merkle in self._fetched:
                continue
            if self.root is not None and (
                merkle in self._packs() or os.path.isfile(self.entry_path(merkle))
            ):
                continue
            wanted.append(merkle)
        for merkle, raw in remote.fetch_many(self.fingerprint, wanted).items():
            found = self._validate(merkle, raw)
            if found is None:
                remote.reject()
                continue
            remote.accept()
            self._fetched[merkle] = found
            self._keep(merkle, found.to_dict(), None)  # not measured by this run

    def flush(self) -> None:
        """Write the entries collected for a pack, and wait for uploads to the remote."""
        self._write_pack()
        if self.remote is not None:
            self.remote.flush()


__all__ = [
    "CACHE_FORMAT",
    "DEFAULT_RACY_SECONDS",
    "PACK_ENTRIES",
    "PACK_MERGE_AT",
    "BlobCache",
    "StatIndex",
    "params_fingerprint",
    "read_entry",
    "seal",
    "unseal",
    "write_atomically",
]
