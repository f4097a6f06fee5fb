"""Bounding the memory compression takes, whatever the size of the blob.

Two things grow with a blob.  Blobfs's chunk is 32 KiB up to 32 MiB blobs and about
``n / 1023`` above.  The level-14 zstd context that compresses a chunk is sized from the
chunk's length: 0.9 MiB for 32 KiB, 16 MiB for 520 KiB, 48 MiB from 2 MiB on, where
level 14's window (2^22) stops it.  The context's parameters decide the compressed bytes,
so it cannot be made smaller, and the chunk must be compressed in one call (streaming it
in pieces gives other bytes: ``test_memory`` shows it).  What can be bounded is how many
contexts exist at once and how many chunk bytes wait for one:

- ``CompressorPool`` lends compressors keyed by the context they need.  It creates one
  only while the live contexts (lent or idle) and the output buffers of compressions
  under way fit the budget, drops idle ones to make room, and otherwise makes the
  borrower wait its turn.  One context is always allowed, so a chunk whose context alone
  exceeds the budget still goes, alone.
- ``ByteBudget`` is a first-come, first-served weighted semaphore for the bytes read but
  not yet compressed.

Both are plain threading; a pool is shared by every thread that compresses in a process.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Final

import zstandard

ZSTD_LEVEL: Final = 14
DEFAULT_COMPRESSION_MEMORY: Final = 64 << 20
_ZSTD_BLOCK: Final = 128 << 10


def compress_bound(length: int) -> int:
    """libzstd's ``ZSTD_COMPRESSBOUND``: the output buffer one-shot compression allocates."""
    small = (_ZSTD_BLOCK - length) >> 11 if length < _ZSTD_BLOCK else 0
    return length + (length >> 8) + small


@lru_cache(maxsize=1024)
def context_bytes(length: int) -> int:
    """libzstd's estimate of the level-14 context for parameters chosen from ``length``.

    Lengths that get the same parameters get the same estimate, so it also keys the pool:
    a compressor is only reused for chunks whose context it already has.
    """
    params = zstandard.ZstdCompressionParameters.from_level(ZSTD_LEVEL, source_size=length)
    return int(params.estimated_compression_context_size())


def new_compressor() -> zstandard.ZstdCompressor:
    # The ZSTD_compress2 defaults blobfs uses: no checksum, content size in the header.
    return zstandard.ZstdCompressor(level=ZSTD_LEVEL, write_checksum=False, write_content_size=True)


