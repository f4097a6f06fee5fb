"""Fuzzing: whatever the bytes, measure_image returns ImageSizes or raises ImageFormatError,
quickly, in bounded memory, never another exception; with a limit, it stops only when the
image cannot fit and otherwise gives exactly the unlimited result."""

from __future__ import annotations

import bz2
import gzip
import lzma
import time
import tracemalloc
from pathlib import Path

import pytest
import zstandard
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pytest_sizebudget.images import ImageFormatError, ImageSizes, measure_image
from tests.unit.images.sparse_builders import (
    Extent,
    Partition,
    android_sparse,
    crc,
    dont_care,
    fill,
    fvm_header,
    fvm_image,
    make_raw,
    raw,
)

# Reads are at most 1 MiB and zstd output at most 4 MiB per feed: far below this whatever
# an input declares.
MEMORY_BOUND = 24 << 20

FUZZ = settings(
    max_examples=150,
    # File I/O on a loaded CI machine can stall for a moment; the time bound that matters is
    # the per-example check below.
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

MAGICS = [
    b"",
    b"\x3a\xff\x26\xed",  # Android sparse
    b"FVM SPRS",
    b"\x1f\x8b",
    b"\xfd7zXZ\x00",
    b"BZh91AY&SY",
    b"\x28\xb5\x2f\xfd",
]

SEEDS = [
    android_sparse([raw(1, 1024), dont_care(5), fill(2, 7), crc(), raw(2, 1024)], blk_sz=1024),
    android_sparse([fill(3), dont_care(1)], minor=2, file_hdr_sz=32, chunk_hdr_sz=16),
    fvm_image([Partition("a", (Extent(0, 1, 300), Extent(4, 2, 10)))], slice_size=512),
    fvm_header([Partition("b", (Extent(0, 1, 300),))], slice_size=512, flags=1)
    + b"\x04\x22\x4d\x18rest",
]
COMPRESS = [
    lambda b: b,
    gzip.compress,
    lzma.compress,
    bz2.compress,
    zstandard.ZstdCompressor().compress,
]


def measure(
    path: Path, fmt: str | None = None, limit: int | None = None
) -> ImageSizes | ImageFormatError:
    """The outcome, checked to come quickly and in bounded memory."""
    started = time.perf_counter()
    tracemalloc.start()
    try:
        return measure_image(path, format=fmt, limit=limit)
    except ImageFormatError as err:
        return err
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert time.perf_counter() - started < 2
        assert peak < MEMORY_BOUND, peak


def check(path: Path, data: bytes, fmt: str | None = None) -> None:
    path.write_bytes(data)
    outcome = measure(path, fmt)
    if isinstance(outcome, ImageFormatError):
        assert outcome.file == str(path)
        assert outcome.problem
        return
    assert outcome.data_bytes <= outcome.expanded_bytes
    assert ImageSizes.from_dict(outcome.to_dict()) == outcome


@FUZZ
@given(prefix=st.sampled_from(MAGICS), body=st.binary(max_size=400))
def test_arbitrary_bytes(tmp_path: Path, prefix: bytes, body: bytes) -> None:
    check(tmp_path / "fuzz.img", prefix + body)


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 6))):
        action = draw(st.sampled_from(["flip", "set32", "truncate", "insert"]))
        pos = draw(st.integers(0, max(len(data) - 1, 0)))
        if action == "flip" and data:
            data[pos] ^= draw(st.integers(1, 255))
        elif action == "set32" and len(data) >= pos + 4:
            word = draw(st.sampled_from([0, 1, 3, 4, 12, 0x7FFFFFFF, 0xFFFFFFFF]))
            data[pos : pos + 4] = word.to_bytes(4, "little")
        elif action == "truncate":
            del data[pos:]
        else:
            data[pos:pos] = draw(st.binary(min_size=1, max_size=8))
    return bytes(data)


@FUZZ
@given(data=mutated(), compress=st.sampled_from(COMPRESS))
def test_mutated_images(tmp_path: Path, data: bytes, compress: object) -> None:
    assert callable(compress)
    stored = compress(data)
    assert isinstance(stored, bytes)
    check(tmp_path / "mutated.img", stored)


@FUZZ
@given(
    data=mutated(),
    fmt=st.sampled_from(["raw", "sparse_file", "android_sparse", "fvm_sparse", "gzip", "xz"]),
)
def test_mutated_with_explicit_format(tmp_path: Path, data: bytes, fmt: str) -> None:
    check(tmp_path / "explicit.img", data, fmt)


@FUZZ
@given(a=mutated(), b=mutated())
def test_mutated_pieces(tmp_path: Path, a: bytes, b: bytes) -> None:
    pa, pb = tmp_path / "a.simg", tmp_path / "b.simg"
    pa.write_bytes(a)
    pb.write_bytes(b)
    try:
        sizes = measure_image([pa, pb])
    except ImageFormatError:
        return
    assert sizes.format == "android_sparse"
    assert sizes.data_bytes <= sizes.expanded_bytes


@FUZZ
@given(
    data=mutated(),
    compress=st.sampled_from(COMPRESS),
    limit=st.one_of(st.integers(0, 1 << 16), st.integers(0, 1 << 44)),
)
def test_mutated_with_a_limit(tmp_path: Path, data: bytes, compress: object, limit: int) -> None:
    assert callable(compress)
    stored = compress(data)
    assert isinstance(stored, bytes)
    path = tmp_path / "limited.img"
    path.write_bytes(stored)
    limited, full = measure(path, limit=limit), measure(path)
    if isinstance(limited, ImageSizes) and limited.details.get("stopped_early"):
        # Stopping is only for images that cannot fit, and only for compressed ones.
        assert limited.expanded_bytes > limit
        assert "compression" in limited.details
        if isinstance(full, ImageSizes):
            assert full.expanded_bytes >= limited.expanded_bytes
            if not limited.details.get("expanded_at_least"):
                assert full.expanded_bytes == limited.expanded_bytes
        return
    # Read to the end: exactly what an unlimited measurement says.
    if isinstance(limited, ImageFormatError):
        assert isinstance(full, ImageFormatError)
        assert str(limited) == str(full)
    else:
        assert limited == full


@FUZZ
@given(
    size=st.integers(17, 1 << 24),
    writes=st.lists(
        st.tuples(st.integers(16, 1 << 24), st.binary(min_size=1, max_size=64)), max_size=8
    ),
)
def test_sparse_file_layouts(tmp_path: Path, size: int, writes: list[tuple[int, bytes]]) -> None:
    # Nothing is written to the first 16 bytes, so that no magic number makes the file
    # another format: this is about holes.
    path = tmp_path / "holes.img"
    make_raw(path, size, [(min(at, size - 1), data) for at, data in writes])
    outcome = measure(path)
    assert isinstance(outcome, ImageSizes), outcome
    length = path.stat().st_size
    assert outcome.format in ("raw", "sparse_file")
    assert outcome.expanded_bytes == outcome.file_bytes == length
    assert outcome.data_bytes <= length
    if writes:
        assert outcome.data_bytes > 0


@pytest.mark.parametrize("seed", range(len(SEEDS)))
def test_seeds_are_valid(tmp_path: Path, seed: int) -> None:
    path = tmp_path / "seed.img"
    path.write_bytes(SEEDS[seed])
    assert measure_image(path).format in ("android_sparse", "fvm_sparse")
