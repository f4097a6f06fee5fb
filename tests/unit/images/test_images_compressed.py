from __future__ import annotations

import bz2
import gzip
import lzma
import os
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pytest
import zstandard

from pytest_sizebudget.images import ImageFormatError, measure_image
from tests.unit.images.sparse_builders import (
    Extent,
    Partition,
    android_sparse,
    dont_care,
    fill,
    fvm_image,
    raw,
)


def _zstd(data: bytes) -> bytes:
    return zstandard.ZstdCompressor(write_checksum=True).compress(data)


def _zstd_frames(data: bytes) -> bytes:
    half = len(data) // 2
    return _zstd(data[:half]) + _zstd(data[half:])


COMPRESSORS: dict[str, Callable[[bytes], bytes]] = {
    "gzip": gzip.compress,
    "xz": lzma.compress,
    "bzip2": bz2.compress,
    "zstd": _zstd,
}
KINDS = sorted(COMPRESSORS)

SPARSE = android_sparse([raw(3, 4096, 0x11), dont_care(50), fill(7, 0x01020304), raw(1, 4096)])
FVM = fvm_image([Partition("blob", (Extent(0, 2, 50_000),))], slice_size=32768)


def write(tmp_path: Path, data: bytes, name: str = "image") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("kind", KINDS)
def test_compressed_raw(tmp_path: Path, kind: str) -> None:
    content = os.urandom(50_000) + bytes(300_000)
    stored = COMPRESSORS[kind](content)
    sizes = measure_image(write(tmp_path, stored))
    assert sizes.format == "raw"
    assert sizes.file_bytes == len(stored)
    assert sizes.expanded_bytes == sizes.data_bytes == len(content)
    assert sizes.details["compression"] == kind


@pytest.mark.parametrize("kind", KINDS)
def test_compressed_android_sparse(tmp_path: Path, kind: str) -> None:
    plain = measure_image(write(tmp_path, SPARSE, "plain"))
    sizes = measure_image(write(tmp_path, COMPRESSORS[kind](SPARSE)), format="android_sparse")
    assert sizes.format == "android_sparse"
    assert (sizes.expanded_bytes, sizes.data_bytes) == (plain.expanded_bytes, plain.data_bytes)
    assert sizes.details["compression"] == kind
    assert {k: v for k, v in sizes.details.items() if k != "compression"} == plain.details
    assert measure_image(tmp_path / "image", format=kind).format == "android_sparse"


@pytest.mark.parametrize("kind", KINDS)
def test_compressed_fvm(tmp_path: Path, kind: str) -> None:
    plain = measure_image(write(tmp_path, FVM, "plain"))
    sizes = measure_image(write(tmp_path, COMPRESSORS[kind](FVM)))
    assert sizes.format == "fvm_sparse"
    assert (sizes.expanded_bytes, sizes.data_bytes) == (plain.expanded_bytes, plain.data_bytes)
    # The uncompressed-length rule is enforced on the stream as well.
    with pytest.raises(ImageFormatError, match="bytes follow the extent data"):
        measure_image(write(tmp_path, COMPRESSORS[kind](FVM + b"junk")))
    with pytest.raises(ImageFormatError, match="truncated extent data"):
        measure_image(write(tmp_path, COMPRESSORS[kind](FVM[:-1])))


@pytest.mark.parametrize("kind", KINDS)
def test_compressed_pieces(tmp_path: Path, kind: str) -> None:
    a = android_sparse([raw(2, 4096), dont_care(8)])
    b = android_sparse([dont_care(2), fill(3, 9), dont_care(5)])
    sizes = measure_image([write(tmp_path, COMPRESSORS[kind](a), "a"), write(tmp_path, b, "b")])
    assert (sizes.expanded_bytes, sizes.data_bytes) == (10 * 4096, 5 * 4096)
    assert sizes.details["compression"] == kind


def test_zstd_multiple_frames(tmp_path: Path) -> None:
    sizes = measure_image(write(tmp_path, _zstd_frames(SPARSE)))
    assert sizes.format == "android_sparse"
    assert sizes.expanded_bytes == 61 * 4096


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("keep", [0.3, 0.9])
def test_truncated_stream(tmp_path: Path, kind: str, keep: float) -> None:
    stored = COMPRESSORS[kind](os.urandom(20_000) + SPARSE)
    path = write(tmp_path, stored[: max(int(len(stored) * keep), 11)])
    with pytest.raises(ImageFormatError) as info:
        measure_image(path)
    assert f"corrupt or truncated {kind} stream" in info.value.problem
    assert info.value.offset is not None
    assert str(info.value).startswith(f"{path}: offset ")


@pytest.mark.parametrize("kind", KINDS)
def test_corrupt_stream(tmp_path: Path, kind: str) -> None:
    stored = bytearray(COMPRESSORS[kind](os.urandom(30_000)))
    for i in range(len(stored) // 2, len(stored) // 2 + 16):
        stored[i] ^= 0x5A
    with pytest.raises(ImageFormatError, match=f"corrupt or truncated {kind} stream"):
        measure_image(write(tmp_path, bytes(stored)))


@pytest.mark.parametrize("kind", KINDS)
def test_inner_image_truncated(tmp_path: Path, kind: str) -> None:
    # Complete stream, broken content: the error offset is in the decompressed content.
    path = write(tmp_path, COMPRESSORS[kind](SPARSE[:40]))
    with pytest.raises(ImageFormatError, match="truncated data of chunk 0") as info:
        measure_image(path)
    assert info.value.offset == 40


@pytest.mark.parametrize("kind", KINDS)
def test_garbage_after_magic(tmp_path: Path, kind: str) -> None:
    magic = COMPRESSORS[kind](b"")[:10]
    with pytest.raises(ImageFormatError, match=kind):
        measure_image(write(tmp_path, magic + b"\xff" * 64))


@pytest.mark.parametrize("kind", KINDS)
def test_memory_is_bounded(tmp_path: Path, kind: str) -> None:
    # 64 MiB of zeros compresses to almost nothing; decompression must not hold it all.
    content = bytes(64 << 20)
    path = write(tmp_path, COMPRESSORS[kind](content))
    del content
    tracemalloc.start()
    try:
        sizes = measure_image(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert sizes.expanded_bytes == 64 << 20
    # A fixed bound (read pieces of 1 MiB, zstd output of at most 4 MiB per feed), far
    # below the content size.
    assert peak < 24 << 20, peak
