"""Small blobs measured in batches: each read and hashed on one thread, the chunks of
many compressed together, from C, by each compression thread.

Most blobs of a product are small (a rootfs or a shared-data tree has tens of thousands
of files of a few KiB).  Compressed one chunk at a time by the Python threads that read
them, they left cores idle: a thread back from libzstd waited for the GIL while another
held it reading, hashing and handing out the next file, and the engine reached 0.71 of
the raw libzstd limit on 100,000 generated files (0.83 on real ones).  The raw limit is
``multi_compress_to_buffer``: libzstd compressing a list of chunks without the GIL.  So:

- the engine's thread reads each small blob whole (one ``read``), checks and hashes it;
  a blob with nothing to compress is answered at once;
- the chunks of the others join a batch (``BATCH_BYTES`` of blobs, at most
  ``BATCH_FILES`` blobs; smaller towards the end, so that the threads finish together);
- each of ``threads`` compression threads takes a whole batch and compresses it in one
  ``multi_compress_to_buffer`` call, so it needs the GIL once per batch, not per chunk;
  up to two batches' bytes per thread wait, so no thread runs dry while the next is
  read;
- the engine's thread turns each blob's frame lengths into its answer, as
  ``ChunkedSizer``'s would be.

The frames are the bytes ``memory.new_compressor().compress`` gives each chunk (the same
libzstd parameters, the chunk's size pledged, one call per frame); the tests compare
the two on real and generated data.  Every chunk of a batch is compressed to its end:
``ChunkedSizer`` stops early once the frames exceed the useful size, which only proves
what the whole sum shows (``measured``), so the answer is the same.

Memory: the batches queued or being compressed, at most ``2 * threads * BATCH_BYTES``
(one batch always goes, so a blob of ``SMALL_BLOB_BYTES`` too), the one being read
(less than ``BATCH_BYTES + SMALL_BLOB_BYTES``), libzstd's output for one batch per
thread, and a context per thread for a chunk of 32 KiB (0.9 MiB; every blob here has
blobfs's 32 KiB chunk), lent by the engine's pool.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Final, TypeVar

import zstandard

from .blob import BlobMeasurement, FileIdentity, compression_limit, read_whole
from .blobfs import archive_header_size, chunk_size, frame_count
from .formats import StorageFormat
from .memory import new_compressor
from .merkle import merkle_root

_T = TypeVar("_T")

# Blobs up to this size are read whole and batched; a larger one is streamed
# (``measure_file``: bounded memory whatever its size, its chunks compressed on several
# threads).  Streaming threads take the GIL once per chunk, batches once per batch:
# on 400 real files of up to 4 MiB, 0.95 of the raw limit with a 1 MiB bound, 1.04
# with this one (medians of 6 alternating pairs; docs/performance.md).
SMALL_BLOB_BYTES: Final = 4 << 20
# Blob bytes per batch, which one thread compresses in one multi_compress_to_buffer
# call: enough to make the call's cost nothing, few enough that every thread has work
# until the end.
BATCH_BYTES: Final = 2 << 20
# Blobs per batch, whatever their size: tiny blobs (nothing to compress) are many.
BATCH_FILES: Final = 4096
# The smallest batch, near the end: two chunks.
MIN_BATCH_BYTES: Final = 64 << 10


@dataclass(frozen=True, slots=True)
class ReadBlob:
    """A small blob read whole and hashed, waiting for its chunks' compressed lengths."""

    path: Path
    identity: FileIdentity
    merkle: str
    data: bytes
    # The archive size beyond which compression cannot pay (``compression_limit``);
    # ``None``: no answer asked for depends on compression.
    limit: int | None

    def chunks(self) -> list[memoryview]:
        """The chunks to compress: none when no frame can change the answer."""
        size = len(self.data)
        if self.limit is None or archive_header_size(frame_count(size)) > self.limit:
            return []
        step = chunk_size(size)
        view = memoryview(self.data)
        return [view[i : i + step] for i in range(0, size, step)]


def read_blob(
    path: Path,
    layout: StorageFormat,
    *,
    delivery: bool = False,
    on_bytes: Callable[[bytes], object] | None = None,
) -> ReadBlob:
    """Read and hash a blob file; ``MeasurementError`` as ``measure_file`` raises it."""
    data, identity = read_whole(path)
    if on_bytes is not None:
        on_bytes(data)
    limit = compression_limit(identity.size, layout, delivery=delivery)
    return ReadBlob(path, identity, merkle_root(data), data, limit)


def measured(
    blob: ReadBlob, frames: Sequence[int] | None, layout: StorageFormat, *, delivery: bool
) -> BlobMeasurement:
    """The blob's answer from its frames' lengths (``None``: none were compressed)."""
    if frames is not None and (
        blob.limit is None or archive_header_size(len(frames)) + sum(frames) > blob.limit
    ):
        frames = None  # compression cannot pay: what ChunkedSizer's early stop proves
    return BlobMeasurement.from_frames(
        blob.merkle, blob.identity.size, frames, layout, delivery=delivery
    )


