from __future__ import annotations

import time
from pathlib import Path

import pytest

from pytest_sizebudget.images import ImageFormatError, fvm_expanded_size, measure_image
from pytest_sizebudget.images.fvm_sparse import fvm_metadata_size
from tests.unit.images.sparse_builders import (
    EXTENT_MAGIC,
    LZ4F_MAGIC,
    Extent,
    Partition,
    fvm_header,
    fvm_image,
)

SLICE = 32768
PARTS = (
    Partition("blobfs", (Extent(0, 2, 40000), Extent(0x8000, 1, 100))),
    Partition("data", (Extent(0, 3, 0),)),
)
HEADER_LEN = 52 + 56 * 2 + 32 * 3


def write(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "fvm.sparse"
    path.write_bytes(data)
    return path


def test_formula_both_variants_numerically() -> None:
    # 6 slices: 8*6 = 48 bytes of table -> one 8 KiB block either way.
    assert fvm_metadata_size(6) == 73728 + 8192
    assert fvm_metadata_size(6, extra_alloc_entry=False) == 73728 + 8192
    assert fvm_expanded_size(6, SLICE) == 2 * (73728 + 8192) + 6 * SLICE
    # 1024 slices: 8*1024 = 8192 exactly, so the +1 entry needs a second table block.
    assert fvm_metadata_size(1024, extra_alloc_entry=False) == 73728 + 8192
    assert fvm_metadata_size(1024) == 73728 + 16384
    assert fvm_expanded_size(1024, 65536, extra_alloc_entry=False) == 2 * 81920 + 1024 * 65536
    assert fvm_expanded_size(1024, 65536) == 2 * 90112 + 1024 * 65536
    # 0 slices: the old variant has no table block at all; the new one still has 1 entry.
    assert fvm_metadata_size(0, extra_alloc_entry=False) == 73728
    assert fvm_metadata_size(0) == 73728 + 8192


def test_uncompressed_formula(tmp_path: Path) -> None:
    image = fvm_image(PARTS, slice_size=SLICE)
    assert len(image) == HEADER_LEN + 40100
    sizes = measure_image(write(tmp_path, image))
    assert sizes.format == "fvm_sparse"
    assert sizes.file_bytes == len(image)
    assert sizes.data_bytes == 40100
    assert sizes.expanded_bytes == 2 * (73728 + 8192) + 6 * SLICE
    d = sizes.details
    assert d["expanded_from"] == "metadata_formula_alloc_table_slices_plus_1"
    assert (d["partitions"], d["extents"], d["total_slices"]) == (2, 3, 6)
    assert d["allocated_bytes"] == 6 * SLICE
    assert d["lz4"] is False
    assert d["header_length"] == HEADER_LEN
    assert "lz4_stream_bytes" not in d


def test_maximum_disk_size(tmp_path: Path) -> None:
    image = fvm_image(PARTS, slice_size=SLICE, maximum_disk_size=1 << 30)
    sizes = measure_image(write(tmp_path, image))
    assert sizes.expanded_bytes == 1 << 30
    assert sizes.details["expanded_from"] == "maximum_disk_size"


def test_maximum_disk_size_too_small(tmp_path: Path) -> None:
    image = fvm_image(PARTS, slice_size=SLICE, maximum_disk_size=SLICE)
    with pytest.raises(ImageFormatError, match="maximum_disk_size 32768 is smaller") as info:
        measure_image(write(tmp_path, image))
    assert info.value.offset == 40


@pytest.mark.parametrize("max_disk", [0, 1 << 32])
def test_lz4(tmp_path: Path, max_disk: int) -> None:
    stream = LZ4F_MAGIC + b"\x60\x40\x82" + b"compressed-bytes-stand-in"
    image = fvm_header(PARTS, slice_size=SLICE, flags=0x1 | 0x8, maximum_disk_size=max_disk)
    sizes = measure_image(write(tmp_path, image + stream))
    assert sizes.data_bytes == 40100
    assert sizes.details["lz4"] is True
    assert sizes.details["zero_fill_not_required"] is True
    assert sizes.details["lz4_stream_bytes"] == len(stream)
    expected = max_disk or 2 * (73728 + 8192) + 6 * SLICE
    assert sizes.expanded_bytes == expected


def test_lz4_flag_on_plain_data(tmp_path: Path) -> None:
    image = fvm_header(PARTS, slice_size=SLICE, flags=0x1) + b"\x42" * 100
    with pytest.raises(ImageFormatError, match="LZ4 frame magic") as info:
        measure_image(write(tmp_path, image))
    assert info.value.offset == HEADER_LEN


def test_lz4_without_stream(tmp_path: Path) -> None:
    image = fvm_header(PARTS, slice_size=SLICE, flags=0x1)
    with pytest.raises(ImageFormatError, match="no compressed data"):
        measure_image(write(tmp_path, image))


@pytest.mark.parametrize("delta", [-1, 1, -40100])
def test_uncompressed_length_must_match(tmp_path: Path, delta: int) -> None:
    image = fvm_image(PARTS, slice_size=SLICE)
    image = image[:delta] if delta < 0 else image + b"\0" * delta
    with pytest.raises(ImageFormatError, match="does not match header_length"):
        measure_image(write(tmp_path, image))


def bad(tmp_path: Path, image: bytes, offset: int | None, fragment: str) -> None:
    with pytest.raises(ImageFormatError) as info:
        measure_image(write(tmp_path, image), format="fvm_sparse")
    assert fragment in info.value.problem, str(info.value)
    assert info.value.offset == offset, str(info.value)


def test_header_errors(tmp_path: Path) -> None:
    bad(tmp_path, fvm_image(PARTS, version=2), 8, "version 2")
    bad(tmp_path, fvm_image(PARTS, slice_size=0), 24, "slice_size is 0")
    bad(tmp_path, fvm_image(PARTS, header_length=HEADER_LEN + 32), 16, "does not match")
    bad(tmp_path, fvm_image(PARTS, header_length=100), 16, "cannot hold 2 partition")
    bad(tmp_path, fvm_image(PARTS, header_length=1 << 60), 16, "exceeds the file length")
    bad(tmp_path, fvm_image(PARTS)[:51], 0, "truncated sparse FVM header")


def test_descriptor_errors(tmp_path: Path) -> None:
    parts = (Partition("x", (Extent(0, 1, 10),), magic=1),)
    bad(tmp_path, fvm_image(parts), 52, "partition 0 has bad magic")
    parts = (Partition("x", (Extent(0, 1, 10, magic=EXTENT_MAGIC ^ 1),)),)
    bad(tmp_path, fvm_image(parts), 108, "extent 0 of partition 0 has bad magic")
    parts = (Partition("x", (Extent(0, 1, SLICE + 1),)),)
    bad(tmp_path, fvm_image(parts, slice_size=SLICE), 108, "exceeds slice_count 1")


def test_absurd_counts_fail_fast(tmp_path: Path) -> None:
    started = time.perf_counter()
    # 2**40 partitions: header_length would have to be astronomically large.
    bad(tmp_path, fvm_image(PARTS, partition_count=1 << 40), 16, "cannot hold")
    # header_length consistent with a huge count but the file ends: fails at the end.
    huge = 52 + 56 * (1 << 20)
    image = fvm_header(PARTS, header_length=huge, partition_count=1 << 20)
    bad(tmp_path, image, 16, "exceeds the file length")
    # An extent count of 2**32-1 in one descriptor.
    import struct

    header = bytearray(fvm_header((Partition("x", ()),), header_length=52 + 56 + 32 * 5))
    struct.pack_into("<I", header, 52 + 52, 0xFFFFFFFF)
    header += struct.pack("<4Q", EXTENT_MAGIC, 0, 1, 0) * 5
    bad(tmp_path, bytes(header), 52 + 56 + 32 * 5, "lies beyond header_length")
    assert time.perf_counter() - started < 1
