"""``BlobSizer``, the one interface budget kinds measure through, and ``EngineSizer``,
its implementation over the measurement engine (pytest-free).

``EngineSizer`` answers, for blobs that no blobs.json sizes, what blobfs would store:
one ``MeasurementEngine`` per blobfs layout, all sharing one cache directory.  It also
hashes directory packages (through the engine's stat index) and, with ``verify``,
checks that manifest blobs have the merkle roots their manifests claim.

Several processes (xdist workers, parallel CI jobs) may measure the same blobs at once.
So that no blob is compressed twice, a blob that is not in the cache is only measured
while holding a per-merkle ``flock`` in the cache directory; a process that finds the
lock taken measures its other blobs first, then waits for the holder and reads the
cached answer.  Locks are only ever taken without blocking while others are held, so
processes cannot deadlock.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Protocol

from pytest_sizebudget.errors import MeasurementError

from .blob import BlobMeasurement, has_size
from .blobfs import CHUNK_RULE_VERSION
from .cache import CACHE_FORMAT, BlobCache, params_fingerprint
from .compress import libzstd_matches_fuchsia, libzstd_version, libzstd_warning
from .engine import MeasurementEngine
from .formats import StorageFormat
from .memo import EvaluationMemo
from .memory import DEFAULT_COMPRESSION_MEMORY, ZSTD_LEVEL, CompressorPool
from .remote import RemoteCache
from .requests import BlobRequest, EngineStats
from .store import read_entry, seal, unseal, write_atomically

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: workers may measure a shared blob twice
    fcntl = None  # type: ignore[assignment]

# Locks held at once while measuring one batch (each is an open file descriptor).
LOCK_BATCH = 256

ProgressSink = Callable[["Progress"], object]


@dataclass(frozen=True, slots=True)
class SizeRequest:
    """A blob that no blobs.json sizes: what is known about where its bytes are."""

    merkle: str
    source: Path | str | None  # a manifest's joined string, made a Path only if opened
    manifest_size: int | None


class BlobSizer(Protocol):
    """What budget kinds measure blobs with: the ``sizebudget_sizer`` fixture's type.

    ``EngineSizer`` implements all of it; a replacement (a conftest that sizes blobs from
    elsewhere) can subclass it and override what it answers differently.
    """

    verify: bool  # --sizebudget-verify: check manifest blobs against their content

    def size_blobs(
        self, requests: Sequence[SizeRequest], layout: StorageFormat
    ) -> Mapping[str, int | str]:
        """merkle -> on-disk bytes in ``layout`` (a blobfs layout or "fxfs"), or the
        reason it has none."""
        ...

    def measure_blobs(
        self, requests: Sequence[BlobRequest], layout: StorageFormat, *, delivery: bool = False
    ) -> Mapping[BlobRequest, BlobMeasurement | MeasurementError]:
        """Full measurements: on-disk and stored data sizes, merkle root; with
        ``delivery`` also each blob's Type-1 delivery-blob size."""
        ...

    def hash_files(self, paths: Sequence[Path]) -> Mapping[Path, str | MeasurementError]:
        """Merkle roots of files (directory packages)."""
        ...

    def verify_blobs(self, requests: Sequence[SizeRequest]) -> Mapping[str, str]:
        """With ``verify``: merkle -> why the blob is not what its manifest claims."""
        ...

    def take_stats(self) -> EngineStats:
        """What was done since the last call (reports carry it from xdist workers)."""
        ...

    def evaluation_memo(self) -> EvaluationMemo | None:
        """Where kinds may keep results built on this sizer's answers for the next run,
        or ``None`` when those answers may differ next time (no cache, verification, a
        sizer that answers in its own way)."""
        ...


