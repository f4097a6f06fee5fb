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
from concurrent.futures import Executor, Future
from typing import Final

import zstandard

from .blobfs import archive_header_size, chunk_size, frame_count
from .memory import ByteBudget, CompressorPool

# Below this many bytes per task the cost of a future outweighs the parallelism it buys.
BATCH_TARGET_BYTES: Final = 1 << 20

# For callers that bring no pool: one per process, so its budget holds process-wide.
_DEFAULT_POOL: Final = CompressorPool()


# libzstd versions whose level-14 output is known to be Fuchsia's: Fuchsia builds 1.5.7
# (third_party/zstd/README.fuchsia); 1.5.6 gives the same bytes, 1.5.5 does not (252 of
# 397 real files differ in bytes, 6 in blocks).  zstandard 0.23 bundles 1.5.6, 0.24 and
# 0.25 bundle 1.5.7; a build against a system libzstd may use another.
FUCHSIA_LIBZSTD_VERSIONS: Final = ("1.5.6", "1.5.7")


def libzstd_version() -> str:
    return ".".join(str(part) for part in zstandard.ZSTD_VERSION)


def libzstd_matches_fuchsia(version: str | None = None) -> bool:
    """Whether the libzstd in use (or ``version``) compresses exactly as Fuchsia's."""
    return (libzstd_version() if version is None else version) in FUCHSIA_LIBZSTD_VERSIONS


def libzstd_warning(version: str | None = None) -> str | None:
    """What to tell the user when measured sizes may not be Fuchsia's, else ``None``."""
    version = libzstd_version() if version is None else version
    if libzstd_matches_fuchsia(version):
        return None
    return (
        f"libzstd {version} is not a version whose output is known to equal Fuchsia's "
        f"({' or '.join(FUCHSIA_LIBZSTD_VERSIONS)}): measured blob sizes may differ from "
        "Fuchsia's by a block per blob, and Fxfs metadata and delivery-blob sizes by "
        "bytes; install zstandard>=0.23 with its bundled libzstd"
    )


def frame_sizes(
    data: bytes | memoryview, chunk: int, pool: CompressorPool | None = None
) -> list[int]:
    """Compressed length of each ``chunk``-sized frame of ``data`` (the last may be short)."""
    view = memoryview(data)
    lender = pool if pool is not None else _DEFAULT_POOL
    sizes = []
    for i in range(0, len(view), chunk):
        piece = view[i : i + chunk]
        with lender.borrow(len(piece)) as compressor:
            sizes.append(len(compressor.compress(piece)))
    return sizes


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
    an ``executor`` whole batches are compressed on it concurrently, and ``in_flight``
    (shared by all blobs being read) bounds the bytes waiting for compression.  Without an
    executor everything runs inline.  Compressors come from ``pool``, whose budget bounds
    the memory of the level-14 contexts (see ``memory``).
    """

    def __init__(
        self,
        total_size: int,
        limit: int | None = None,
        *,
        executor: Executor | None = None,
        in_flight: ByteBudget | None = None,
        pool: CompressorPool | None = None,
    ) -> None:
        self.total_size = total_size
        self.chunk = chunk_size(total_size)
        self.batch = batch_size(total_size)
        self._limit = limit
        self._executor = executor
        self._in_flight = in_flight
        self._pool = pool if pool is not None else _DEFAULT_POOL
        self._pending = bytearray()
        self._fed = 0
        self._lock = threading.Lock()
        self._produced = archive_header_size(frame_count(total_size))
        self._gave_up = False
        self._futures: list[Future[None]] = []
        self.frames_compressed = 0
        # Each frame's size by index (Fxfs's metadata needs their order), and the index of
        # the next batch's first frame.
        self._frames = [0] * frame_count(total_size)
        self._next_frame = 0
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
        first = self._next_frame
        self._next_frame += -(-len(data) // self.chunk)
        # A blob of one batch is compressed by the thread that read it: the readers run in
        # parallel anyway, and for the many small blobs that delivery sizes and Fxfs
        # compress, a task per blob cost more than the compression.
        if self._executor is None or self.total_size <= self.batch:
            self._compress_batch(data, first)
            return
        budget = self._in_flight
        if budget is not None:
            budget.acquire(len(data))
        future = self._executor.submit(self._compress_batch, data, first)
        if budget is not None:
            size = len(data)
            future.add_done_callback(lambda _: budget.release(size))
        self._futures.append(future)

    def _compress_batch(self, data: bytes, first: int = 0) -> None:
        # The limit is checked after every frame, not every batch, so that the proof that
        # compression cannot pay stops work on the other threads' batches too.
        view = memoryview(data)
        for index, start in enumerate(range(0, len(view), self.chunk), first):
            if self._gave_up:
                return
            piece = view[start : start + self.chunk]
            with self._pool.borrow(len(piece)) as compressor:
                produced = len(compressor.compress(piece))
            self._frames[index] = produced
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

    @property
    def frame_sizes(self) -> list[int] | None:
        """After ``finish()``: each frame's compressed size in order (no checksums), or
        ``None`` when compression gave up."""
        return None if self._gave_up else list(self._frames)

    def abandon(self) -> None:
        """Stop early (the read failed): let in-flight batches skip their remaining chunks."""
        self._gave_up = True
        for future in self._futures:
            future.cancel()