class CompressorPool:
    """Level-14 compressors, lent one thread at a time, within a memory budget, and to at
    most ``concurrency`` threads at once.

    The engine's readers compress small blobs themselves while its compression threads
    take the batches of large ones: without the bound, three or four compressions ran at
    once on two cores, and the time slicing between them cost about a fifth more CPU for
    the same output (each level-14 context's tables evicted the other's from the CPU
    caches; docs/performance.md).
    """

    def __init__(
        self, budget_bytes: int = DEFAULT_COMPRESSION_MEMORY, *, concurrency: int | None = None
    ) -> None:
        if budget_bytes < 0:
            raise ValueError(f"compression memory budget must not be negative: {budget_bytes}")
        self.budget_bytes = budget_bytes
        self._slots = None if concurrency is None else threading.Semaphore(max(1, concurrency))
        self._mine = threading.local()
        self._cond = threading.Condition()
        self._idle: dict[int, list[zstandard.ZstdCompressor]] = {}
        self._live = 0  # context bytes of every compressor that exists, lent or idle
        self._output = 0  # output buffers of the compressions under way
        self._queue: deque[tuple[object, int]] = deque()  # borrowers waiting to create one
        self.created = 0
        self.peak_bytes = 0  # the most ever held at once: for tests and benchmarks

    @property
    def live_bytes(self) -> int:
        """Contexts alive (lent or idle) and output buffers in use."""
        with self._cond:
            return self._live + self._output

    @contextmanager
    def borrow(self, length: int) -> Iterator[zstandard.ZstdCompressor]:
        """A compressor for one ``length``-byte compression; back to the pool afterwards."""
        cost, output = context_bytes(length), compress_bound(length)
        slots = self._slots
        if slots is not None:
            slots.acquire()
        try:
            compressor = self._take(cost, output)
            try:
                yield compressor
            finally:
                self._give_back(cost, output, compressor)
        finally:
            if slots is not None:
                slots.release()

    def _take(self, cost: int, output: int) -> zstandard.ZstdCompressor:
        me = object()
        with self._cond:
            try:
                while True:
                    idle = self._idle.get(cost)
                    if idle:
                        self._use_output(output)
                        # The one this thread used last, if idle: its tables are still
                        # in this core's cache.
                        # (Its id, not itself: a thread must not keep an evicted one alive.)
                        last = getattr(self._mine, "last", None)
                        for i, compressor in enumerate(idle):
                            if id(compressor) == last:
                                return idle.pop(i)
                        return idle.pop()
                    if not self._queue or self._queue[0][0] is me:
                        self._evict(cost + output)
                        used = self._live + self._output
                        if used == 0 or used + cost + output <= self.budget_bytes:
                            self._live += cost
                            self._use_output(output)
                            self.created += 1
                            break
                    if not any(entry is me for entry, _ in self._queue):
                        self._queue.append((me, cost))
                    self._cond.wait()
            finally:
                # Whether served, reusing an idle one, or interrupted: leave the queue so
                # that the next borrower may create.
                if self._queue and any(entry is me for entry, _ in self._queue):
                    self._queue = deque(item for item in self._queue if item[0] is not me)
                    self._cond.notify_all()
        return new_compressor()

    def _use_output(self, output: int) -> None:
        self._output += output
        self.peak_bytes = max(self.peak_bytes, self._live + self._output)

    def _evict(self, needed: int) -> None:
        """Drop idle compressors, largest contexts first, until ``needed`` more bytes fit."""
        for size in sorted(self._idle, reverse=True):
            idle = self._idle[size]
            while idle and self._live + self._output + needed > self.budget_bytes:
                idle.pop()
                self._live -= size

    def _give_back(self, cost: int, output: int, compressor: zstandard.ZstdCompressor) -> None:
        self._mine.last = id(compressor)
        with self._cond:
            self._output -= output
            if self._queue and self._queue[0][1] != cost:
                # Someone waits for room: free this context now rather than keep it idle,
                # so that a stream of small compressions cannot starve a big one.
                self._live -= cost
            else:
                self._idle.setdefault(cost, []).append(compressor)
            self._cond.notify_all()


class ByteBudget:
    """A weighted semaphore served in arrival order: ``acquire(n)`` waits until ``n`` more
    bytes fit under ``limit``.  A request waits only while others hold bytes, so one larger
    than the limit still goes, alone.  (Its reader has read and hashed it before asking,
    so reading the next piece still overlaps compressing this one.)"""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._cond = threading.Condition()
        self._used = 0
        self._held = 0
        self._next = 0  # the ticket the next arrival gets
        self._serving = 0  # the ticket whose turn it is
        self._abandoned: set[int] = set()
        self.peak_bytes = 0

    def _fits(self, n: int) -> bool:
        return self._held == 0 or self._used + n <= self.limit

    def acquire(self, n: int) -> None:
        with self._cond:
            ticket = self._next
            self._next += 1
            try:
                while ticket != self._serving or not self._fits(n):
                    self._cond.wait()
            except BaseException:
                # An interrupted waiter must still pass its turn on, or everyone behind it
                # would wait forever.
                self._abandoned.add(ticket)
                self._advance()
                raise
            self._used += n
            self._held += 1
            self.peak_bytes = max(self.peak_bytes, self._used)
            self._serving += 1
            self._advance()

    def _advance(self) -> None:
        while self._serving in self._abandoned:
            self._abandoned.discard(self._serving)
            self._serving += 1
        self._cond.notify_all()

    def release(self, n: int) -> None:
        with self._cond:
            self._used -= n
            self._held -= 1
            self._cond.notify_all()
