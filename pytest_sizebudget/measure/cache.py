"""Persistent caches: blob measurements by merkle root, and file identity -> merkle root.

Both live under one root directory shared by every process that measures (xdist workers,
parallel CI jobs on one machine), so:

- every write goes to a temporary file in the destination directory and is published
  with ``os.replace``: readers see the old entry or the new one, never half of one;
- every entry carries its own key and a checksum of its content, and a reader that finds
  anything else (truncated, flipped, foreign, from another parameter set) treats it as a
  miss and the caller recomputes: the cache is never trusted over the file;
- a failure to write the cache (read-only or full disk) costs speed, never correctness.

Blob entries are immutable facts about content, so concurrent writers of the same entry
write the same bytes and either may win.  New entries are written many to a file (a
"pack"), not one file per blob: on the machine this was measured on, a file per entry
cost about 1.3 ms per blob, as much as compressing the average small blob of a product
with 100,000 of them (docs/performance.md).
A process writes its own packs (named at random, published with ``os.replace``), reads
every pack once when first asked, and again after waiting for another process's lock
(``refresh``); packs are merged when there are more than ``PACK_MERGE_AT`` of them.
Entries of one blob per file (from earlier versions) are still read.

Stat-index files are per source directory and are read, merged and replaced under an
``flock`` so that concurrent writers do not drop each other's entries.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import threading
import time
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Final

from pytest_sizebudget.paths import PathProblem, read_bytes

from .blob import BlobMeasurement, FileIdentity
from .blobfs import CHUNK_RULE_VERSION
from .compress import libzstd_version
from .formats import StorageFormat
from .fxfs import FXFS_RULE_VERSION
from .memory import ZSTD_LEVEL
from .remote import RemoteCache

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: concurrent index merges may lose entries
    fcntl = None  # type: ignore[assignment]

CACHE_FORMAT: Final = 1
PACK_ENTRIES: Final = 1024  # entries a process collects before it writes them as a pack
PACK_MERGE_AT: Final = 64  # more packs than this are merged into one by the next reader
# A file changed twice within the clock's resolution can keep its size and times; files
# modified this recently are therefore not indexed (git's "racily clean" rule).
DEFAULT_RACY_SECONDS: Final = 2.0


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


def _checksum(body: dict[str, object]) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def seal(body: dict[str, object]) -> bytes:
    return json.dumps({**body, "checksum": _checksum(body)}, sort_keys=True).encode()


def unseal(raw: bytes) -> dict[str, object] | None:
    """The entry's body if it is intact JSON with a matching checksum, else ``None``."""
    try:
        entry = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(entry, dict):
        return None
    claimed = entry.pop("checksum", None)
    if claimed != _checksum(entry):
        return None
    return entry


def write_atomically(path: Path, data: bytes) -> bool:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".part")
    except OSError:
        return False
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
        return True
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        return False


def read_entry(path: Path) -> bytes | None:
    """The bytes of a cache file, or ``None`` (a miss) if it is not a readable regular
    file: a FIFO or device planted in the cache directory must not hang the run."""
    try:
        return read_bytes(path, str(path))
    except PathProblem:
        return None


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
        body: dict[str, object] = {
            "kind": "pack",
            "params": self.fingerprint,
            "run": run,
            "entries": entries,
        }
        name = f"{uuid.uuid4().hex}.pack"
        with self._lock:
            self._packs_read.add(name)  # its entries are known here already
        return write_atomically(self.pack_dir / name, seal(body))

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
        try:
            names = sorted(e.name for e in os.scandir(self.pack_dir) if e.name.endswith(".pack"))
        except OSError:
            return
        for name in names:
            if name in self._packs_read:
                continue
            self._packs_read.add(name)
            raw = read_entry(self.pack_dir / name)
            body = None if raw is None else unseal(raw)
            entries = None if body is None else body.get("entries")
            if (
                body is None
                or body.get("kind") != "pack"
                or body.get("params") != self.fingerprint
                or not isinstance(entries, dict)
            ):
                continue  # damaged or foreign: its blobs are measured again
            run = body.get("run")
            for merkle, result in entries.items():
                if isinstance(result, dict):
                    packed.setdefault(merkle, (result, run))
        if len(names) > PACK_MERGE_AT:
            self._merge(names, packed)

    def _merge(self, names: list[str], packed: dict[str, tuple[dict[str, object], object]]) -> None:
        """One pack instead of many, under a lock so that two processes do not both
        merge; a pack that a reader misses meanwhile only costs it a measurement."""
        lock = self.pack_dir / ".merge.lock"
        try:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError:
            return
        try:
            if fcntl is not None:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError:
                    return  # another process merges
            by_run: dict[object, dict[str, dict[str, object]]] = {}
            with self._lock:
                for merkle, (result, run) in packed.items():
                    by_run.setdefault(run, {})[merkle] = result
            # A pack per run, which the counts of reused blobs need.
            written = [self._publish(run, entries) for run, entries in by_run.items()]
            if all(written):
                for old in names:
                    with contextlib.suppress(OSError):
                        os.unlink(self.pack_dir / old)
        finally:
            os.close(fd)

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


