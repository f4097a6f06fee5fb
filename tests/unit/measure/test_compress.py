from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor

import pytest
import zstandard

from pytest_sizebudget.measure.blob import BlobMeasurement
from pytest_sizebudget.measure.blobfs import LAYOUTS, Layout, max_useful_compressed_size
from pytest_sizebudget.measure.compress import (
    ChunkedSizer,
    chunked_compressed_size,
    frame_sizes,
    libzstd_version,
)
from pytest_sizebudget.measure.merkle import merkle_root

MiB = 1 << 20


def _text(rng: random.Random, n: int) -> bytes:
    words = [b"blob", b"fuchsia", b"size", b"budget", b"zstd", b"merkle", b"\n", b"chunk"]
    out = bytearray()
    while len(out) < n:
        out += rng.choice(words) + b" "
    return bytes(out[:n])


def _cases() -> list[tuple[str, bytes]]:
    rng = random.Random(1234)
    cases = [
        ("zeros-3MiB", bytes(3 * MiB + 17)),
        ("random-2MiB", rng.randbytes(2 * MiB + 5)),
        ("random-8193", rng.randbytes(8193)),
        ("random-40000", rng.randbytes(40000)),
        ("text-1MiB", _text(rng, MiB + 100)),
        ("mixed", rng.randbytes(300_000) + bytes(200_000) + _text(rng, 300_000)),
    ]
    # Random data followed by a compressible tail of about one block: the compressed size
    # lands on both sides of the "saves a whole block" threshold.
    for tail in (6000, 9000, 12000, 16500, 20000, 26000):
        cases.append((f"borderline-{tail}", rng.randbytes(120_000) + bytes(tail)))
    return cases


CASES = _cases()


def _full(data: bytes, layout: Layout) -> BlobMeasurement:
    compressed = chunked_compressed_size(data) if len(data) > 8192 else None
    return BlobMeasurement.from_sizes(merkle_root(data), len(data), compressed, layout)


def _streamed(
    data: bytes, layout: Layout, rng: random.Random, pool: ThreadPoolExecutor | None
) -> tuple[BlobMeasurement, ChunkedSizer | None]:
    limit = max_useful_compressed_size(len(data), layout)
    sizer = None if limit is None else ChunkedSizer(len(data), limit, executor=pool)
    start = 0
    while start < len(data):
        step = rng.choice([1, 4096, 8192, 100_000, MiB, 3 * MiB])
        if sizer is not None:
            sizer.update(data[start : start + step])
        start += step
    compressed = sizer.finish() if sizer is not None else None
    return BlobMeasurement.from_sizes(merkle_root(data), len(data), compressed, layout), sizer


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("threaded", [False, True], ids=["inline", "threads"])
def test_early_exit_gives_the_full_compression_answer(layout: Layout, threaded: bool) -> None:
    rng = random.Random(99)
    outcomes = set()
    with ThreadPoolExecutor(2) as pool:
        for name, data in CASES:
            expected = _full(data, layout)
            got, _ = _streamed(data, layout, rng, pool if threaded else None)
            assert got == expected, name
            outcomes.add(expected.compressed_bytes is None)
    assert outcomes == {True, False}  # both storage decisions were exercised


def test_early_exit_skips_the_frames_after_the_proof() -> None:
    # Three random 32 KiB frames and 100 bytes: 13 blocks stored raw, so compression must
    # fit 12 blocks less the tree.  The three frames and the header already exceed that,
    # so the fourth frame is never compressed.
    data = random.Random(5).randbytes(3 * 32768 + 100)
    sizer = ChunkedSizer(len(data), max_useful_compressed_size(len(data), "compact"))
    sizer.update(data)
    assert sizer.finish() is None
    assert sizer.gave_up
    assert sizer.frames_compressed == 3
    assert _full(data, "compact").compressed_bytes is None  # and that is the right answer


def test_early_exit_on_random_data_comes_only_at_the_end() -> None:
    # Why the shortcut saves little (docs/performance.md): the unread rest could be zeros
    # that compress to nothing, so only the last few KiB can ever be skipped.
    data = random.Random(6).randbytes(4 * MiB)
    sizer = ChunkedSizer(len(data), max_useful_compressed_size(len(data), "compact"))
    for start in range(0, len(data), MiB):
        sizer.update(data[start : start + MiB])
    assert sizer.finish() is None
    assert sizer.frames_compressed == 4 * MiB // 32768
    tail_zeros = data[: 4 * MiB - 16384] + bytes(16384)
    assert _full(tail_zeros, "compact").compressed_bytes is not None


def test_sizer_rejects_wrong_length() -> None:
    sizer = ChunkedSizer(10_000, None)
    sizer.update(bytes(5000))
    with pytest.raises(ValueError, match="expected 10000"):
        sizer.finish()
    with pytest.raises(ValueError, match="expected 10000"):
        sizer.update(bytes(6000))


def test_frames_match_plain_zstd_defaults() -> None:
    # blobfs compresses each chunk with ZSTD_compress2 at level 14 and otherwise default
    # parameters: content size written, no checksum.  Each frame must round-trip alone.
    data = _text(random.Random(3), 100_000)
    sizes = frame_sizes(data, 32768)
    assert len(sizes) == 4
    frame = zstandard.ZstdCompressor(level=14).compress(data[:32768])
    assert len(frame) == sizes[0]
    params = zstandard.get_frame_parameters(frame)
    assert params.content_size == 32768
    assert not params.has_checksum
    assert libzstd_version().count(".") == 2
