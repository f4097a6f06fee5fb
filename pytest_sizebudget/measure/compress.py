"""Chunked zstd sizing: the size of blobfs' chunked archive, without keeping its bytes.

Blobfs compresses each chunk of a blob into an independent zstd frame (level 14, no
checksum, content size written: the ``ZSTD_compress2`` defaults), so frames can be
compressed in any order and on any thread, and only their lengths need to be kept.

``ChunkedSizer`` takes the blob in pieces of any size.  Given the largest compressed size
that can still save a block (``blobfs.max_useful_compressed_size``) it stops compressing
as soon as the frames produced so far exceed it: every frame has a positive length, so
the final size can only be larger, and blobfs would store the blob uncompressed anyway.
The answer is therefore identical to compressing everything, only cheaper.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import Final

import zstandard

from .blobfs import archive_header_size, chunk_size, frame_count

ZSTD_LEVEL: Final = 14
# Below this many bytes per task the cost of a future outweighs the parallelism it buys.
BATCH_TARGET_BYTES: Final = 1 << 20

_local = threading.local()


def libzstd_version() -> str:
    return ".".join(str(part) for part in zstandard.ZSTD_VERSION)


def _compressor() -> zstandard.ZstdCompressor:
    # A ZstdCompressor holds one ZSTD_CCtx and must not be shared between threads; keeping
    # one per thread also avoids re-allocating the level-14 tables for every chunk.
    found: zstandard.ZstdCompressor | None = getattr(_local, "compressor", None)
    if found is None:
        found = zstandard.ZstdCompressor(
            level=ZSTD_LEVEL, write_checksum=False, write_content_size=True
        )
        _local.compressor = found
    return found


def frame_sizes(data: bytes | memoryview, chunk: int) -> list[int]:
    """Compressed length of each ``chunk``-sized frame of ``data`` (the last may be short)."""
    view = memoryview(data)
    compress = _compressor().compress
    return [len(compress(view[i : i + chunk])) for i in range(0, len(view), chunk)]


def chunked_compressed_size(data: bytes) -> int:
    """Size of the whole chunked archive of ``data``: header, seek table and every frame."""
    chunk = chunk_size(len(data))
    return archive_header_size(frame_count(len(data))) + sum(frame_sizes(data, chunk))


def batch_size(total_size: int) -> int:
    """Bytes per compression task: whole chunks, about 1 MiB, never less than one chunk.

    Readers that read this many bytes at a time hand each read straight to a task, with
    no copying.
    """
    chunk = chunk_size(total_size)
    return chunk * max(1, BATCH_TARGET_BYTES // chunk)


class ChunkedSizer:
    """Streaming chunked-archive size of a blob of known total size.

    ``update()`` with the blob's bytes in order (any piece sizes), then ``finish()``.  With
    an ``executor`` whole batches are compressed on it concurrently; ``submit_slot`` and
    ``release_slot`` (a semaphore's acquire and release) bound the batches in flight across
    all blobs, which bounds memory.  Without an executor everything runs inline.
    """

    def __init__(
        self,
        total_size: int,
        limit: int | None = None,
        *,
        executor: Executor | None = None,
        submit_slot: Callable[[], object] | None = None,
        release_slot: Callable[[], object] | None = None,
    ) -> None:
        self.total_size = total_size
        self.chunk = chunk_size(total_size)
        self.batch = batch_size(total_size)
        self._limit = limit
        self._executor = executor
        self._submit_slot = submit_slot
        self._release_slot = release_slot
        self._pending = bytearray()
        self._fed = 0
        self._lock = threading.Lock()
        self._produced = archive_header_size(frame_count(total_size))
        self._gave_up = False
        self._futures: list[Future[None]] = []
        self.frames_compressed = 0
        if limit is not None and self._produced > limit:
            self._gave_up = True

    @property
    def gave_up(self) -> bool:
        """True once compression was proven unable to save a block."""
        return self._gave_up

    def update(self, data: bytes | bytearray | memoryview) -> None:
        self._fed += len(data)
        if self._fed > self.total_size:
            raise ValueError(f"ChunkedSizer got {self._fed} bytes, expected {self.total_size}")
        if self._gave_up:
            return
        if not self._pending and len(data) == self.batch and isinstance(data, bytes):
            self._dispatch(data)
            return
        view = memoryview(data).cast("B")
        start = 0
        if self._pending:
            take = min(self.batch - len(self._pending), len(view))
            self._pending += view[:take]
            start = take
            if len(self._pending) < self.batch:
                return
            self._dispatch(bytes(self._pending))
            self._pending = bytearray()
        while len(view) - start >= self.batch:
            self._dispatch(bytes(view[start : start + self.batch]))
            start += self.batch
        self._pending += view[start:]

    def _dispatch(self, data: bytes) -> None:
        if self._gave_up:
            return
        if self._executor is None:
            self._compress_batch(data)
            return
        if self._submit_slot is not None:
            self._submit_slot()
        future = self._executor.submit(self._compress_batch, data)
        future.add_done_callback(self._done)
        self._futures.append(future)

    def _done(self, future: Future[None]) -> None:
        if self._release_slot is not None:
            self._release_slot()

    def _compress_batch(self, data: bytes) -> None:
        # The limit is checked after every frame, not every batch, so that the proof that
        # compression cannot pay stops work on the other threads' batches too.
        view = memoryview(data)
        compress = _compressor().compress
        for start in range(0, len(view), self.chunk):
            if self._gave_up:
                return
            produced = len(compress(view[start : start + self.chunk]))
            with self._lock:
                self.frames_compressed += 1
                self._produced += produced
                if self._limit is not None and self._produced > self._limit:
                    self._gave_up = True

    def finish(self) -> int | None:
        """The archive size, or ``None`` when compression cannot save a block."""
        if self._fed != self.total_size:
            raise ValueError(f"ChunkedSizer got {self._fed} bytes, expected {self.total_size}")
        if self._pending and not self._gave_up:
            self._dispatch(bytes(self._pending))
        self._pending = bytearray()
        for future in self._futures:
            future.result()  # re-raises a failure inside libzstd
        self._futures.clear()
        return None if self._gave_up else self._produced

    def abandon(self) -> None:
        """Stop early (the read failed): let in-flight batches skip their remaining chunks."""
        self._gave_up = True
        for future in self._futures:
            future.cancel()