class StatIndex:
    """Which merkle root a file had, keyed by its path and stat identity.

    One JSON file per source directory, loaded at most once per instance.  ``lookup`` only
    answers when size, mtime, ctime, inode and device all match what was recorded.
    """

    def __init__(self, root: Path | None, *, racy_seconds: float = DEFAULT_RACY_SECONDS) -> None:
        self.root = root
        self.racy_ns = int(racy_seconds * 1e9)
        self._lock = threading.Lock()
        self._loaded: dict[str, dict[str, list[object]]] = {}

    @property
    def enabled(self) -> bool:
        return self.root is not None

    def _shard(self, directory: str) -> tuple[Path, Path]:
        assert self.root is not None
        name = hashlib.sha256(directory.encode("utf-8", "surrogateescape")).hexdigest()[:32]
        base = self.root / name[:2]
        return base / f"{name}.json", base / f"{name}.lock"

    def _read_dir(self, directory: str) -> dict[str, list[object]]:
        raw = read_entry(self._shard(directory)[0])
        body = None if raw is None else unseal(raw)
        if body is None or body.get("kind") != "stat" or body.get("dir") != directory:
            return {}
        entries = body.get("entries")
        if not isinstance(entries, dict):
            return {}
        return {k: v for k, v in entries.items() if isinstance(v, list) and len(v) == 6}

    def _entries(self, directory: str) -> dict[str, list[object]]:
        with self._lock:
            found = self._loaded.get(directory)
        if found is None:
            found = self._read_dir(directory)
            with self._lock:
                found = self._loaded.setdefault(directory, found)
        return found

    @staticmethod
    def _split(path: Path) -> tuple[str, str]:
        directory, name = os.path.split(os.path.abspath(path))
        return directory, name

    @staticmethod
    def _record(identity: FileIdentity, merkle: str) -> list[object]:
        return [
            identity.size,
            identity.mtime_ns,
            identity.ctime_ns,
            identity.inode,
            identity.device,
            merkle,
        ]

    def lookup(self, path: Path, identity: FileIdentity) -> str | None:
        if self.root is None:
            return None
        directory, name = self._split(path)
        entry = self._entries(directory).get(name)
        if entry is None or entry[:5] != self._record(identity, "")[:5]:
            return None
        merkle = entry[5]
        return merkle if isinstance(merkle, str) and len(merkle) == 64 else None

    def record(self, items: Iterable[tuple[Path, FileIdentity, str]]) -> None:
        """Remember merkle roots of files just hashed, merging with other writers' entries."""
        if self.root is None:
            return
        now = time.time_ns()
        by_dir: dict[str, dict[str, list[object]]] = {}
        for path, identity, merkle in items:
            if now - max(identity.mtime_ns, identity.ctime_ns) < self.racy_ns:
                continue
            directory, name = self._split(path)
            by_dir.setdefault(directory, {})[name] = self._record(identity, merkle)
        for directory, fresh in by_dir.items():
            data_path, lock_path = self._shard(directory)
            with self._locked(lock_path):
                merged = self._read_dir(directory)
                merged.update(fresh)
                body: dict[str, object] = {"kind": "stat", "dir": directory, "entries": merged}
                write_atomically(data_path, seal(body))
            with self._lock:
                self._loaded[directory] = merged

    @contextlib.contextmanager
    def _locked(self, lock_path: Path) -> Iterator[None]:
        try:
            lock_path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError:
            yield  # cannot lock: still atomic, may lose a concurrent writer's entries
            return
        try:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)