def frame_lengths(
    chunks: Sequence[memoryview | bytes], threads: int, compressor: zstandard.ZstdCompressor
) -> list[int]:
    """Each chunk's compressed frame length, compressed on ``threads`` libzstd threads."""
    if not chunks:
        return []
    inputs: list[bytes | bytearray | memoryview] = list(chunks)
    try:
        frames = compressor.multi_compress_to_buffer(inputs, threads=max(1, threads))
    except NotImplementedError:  # python-zstandard's cffi backend (PyPy) lacks it
        return [len(compressor.compress(chunk)) for chunk in chunks]
    return [len(frames[i]) for i in range(len(frames))]


Batch = list[tuple[_T, ReadBlob, int]]  # item, its blob, its number of chunks


def measure_in_batches(
    items: Iterable[_T],
    read: Callable[[_T], ReadBlob | None],
    finish: Callable[[_T, ReadBlob, list[int] | None], None],
    *,
    threads: int,
    idle: Callable[[], object] = lambda: None,
    interval: float = 0.25,
    total_bytes: int | None = None,
    lend: Callable[[], AbstractContextManager[zstandard.ZstdCompressor]] | None = None,
) -> None:
    """``read`` each item's blob on this thread (``None``: it failed, and ``read`` said
    so), then ``finish`` it, also on this thread, with its frames' lengths (``None``
    when it has nothing to compress).  ``threads`` threads compress batches while this
    one reads the next; ``idle`` is called every ``interval`` seconds spent waiting
    (progress).  Given the items' ``total_bytes``, batches shrink towards the end (to
    what is left over twice the threads), so that the threads finish together instead
    of one compressing the last full batch while the others wait.  ``lend`` lends each
    batch its compressor (the engine's ``CompressorPool``, whose slots then bound the
    compressions under way with those of large blobs); without it each thread has its
    own."""
    done: queue.SimpleQueue[Future[tuple[Batch[_T], int, list[int]]]] = queue.SimpleQueue()
    mine = threading.local()
    threads = max(1, threads)
    # Bytes of the batches queued or being compressed: enough that every thread has a
    # next one, bounded however large the blobs (one batch always goes).
    limit = 2 * threads * BATCH_BYTES
    queued = queued_bytes = 0

    def compress(
        batch: Batch[_T], size: int, chunks: list[memoryview]
    ) -> tuple[Batch[_T], int, list[int]]:
        if lend is not None:
            with lend() as compressor:
                return batch, size, frame_lengths(chunks, 1, compressor)
        if not hasattr(mine, "compressor"):
            mine.compressor = new_compressor()
        return batch, size, frame_lengths(chunks, 1, mine.compressor)

    def finish_one(block: bool) -> bool:
        nonlocal queued, queued_bytes
        try:
            future = done.get(timeout=interval) if block else done.get_nowait()
        except queue.Empty:
            if block:
                idle()
            return False
        batch, size, lengths = future.result()  # a failure inside libzstd surfaces here
        queued, queued_bytes = queued - 1, queued_bytes - size
        _finish_batch(batch, lengths, finish)
        return True

    with ThreadPoolExecutor(threads, thread_name_prefix="sizebudget-batch") as zstd:
        try:
            for batch, size, chunks in _batches(items, read, finish, total_bytes, 2 * threads):
                while queued and queued_bytes + size > limit:
                    finish_one(block=True)
                queued, queued_bytes = queued + 1, queued_bytes + size
                zstd.submit(compress, batch, size, chunks).add_done_callback(done.put)
                while queued and finish_one(block=False):
                    pass
            while queued:
                finish_one(block=True)
        except BaseException:
            zstd.shutdown(wait=True, cancel_futures=True)
            raise


def _batches(
    items: Iterable[_T],
    read: Callable[[_T], ReadBlob | None],
    finish: Callable[[_T, ReadBlob, list[int] | None], None],
    left: int | None,
    share: int,
) -> Iterator[tuple[Batch[_T], int, list[memoryview]]]:
    batch: Batch[_T] = []
    chunks: list[memoryview] = []
    size = 0
    target = BATCH_BYTES
    for item in items:
        blob = read(item)
        if blob is None:
            continue
        if left is not None:
            left -= blob.identity.size
            target = min(BATCH_BYTES, max(MIN_BATCH_BYTES, left // share))
        mine = blob.chunks()
        if not mine:  # nothing to compress: its answer needs no batch
            finish(item, blob, None)
            continue
        batch.append((item, blob, len(mine)))
        chunks += mine
        size += len(blob.data)
        if size >= target or len(batch) >= BATCH_FILES:
            yield batch, size, chunks
            batch, chunks, size = [], [], 0
    if batch:
        yield batch, size, chunks


def _finish_batch(
    batch: Batch[_T], lengths: list[int], finish: Callable[[_T, ReadBlob, list[int] | None], None]
) -> None:
    start = 0
    for item, blob, count in batch:
        finish(item, blob, lengths[start : start + count])
        start += count
