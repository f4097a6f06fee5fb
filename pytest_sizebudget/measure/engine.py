"""The measurement engine: many blob requests in, one answer (or error) per request out.

Cost is driven by level-14 zstd, so the engine's job is to compress as little as possible
and to keep every core busy when it must:

1. requests whose manifest gives a merkle root are answered from the cache without
   reading the file, once one ``stat`` shows that it still has the cached blob's length
   (a file of another length cannot be that blob, and a cold run would say so);
2. other files are stat'ed; the stat index turns unchanged files into merkle roots, and
   those into cache hits, still without reading;
3. files that may share content (same size, above the compression threshold) are hashed
   first, so each distinct blob is compressed exactly once;
4. the rest is read once each, by reader threads that hash and hand whole chunk batches
   to a compression pool (libzstd releases the GIL); a cap on the bytes in flight and a
   budget for the level-14 contexts (``memory``) bound memory whatever the blob sizes.
"""

from __future__ import annotations

import os
import queue
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from pytest_sizebudget.errors import MeasurementError

from .blob import (
    BlobMeasurement,
    FileIdentity,
    check_expected_merkle,
    check_expected_size,
    has_size,
    hash_file,
    measure_file,
    stat_blob,
)
from .blobfs import COMPRESSION_THRESHOLD, TARGET_CHUNK_SIZE
from .cache import BlobCache
from .compress import BATCH_TARGET_BYTES
from .formats import StorageFormat, check_format
from .memory import ByteBudget, CompressorPool
from .requests import BlobRequest, EngineStats
from .small_blobs import SMALL_BLOB_BYTES, ReadBlob, measure_in_batches, read_blob
from .small_blobs import measured as measured_blob

# The request and stats types are defined in .requests and still importable from here.
__all__ = ["BlobRequest", "EngineStats", "MeasurementEngine", "ProgressCallback"]

_T = TypeVar("_T")
_END: Any = object()
# Futures per thread submitted ahead of completion: enough to keep every thread fed.
_SUBMIT_AHEAD = 4

ProgressCallback = Callable[[int, int, int, int], object]
"""``progress(blobs_done, blobs_total, bytes_done, bytes_total)``, called on the caller's
thread of ``measure()``/``hash_only()``, at most every ``progress_interval`` seconds and
once at the end."""


@dataclass(slots=True)
class _Counters:
    lock: threading.Lock = field(default_factory=threading.Lock)
    blobs_done: int = 0
    blobs_total: int = 0
    bytes_done: int = 0
    bytes_total: int = 0
    cache_hits: int = 0
    stat_index_hits: int = 0
    files_hashed: int = 0
    files_measured: int = 0
    blobs_compressed: int = 0
    reused: int = 0

    def add_bytes(self, piece: bytes) -> None:
        with self.lock:
            self.bytes_done += len(piece)


@dataclass(slots=True)
class _PathState:
    """What is known about one source path during a call."""

    path: Path
    requests: list[BlobRequest]
    identity: FileIdentity | None = None
    merkle: str | None = None
    result: BlobMeasurement | MeasurementError | None = None
    # True when this call computed the merkle from the file: only then is it worth
    # writing to the stat index.
    hashed: bool = False

    @property
    def weight(self) -> int:
        """How many answers resolving this path settles (a hash_only path has no request)."""
        return len(self.requests) or 1