@dataclass(frozen=True, slots=True)
class Progress:
    """Where a long measurement is: blobs and bytes done so far, of the totals known."""

    blobs_done: int
    blobs_total: int
    bytes_done: int
    seconds: float
    bytes_total: int = 0  # bytes to read, as far as known (grows as files are stat'ed)

    @property
    def mib_per_second(self) -> float:
        return self.bytes_done / (1 << 20) / self.seconds if self.seconds > 0 else 0.0

    @property
    def eta_seconds(self) -> float | None:
        """Time left at the rate so far, when the totals are known."""
        if self.bytes_done <= 0 or self.bytes_total <= self.bytes_done or self.seconds <= 0:
            return None
        return (self.bytes_total - self.bytes_done) * self.seconds / self.bytes_done

    def describe(self) -> str:
        total = f" of {self.bytes_total / (1 << 20):,.1f}" if self.bytes_total else ""
        eta = self.eta_seconds
        left = "" if eta is None else f", about {_duration(eta)} left"
        return (
            f"sizebudget: measuring blobs: {self.blobs_done:,}/{self.blobs_total:,} done, "
            f"{self.bytes_done / (1 << 20):,.1f}{total} MiB read, "
            f"{self.mib_per_second:,.1f} MiB/s{left}"
        )


def _duration(seconds: float) -> str:
    s = round(seconds)
    return f"{s // 60} min {s % 60:02d} s" if s >= 60 else f"{s} s"


def size_parameters() -> dict[str, object]:
    """Everything besides content and layout that determines a measured size, and
    whether the libzstd in use is known to give Fuchsia's sizes (with the warning when
    it is not)."""
    out: dict[str, object] = {
        "zstd_level": ZSTD_LEVEL,
        "libzstd_version": libzstd_version(),
        "chunk_rule_version": CHUNK_RULE_VERSION,
        "libzstd_matches_fuchsia": libzstd_matches_fuchsia(),
    }
    warning = libzstd_warning()
    if warning is not None:
        out["libzstd_warning"] = warning
    return out


def add_stats(a: EngineStats, b: EngineStats) -> EngineStats:
    return EngineStats(**{f.name: getattr(a, f.name) + getattr(b, f.name) for f in fields(a)})


def describe_stats(stats: EngineStats) -> str:
    """The run's summary line; CI scripts read it, so its form stays as it is.  Blobs a
    run measured once and answered again (another budget file has them) are no cache
    hits: they are counted at the end, when there are any."""
    line = (
        f"blob measurement: {stats.files_measured:,} blobs measured "
        f"({stats.blobs_compressed:,} compressed), {stats.cache_hits:,} cache hits, "
        f"{stats.files_hashed:,} files hashed, {stats.stat_index_hits:,} stat-index hits, "
        f"{stats.bytes_read / (1 << 20):,.1f} MiB read"
    )
    if stats.reused:
        line += f", {stats.reused:,} measured earlier in this run and reused"
    return line


def describe_remote(stats: EngineStats) -> str:
    """The line under it when a remote cache is configured."""
    return (
        f"remote cache: {stats.remote_hits:,} hits, {stats.remote_uploads:,} uploaded, "
        f"{stats.remote_rejected:,} rejected (damaged or foreign, measured again)"
    )


def stats_for_report(stats: EngineStats) -> dict[str, int]:
    """The summary line's counts, under the same names, for the JSON report."""
    return {
        "blobs_measured": stats.files_measured,
        "blobs_compressed": stats.blobs_compressed,
        "cache_hits": stats.cache_hits,
        "reused": stats.reused,
        "files_hashed": stats.files_hashed,
        "stat_index_hits": stats.stat_index_hits,
        "bytes_read": stats.bytes_read,
        "remote_hits": stats.remote_hits,
        "remote_uploads": stats.remote_uploads,
        "remote_rejected": stats.remote_rejected,
    }


def default_threads(environ: Mapping[str, str] | None = None) -> int:
    """All cores, split between xdist workers so that they do not oversubscribe them."""
    env = os.environ if environ is None else environ
    try:
        workers = max(1, int(env.get("PYTEST_XDIST_WORKER_COUNT", "1")))
    except ValueError:
        workers = 1
    return max(1, (os.cpu_count() or 1) // workers)


class PackedSizes:
    """All blob sizes a layout's cache answered, in one file: a warm run reads it instead
    of thousands of entries.  Sealed like every cache entry (a damaged file is ignored,
    and the per-blob entries answer), merged under an ``flock`` when written, and only an
    accelerator: whatever it lacks is looked up in the per-blob cache."""

    def __init__(self, cache: BlobCache) -> None:
        self.path = (
            None
            if cache.root is None
            else cache.root / f"v{CACHE_FORMAT}" / "packed" / f"{cache.fingerprint}.json"
        )
        self.fingerprint = cache.fingerprint
        self.sizes: dict[str, tuple[int, int]] = self._load()  # merkle -> file, on-disk size
        self.fresh: dict[str, tuple[int, int]] = {}

    def _load(self) -> dict[str, tuple[int, int]]:
        raw = None if self.path is None else read_entry(self.path)
        body = None if raw is None else unseal(raw)
        if body is None or body.get("kind") != "packed" or body.get("params") != self.fingerprint:
            return {}
        entries = body.get("entries")
        if not isinstance(entries, dict):
            return {}
        out = {}
        for merkle, value in entries.items():
            # type(), not isinstance(): a bool is no size (and this runs per cached blob).
            if type(value) is list and len(value) == 2:
                file_size, on_disk = value
                if type(file_size) is int and type(on_disk) is int:
                    out[merkle] = (file_size, on_disk)
        return out

    def add(self, merkle: str, file_size: int, size_on_disk: int) -> None:
        if merkle not in self.sizes:
            self.sizes[merkle] = self.fresh[merkle] = (file_size, size_on_disk)

    def save(self) -> None:
        if self.path is None or not self.fresh:
            return
        lock = _lock(self.path.with_suffix(".lock"))
        try:
            merged = {**self._load(), **self.sizes}
            body: dict[str, object] = {
                "kind": "packed",
                "params": self.fingerprint,
                "entries": {m: list(v) for m, v in sorted(merged.items())},
            }
            write_atomically(self.path, seal(body))
            self.fresh = {}
        finally:
            if lock >= 0:
                os.close(lock)


class EngineSizer:
    """Sizes, hashes and verifies blobs with the measurement engine."""

    def __init__(
        self,
        cache_root: Path | None,
        *,
        threads: int | None = None,
        verify: bool = False,
        progress: ProgressSink | None = None,
        compression_memory: int = DEFAULT_COMPRESSION_MEMORY,
        remote: RemoteCache | None = None,
        run: str | None = None,
    ) -> None:
        self.cache_root = cache_root
        self.remote = remote
        self._remote_problem_taken = False
        self.run = run  # the test run's id: cache entries it writes are "reused", no hits
        self.threads = threads if threads is not None else default_threads()
        # One pool for every layout's engine: the budget and the cores are the process's.
        self.compressors = CompressorPool(compression_memory, concurrency=self.threads)
        self.verify = verify
        self.progress = progress
        self._engines: dict[str, MeasurementEngine] = {}
        self._packed: dict[str, PackedSizes] = {}
        self._measured_here: set[tuple[str, str]] = set()  # (layout, merkle) this process measured
        self._stats = EngineStats()
        self._taken = EngineStats()
        self._settled = [0, 0]
        self._expected_bytes = 0
        self._memo: EvaluationMemo | None = None
        self._locks: dict[Path, BlobLocks] = {}

    # -- engines and bookkeeping ---------------------------------------------------

    def engine(self, layout: StorageFormat) -> MeasurementEngine:
        found = self._engines.get(layout)
        if found is None:
            found = MeasurementEngine(
                layout,
                cache=BlobCache(self.cache_root, layout, remote=self.remote, run=self.run),
                threads=self.threads,
                compressors=self.compressors,
            )
            self._engines[layout] = found
        return found

    @property
    def stats(self) -> EngineStats:
        """Everything done since this sizer was made."""
        if self.remote is None:
            return self._stats
        counts = self.remote.counts
        return add_stats(
            self._stats,
            EngineStats(
                remote_hits=counts.hits,
                remote_rejected=counts.rejected,
                remote_uploads=counts.uploads,
            ),
        )

    def take_stats(self) -> EngineStats:
        """What was done since the last call (for reports carried from xdist workers)."""
        now = self.stats
        delta = EngineStats(
            **{f.name: getattr(now, f.name) - getattr(self._taken, f.name) for f in fields(now)}
        )
        self._taken = now
        return delta

    def evaluation_memo(self) -> EvaluationMemo | None:
        """The memo beside the cache, when this sizer's answers are the engine's: a
        subclass may answer otherwise, so it has none unless it overrides this."""
        if self.cache_root is None or self.verify or type(self) is not EngineSizer:
            return None
        if self._memo is None:
            self._memo = EvaluationMemo(self.cache_root, params_fingerprint, self._answered)
        return self._memo

    def _answered(self, layout: StorageFormat, merkles: Sequence[str]) -> None:
        """Blobs a remembered evaluation sized through this sizer, counted as
        ``size_blobs`` counts the cache's answers."""
        engine = self.engine(layout)
        reused = 0
        if self._measured_here or engine.cache.this_run:  # else none is this run's
            reused = sum(1 for m in merkles if self._reused(engine, m))
        hits = len(merkles) - reused
        self._count(EngineStats(requests=hits + reused, cache_hits=hits, reused=reused))

    def close(self) -> None:
        """Close the lock files (at the end of the run; a later measurement opens them
        again)."""
        for locks in self._locks.values():
            locks.close()
        self._locks.clear()

    def _reused(self, engine: MeasurementEngine, merkle: str) -> bool:
        """Whether this run measured the blob already (this process, or another worker
        whose cache entry says so): its answer is "reused", not a cache hit."""
        return (engine.layout, merkle) in self._measured_here or merkle in engine.cache.this_run

    def take_remote_problem(self) -> str | None:
        """The remote cache's one message (it failed and was turned off), once."""
        if self.remote is None or self._remote_problem_taken or self.remote.problem is None:
            return None
        self._remote_problem_taken = True
        return self.remote.problem

    def _count(self, stats: EngineStats) -> None:
        self._stats = add_stats(self._stats, stats)

    @contextlib.contextmanager
    def _progress(self, engine: MeasurementEngine, total: int) -> Iterator[None]:
        """Forward the engine's progress to the sink once a call has run for a while."""
        start = time.monotonic()
        self._settled = [0, 0]  # blobs, bytes of earlier engine calls and cache hits
        self._expected_bytes = 0

        def on_engine(
            blobs_done: int, _blobs_total: int, bytes_done: int, bytes_total: int
        ) -> None:
            if self.progress is not None:
                blobs, done = self._settled
                self.progress(
                    Progress(
                        blobs + blobs_done,
                        total,
                        done + bytes_done,
                        time.monotonic() - start,
                        max(self._expected_bytes, done + bytes_total),
                    )
                )

        engine.progress = on_engine
        try:
            yield
        finally:
            engine.progress = None

    def _expect(self, paths: Iterable[Path]) -> None:
        """The bytes this call will read, known up front so that progress has a total and
        an ETA (a stat per blob to measure: nothing beside compressing it)."""
        total = 0
        for path in paths:
            with contextlib.suppress(OSError, ValueError):  # ValueError: a NUL byte
                total += os.stat(path).st_size
        self._expected_bytes = total

    def _settle(self, stats: EngineStats) -> None:
        self._count(stats)
        self._settled[0] += stats.requests
        self._settled[1] += stats.bytes_read

    # -- BlobSizer -------------------------------------------------------------------

    def size_blobs(
        self, requests: Sequence[SizeRequest], layout: StorageFormat
    ) -> Mapping[str, int | str]:
        engine = self.engine(layout)
        out: dict[str, int | str] = {}
        sourced: dict[str, SizeRequest] = {}
        for r in requests:
            if r.source is None:
                out[r.merkle] = "the manifest gives no source_path, so it cannot be measured"
            else:
                sourced[r.merkle] = r
        todo: dict[str, BlobRequest] = {}  # only what is measured: a warm run makes none
        with self._progress(engine, len(sourced)):
            packed = self._packed.get(layout)
            if packed is None:
                packed = self._packed[layout] = PackedSizes(engine.cache)
            misses: list[str] = []
            hits = reused = 0
            for merkle, r in sourced.items():
                known = packed.sizes.get(merkle)
                if known is None:
                    hit = engine.cache.get(merkle)
                    if hit is not None:
                        known = (hit.file_size, hit.size_on_disk)
                        packed.add(merkle, *known)
                # A file that is not the blob the cache knows (it grew, shrank, went
                # missing or is a FIFO) is measured as a cold run would, and gives the
                # error a cold run gives.  One stat per cached blob, no read.
                if known is None or not has_size(r.source, known[0]):
                    misses.append(merkle)
                    assert r.source is not None
                    todo[merkle] = BlobRequest(Path(r.source), merkle, r.manifest_size)
                    continue
                out[merkle] = _answer(r.source, r.manifest_size, *known)
                if self._reused(engine, merkle):
                    reused += 1
                else:
                    hits += 1
            self._settle(EngineStats(requests=hits + reused, cache_hits=hits, reused=reused))
            if self.progress is not None:
                self._expect(todo[m].source for m in misses)
            if engine.cache.enabled and fcntl is not None:
                self._measure_locked(engine, todo, misses, out)
            else:
                self._measure(engine, [todo[m] for m in misses], out)
            self._measured_here.update((layout, m) for m in misses)
            for merkle in misses:
                measured = engine.cache.get(merkle) if engine.cache.enabled else None
                if measured is not None:
                    packed.add(merkle, measured.file_size, measured.size_on_disk)
            packed.save()
        return out

    def _measure(
        self, engine: MeasurementEngine, requests: Sequence[BlobRequest], out: dict[str, int | str]
    ) -> None:
        if not requests:
            return
        for request, outcome in engine.measure(requests).items():
            assert request.expected_merkle is not None
            out[request.expected_merkle] = (
                str(outcome) if isinstance(outcome, MeasurementError) else outcome.size_on_disk
            )
        self._settle(engine.last_stats)

    def _measure_locked(
        self,
        engine: MeasurementEngine,
        todo: Mapping[str, BlobRequest],
        misses: list[str],
        out: dict[str, int | str],
    ) -> None:
        self._under_locks(
            engine, misses, lambda held: self._measure(engine, [todo[m] for m in held], out)
        )

    def _under_locks(
        self, engine: MeasurementEngine, merkles: Sequence[str], action: Callable[[list[str]], None]
    ) -> None:
        """Run ``action`` on merkles while this process holds their locks.

        A merkle locked by another process (an xdist worker, a parallel CI job) is waited
        for and then retried; by then its answer is in the cache, which the engine reads
        first, so across processes each blob is compressed once.  Locks are only ever
        tried, never waited for while others are held, so two processes cannot deadlock.
        """
        locks = self._blob_locks(engine)
        pending = list(merkles)
        while pending:
            busy: list[str] = []
            for start in range(0, len(pending), LOCK_BATCH):
                held: list[str] = []
                try:
                    for merkle in pending[start : start + LOCK_BATCH]:
                        if locks.try_lock(merkle):
                            held.append(merkle)
                        else:
                            busy.append(merkle)
                    if held:
                        action(held)
                finally:
                    for merkle in held:
                        locks.unlock(merkle)
            for merkle in busy:  # wait for the holders, one at a time, holding nothing
                locks.wait(merkle)
            if busy:
                engine.cache.refresh()  # the holders' answers, in the packs they wrote
            pending = busy

    def _blob_locks(self, engine: MeasurementEngine) -> BlobLocks:
        assert engine.cache.root is not None
        path = engine.cache.root / f"v{CACHE_FORMAT}" / "locks" / f"{engine.cache.fingerprint}.lock"
        found = self._locks.get(path)
        if found is None:
            found = self._locks[path] = BlobLocks(path)
        return found

    # -- BlobMeasurer (product and update budgets) ---------------------------------------

    def measure_blobs(
        self, requests: Sequence[BlobRequest], layout: StorageFormat, *, delivery: bool = False
    ) -> Mapping[BlobRequest, BlobMeasurement | MeasurementError]:
        """Full measurements (on-disk and stored data sizes, and with ``delivery`` the
        delivery-blob size), under the same per-blob locks."""
        engine = self.engine(layout)
        out: dict[BlobRequest, BlobMeasurement | MeasurementError] = {}

        def measure(batch: Sequence[BlobRequest]) -> None:
            if batch:
                out.update(engine.measure(batch, delivery=delivery))
                self._settle(engine.last_stats)

        by_merkle: dict[str, list[BlobRequest]] = {}
        unnamed: list[BlobRequest] = []
        for r in requests:
            if r.expected_merkle is None:
                unnamed.append(r)  # no name to lock by until it is read
            else:
                by_merkle.setdefault(r.expected_merkle, []).append(r)
        with self._progress(engine, len(requests)):
            if self.progress is not None:
                self._expect(r.source for r in requests)
            measure(unnamed)
            if engine.cache.enabled and fcntl is not None:
                self._under_locks(
                    engine,
                    list(by_merkle),
                    lambda held: measure([r for m in held for r in by_merkle[m]]),
                )
            else:
                measure([r for rs in by_merkle.values() for r in rs])
        return out

    # -- directory packages and verification -------------------------------------------

    def hash_files(self, paths: Sequence[Path]) -> Mapping[Path, str | MeasurementError]:
        """Merkle roots of files (directory packages), via the stat index where possible."""
        engine = self.engine("compact")  # merkle roots do not depend on the layout
        with self._progress(engine, len(paths)):
            found = engine.hash_only(paths)
        self._count(engine.last_stats)
        return found

    def verify_blobs(self, requests: Sequence[SizeRequest]) -> Mapping[str, str]:
        """With ``verify``: merkle -> why the blob's content is not what its manifest claims."""
        if not self.verify:
            return {}
        problems: dict[str, str] = {}
        sources: dict[Path, list[SizeRequest]] = {}
        for r in requests:
            if r.source is None:
                problems[r.merkle] = (
                    "cannot verify: the manifest gives no source_path for this blob"
                )
            else:
                sources.setdefault(Path(r.source), []).append(r)
        for path, actual in self.hash_files(list(sources)).items():
            for r in sources[path]:
                if isinstance(actual, MeasurementError):
                    problems.setdefault(r.merkle, f"cannot verify: {actual}")
                elif actual != r.merkle:
                    problems.setdefault(
                        r.merkle,
                        f"blob {path}: merkle root is {actual} but the manifest claims {r.merkle}",
                    )
        return problems


def _answer(
    source: Path | str | None, expected_size: int | None, file_size: int, size_on_disk: int
) -> int | str:
    if expected_size is not None and file_size != expected_size:
        return f"blob {source}: file is {file_size} bytes but {expected_size} bytes were expected"
    return size_on_disk


class BlobLocks:
    """One lock per merkle, all in one file: a byte of it per merkle, locked with
    ``fcntl.lockf`` (POSIX record locks).  A lock file per merkle cost a file creation
    per blob measured (about 160 µs here, a tenth of compressing a small blob); this is
    one system call.  Merkles are spread over 2**48 bytes by their first 12 hex digits:
    two that share them only wait for each other.  The file stays open for the process's
    life: closing any descriptor of it would drop the process's record locks.  Where it
    cannot be opened or locked (no ``fcntl``, a file system without locks), nothing is
    locked and processes may measure a shared blob twice."""

    def __init__(self, path: Path) -> None:
        self.fd = _open_lock(path)

    @staticmethod
    def _offset(merkle: str) -> int:
        return int(merkle[:12], 16)

    def try_lock(self, merkle: str) -> bool:
        """Whether this process now holds ``merkle`` (or cannot lock at all); ``False``
        when another process holds it."""
        if self.fd < 0:
            return True
        try:
            fcntl.lockf(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, self._offset(merkle))
        except (BlockingIOError, PermissionError):
            return False
        except (OSError, AttributeError):  # AttributeError: no fcntl on this system
            self.fd = -1  # nothing can be locked: measure unlocked from now on
            return True
        return True

    def unlock(self, merkle: str) -> None:
        if self.fd >= 0:
            with contextlib.suppress(OSError, AttributeError):
                fcntl.lockf(self.fd, fcntl.LOCK_UN, 1, self._offset(merkle))

    def close(self) -> None:
        if self.fd >= 0:
            with contextlib.suppress(OSError):
                os.close(self.fd)
            self.fd = -1

    def wait(self, merkle: str) -> None:
        """Until the process holding ``merkle`` lets go of it (then let go at once)."""
        if self.fd < 0:
            return
        try:
            fcntl.lockf(self.fd, fcntl.LOCK_EX, 1, self._offset(merkle))
        except (OSError, AttributeError):
            return
        self.unlock(merkle)


def _open_lock(path: Path) -> int:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError:
        return -1


def _lock(path: Path) -> int:
    fd = _open_lock(path)
    if fd >= 0:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
        except (OSError, AttributeError):  # AttributeError: no fcntl on this system
            os.close(fd)
            return -1
    return fd