class MeasurementEngine:
    """Measures blob files for one storage format (a blobfs layout, or Fxfs).  Safe to
    reuse, not to share between threads concurrently."""

    def __init__(
        self,
        layout: StorageFormat | str = "compact",
        cache: BlobCache | None = None,
        threads: int | None = None,
        progress: ProgressCallback | None = None,
        *,
        progress_interval: float = 0.25,
        compressors: CompressorPool | None = None,
    ) -> None:
        self.layout: StorageFormat = check_format(layout)
        self.cache = cache if cache is not None else BlobCache(None, self.layout)
        if self.cache.layout != self.layout:
            raise ValueError(
                f"cache is for layout {self.cache.layout!r}, engine for {self.layout!r}"
            )
        self.threads = max(1, threads if threads is not None else (os.cpu_count() or 1))
        self.compressors = (
            compressors if compressors is not None else CompressorPool(concurrency=self.threads)
        )
        self.progress = progress
        self.progress_interval = progress_interval
        self.last_stats = EngineStats()
        self._last_report = 0.0
        self._delivery = False  # this call also wants delivery-blob sizes

    # -- public entry points ---------------------------------------------------------

    def measure(
        self, requests: Sequence[BlobRequest], *, delivery: bool = False
    ) -> dict[BlobRequest, BlobMeasurement | MeasurementError]:
        """One answer per request; with ``delivery`` every answer has ``delivery_bytes``
        (a cached answer without it is measured again)."""
        self._delivery = delivery
        try:
            return self._measure(requests)
        finally:
            self._delivery = False

    def _usable(self, hit: BlobMeasurement | None) -> BlobMeasurement | None:
        if hit is None or (self._delivery and hit.delivery_bytes is None):
            return None
        return hit

    def _measure(
        self, requests: Sequence[BlobRequest]
    ) -> dict[BlobRequest, BlobMeasurement | MeasurementError]:
        unique = list(dict.fromkeys(requests))
        counters = _Counters(blobs_total=len(unique))
        answers: dict[BlobRequest, BlobMeasurement | MeasurementError] = {}

        by_path: dict[str, _PathState] = {}
        # A remote cache is asked for every claimed merkle at once, not one at a time.
        self.cache.prefetch(r.expected_merkle for r in unique if not r.verify)
        for request in unique:
            if request.expected_merkle is not None and not request.verify:
                hit = self._usable(self.cache.get(request.expected_merkle))
                # One stat: a file that no longer has the blob's length is measured like
                # any other, so a warm run gives the error a cold run gives.
                if hit is not None and has_size(request.source, hit.file_size):
                    self._count_hit(counters, hit.merkle)
                    counters.blobs_done += 1
                    answers[request] = _check_request(request, hit)
                    continue
            key = os.path.abspath(request.source)
            by_path.setdefault(key, _PathState(request.source, [])).requests.append(request)
        self._report(counters, force=False)

        states = list(by_path.values())
        self._resolve_from_index(states, counters)
        if self.cache.remote_enabled:
            self.cache.prefetch(s.merkle for s in states if s.result is None)
            self._resolve_from_cache(states, counters)
            # Content another machine may have measured is named before it is compressed.
            to_hash = self._unknown_content(states)
        else:
            to_hash = self._possible_duplicates(states)
        with ThreadPoolExecutor(self.threads, thread_name_prefix="sizebudget-zstd") as pool:
            if to_hash:
                self._hash_states(to_hash, counters)
                self.cache.prefetch(s.merkle for s in to_hash if s.result is None)
                self._resolve_from_cache(to_hash, counters)
            groups = self._groups(states)
            with counters.lock:
                counters.bytes_total += sum(
                    g[0].identity.size for g in groups if g[0].identity is not None
                )
            self._measure_groups(groups, pool, counters)

        for state in states:
            assert state.result is not None
            for request in state.requests:
                answers[request] = _check_request(request, state.result)
        self._record_hashed(states)
        self.cache.flush()
        self._report(counters, force=True)
        self.last_stats = self._stats(len(unique), counters)
        return {request: answers[request] for request in requests}

    def hash_only(self, paths: Iterable[Path]) -> dict[Path, str | MeasurementError]:
        """Merkle roots of files (directory packages), via the stat index where possible."""
        ordered = list(dict.fromkeys(paths))
        counters = _Counters(blobs_total=len(ordered))
        states = [_PathState(path, []) for path in ordered]
        self._resolve_from_index(states, counters)
        self._hash_states([s for s in states if s.result is None], counters)
        self._record_hashed(states)
        self._report(counters, force=True)
        self.last_stats = self._stats(len(ordered), counters)
        out: dict[Path, str | MeasurementError] = {}
        for state in states:
            if isinstance(state.result, MeasurementError):
                out[state.path] = state.result
            else:
                assert state.merkle is not None
                out[state.path] = state.merkle
        return out

    # -- phases ----------------------------------------------------------------------

    def _resolve_from_index(self, states: list[_PathState], counters: _Counters) -> None:
        for state in states:
            try:
                state.identity = stat_blob(state.path)
            except MeasurementError as error:
                state.result = error
                counters.blobs_done += state.weight
                continue
            state.merkle = self.cache.stat_index.lookup(state.path, state.identity)
            if state.merkle is None:
                continue
            counters.stat_index_hits += 1
            if not state.requests:  # hash_only: the merkle is the whole answer
                counters.blobs_done += 1
                continue
            hit = self._usable(self.cache.get(state.merkle))
            if hit is not None:
                self._count_hit(counters, state.merkle)
                counters.blobs_done += state.weight
                state.result = hit

    def _resolve_from_cache(self, states: list[_PathState], counters: _Counters) -> None:
        for state in states:
            if state.result is None and state.merkle is not None:
                hit = self._usable(self.cache.get(state.merkle))
                if hit is not None:
                    self._count_hit(counters, state.merkle)
                    counters.blobs_done += state.weight
                    state.result = hit

    def _count_hit(self, counters: _Counters, merkle: str) -> None:
        """A cache hit, or a blob that this run measured already (``reused``)."""
        if merkle.lower() in self.cache.this_run:
            counters.reused += 1
        else:
            counters.cache_hits += 1

    def _record_hashed(self, states: list[_PathState]) -> None:
        # A file asked for only under a claimed merkle is answered by that merkle (the
        # cache, one stat): an index entry would never be read, and writing it was
        # serial work at the end of the call (tens of µs per file, the cores idle).
        self.cache.stat_index.record(
            (s.path, s.identity, s.merkle)
            for s in states
            if s.hashed
            and s.identity is not None
            and s.merkle is not None
            and (not s.requests or any(r.expected_merkle is None or r.verify for r in s.requests))
        )

    @staticmethod
    def _possible_duplicates(states: list[_PathState]) -> list[_PathState]:
        """Unresolved paths of unknown content that share a size with another unresolved
        path: only these can hold the same blob as another request unnoticed."""
        open_states = [s for s in states if s.result is None and s.identity is not None]
        sizes: dict[int, int] = {}
        for state in open_states:
            assert state.identity is not None
            sizes[state.identity.size] = sizes.get(state.identity.size, 0) + 1
        return [
            s
            for s in open_states
            if s.merkle is None
            and s.identity is not None
            and s.identity.size > COMPRESSION_THRESHOLD
            and sizes[s.identity.size] > 1
        ]

    @staticmethod
    def _unknown_content(states: list[_PathState]) -> list[_PathState]:
        """Unresolved paths that would be compressed and that no merkle claim named to
        the remote yet (a claimed merkle was asked for before any file was read)."""
        return [
            s
            for s in states
            if s.result is None
            and s.merkle is None
            and s.identity is not None
            and s.identity.size > COMPRESSION_THRESHOLD
            and any(r.expected_merkle is None or r.verify for r in s.requests)
        ]

    def _hash_states(self, states: list[_PathState], counters: _Counters) -> None:
        todo = [s for s in states if s.result is None and s.merkle is None]
        if not todo:
            self._report(counters, force=False)
            return
        with counters.lock:
            counters.bytes_total += sum(s.identity.size for s in todo if s.identity)

        def run(state: _PathState) -> None:
            try:
                state.merkle, state.identity = hash_file(state.path)
                state.hashed = True
            except MeasurementError as error:
                state.result = error
            with counters.lock:
                counters.files_hashed += 1
                if state.identity is not None:
                    counters.bytes_done += state.identity.size
                if state.result is not None or not state.requests:
                    counters.blobs_done += state.weight

        with ThreadPoolExecutor(self.threads, thread_name_prefix="sizebudget-hash") as readers:
            self._drain(readers, run, todo, counters)

    @staticmethod
    def _groups(states: list[_PathState]) -> list[list[_PathState]]:
        """Unresolved paths grouped by known merkle; a path of unknown content is alone."""
        groups: dict[str, list[_PathState]] = {}
        for state in states:
            if state.result is not None:
                continue
            key = f"m:{state.merkle}" if state.merkle is not None else f"p:{id(state)}"
            groups.setdefault(key, []).append(state)
        return list(groups.values())

    def _measure_groups(
        self, groups: list[list[_PathState]], pool: ThreadPoolExecutor, counters: _Counters
    ) -> None:
        if not groups:
            return
        # Two batches per compression thread keep the pool busy while readers hash; the
        # cap is global so memory stays bounded however many big blobs are read at once.
        in_flight = ByteBudget((2 * self.threads + 2) * BATCH_TARGET_BYTES)

        def run(group: list[_PathState]) -> None:
            self._measure_group(group, pool, in_flight, counters)

        small = [g for g in groups if _is_small(g[0])]
        large = [g for g in groups if not _is_small(g[0])]
        with (
            ThreadPoolExecutor(self.threads, thread_name_prefix="sizebudget-read") as readers,
            ThreadPoolExecutor(1, thread_name_prefix="sizebudget-large") as side,
        ):
            if not small:
                self._drain(readers, run, large, counters)
                return
            # Large blobs are read on other threads while this one reads the small ones:
            # every compression takes one of the pool's slots, so the cores stay busy to
            # the end of both without more compressions under way than cores.
            quiet = lambda: None  # noqa: E731  (progress is this thread's to report)
            rest = side.submit(self._drain, readers, run, large, counters, quiet)
            self._measure_small(small, run, counters)
            while True:
                try:
                    rest.result(timeout=self.progress_interval)
                    return
                except TimeoutError:
                    self._report(counters, force=False)

    def _measure_group(
        self,
        group: list[_PathState],
        pool: ThreadPoolExecutor,
        in_flight: ByteBudget,
        counters: _Counters,
    ) -> None:
        """Measure a group's first file (its chunk batches compressed on ``pool``)."""
        head = group[0]
        try:
            measured, identity = measure_file(
                head.path,
                self.layout,
                executor=pool,
                in_flight=in_flight,
                pool=self.compressors,
                on_bytes=counters.add_bytes,
                delivery=self._delivery,
            )
            _check_unchanged(head, measured.merkle)
        except MeasurementError as error:
            again = lambda g: self._measure_group(g, pool, in_flight, counters)  # noqa: E731
            self._failed(group, error, again, counters)
            return
        self._settle(group, measured, identity, counters)

    def _measure_small(
        self,
        groups: list[list[_PathState]],
        alone: Callable[[list[_PathState]], None],
        counters: _Counters,
    ) -> None:
        """Small blobs, in batches whose chunks libzstd compresses on all cores
        (``small_blobs``); ``alone`` measures a file on its own."""

        def read(group: list[_PathState]) -> ReadBlob | None:
            head = group[0]
            try:
                blob = read_blob(
                    head.path, self.layout, delivery=self._delivery, on_bytes=counters.add_bytes
                )
                _check_unchanged(head, blob.merkle)
            except MeasurementError as error:
                self._failed(group, error, alone, counters)
                return None
            return blob

        def finish(group: list[_PathState], blob: ReadBlob, frames: list[int] | None) -> None:
            measured = measured_blob(blob, frames, self.layout, delivery=self._delivery)
            self._settle(group, measured, blob.identity, counters)
            self._report(counters, force=False)

        measure_in_batches(
            groups,
            read,
            finish,
            threads=self.threads,
            idle=lambda: self._report(counters, force=False),
            interval=self.progress_interval,
            total_bytes=sum(g[0].identity.size for g in groups if g[0].identity is not None),
            lend=lambda: self.compressors.borrow(TARGET_CHUNK_SIZE),
        )

    @staticmethod
    def _failed(
        group: list[_PathState],
        error: MeasurementError,
        alone: Callable[[list[_PathState]], None],
        counters: _Counters,
    ) -> None:
        # Other members of the group are separate files: measure them on their own.
        group[0].result = error
        with counters.lock:
            counters.blobs_done += group[0].weight
        for other in group[1:]:
            alone([other])

    def _settle(
        self,
        group: list[_PathState],
        measured: BlobMeasurement,
        identity: FileIdentity,
        counters: _Counters,
    ) -> None:
        """Every member of the group has the head's measurement."""
        self.cache.put(measured)
        with counters.lock:
            counters.files_measured += 1
            counters.blobs_compressed += measured.file_size > COMPRESSION_THRESHOLD
            counters.blobs_done += sum(state.weight for state in group)
        head = group[0]
        head.identity = identity
        head.hashed = True
        for state in group:
            state.merkle = measured.merkle
            state.result = measured

    # -- progress and bookkeeping ------------------------------------------------------

    def _drain(
        self,
        pool: ThreadPoolExecutor,
        run: Callable[[_T], None],
        items: Iterable[_T],
        counters: _Counters,
        report: Callable[[], None] | None = None,
    ) -> None:
        """``run`` on every item in ``pool``; O(1) work per completion, bounded submission.

        Completions arrive on a queue (a done-callback puts each future there), so the
        caller's thread never walks the set of pending futures: ``wait(pending,
        FIRST_COMPLETED)`` after every completion costs O(pending) and made draining n
        files O(n^2).  At most ``_SUBMIT_AHEAD`` futures per thread exist at once, so a
        million files never sit in memory as futures.  ``report`` replaces the progress
        report (on another thread than ``measure()``'s caller, there is none).
        """
        if report is None:
            report = lambda: self._report(counters, force=False)  # noqa: E731
        done: queue.SimpleQueue[Future[None]] = queue.SimpleQueue()
        limit = _SUBMIT_AHEAD * max(self.threads, 1)
        todo = iter(items)
        in_flight = 0
        more = True
        while True:
            while more and in_flight < limit:
                item = next(todo, _END)
                if item is _END:
                    more = False
                    break
                pool.submit(run, item).add_done_callback(done.put)
                in_flight += 1
            if not in_flight:
                return
            try:
                future = done.get(timeout=self.progress_interval)
            except queue.Empty:
                report()
                continue
            in_flight -= 1
            future.result()  # a bug, not a measurement error: let it surface
            report()

    def _report(self, counters: _Counters, *, force: bool) -> None:
        if self.progress is None:
            return
        now = time.monotonic()
        if not force and now - self._last_report < self.progress_interval:
            return
        self._last_report = now
        with counters.lock:
            snapshot = (
                counters.blobs_done,
                counters.blobs_total,
                counters.bytes_done,
                counters.bytes_total,
            )
        self.progress(*snapshot)

    @staticmethod
    def _stats(requests: int, counters: _Counters) -> EngineStats:
        return EngineStats(
            requests=requests,
            cache_hits=counters.cache_hits,
            stat_index_hits=counters.stat_index_hits,
            files_hashed=counters.files_hashed,
            files_measured=counters.files_measured,
            blobs_compressed=counters.blobs_compressed,
            bytes_read=counters.bytes_done,
            reused=counters.reused,
        )


def _is_small(head: _PathState) -> bool:
    return head.identity is not None and head.identity.size <= SMALL_BLOB_BYTES


def _check_unchanged(head: _PathState, merkle: str) -> None:
    """A file hashed earlier in the call must still hold what it held then."""
    if head.merkle is not None and merkle != head.merkle:
        raise MeasurementError(
            f"blob {head.path}: file changed while being measured "
            f"(merkle root {head.merkle} before, {merkle} now)"
        )


def _check_request(
    request: BlobRequest, outcome: BlobMeasurement | MeasurementError
) -> BlobMeasurement | MeasurementError:
    """The per-request checks that a shared measurement cannot make once for everyone."""
    if isinstance(outcome, MeasurementError):
        return outcome
    try:
        check_expected_size(request.source, outcome.file_size, request.expected_size)
        check_expected_merkle(request.source, outcome.merkle, request.expected_merkle)
    except MeasurementError as error:
        return error
    return outcome
