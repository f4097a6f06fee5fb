from __future__ import annotations

import struct
import time
from pathlib import Path

import pytest

from pytest_sizebudget.images import ImageFormatError, ImageSizes, measure_image
from tests.unit.images.sparse_builders import (
    CRC32,
    DONT_CARE,
    FILL,
    RAW,
    Chunk,
    android_sparse,
    crc,
    dont_care,
    fill,
    raw,
)


def write(tmp_path: Path, data: bytes, name: str = "img.bin") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_mixed_chunks_sizes(tmp_path: Path) -> None:
    image = android_sparse(
        [raw(2, 4096), fill(3, 0xDEADBEEF), dont_care(100), fill(5, 0), crc(), raw(1, 4096)]
    )
    sizes = measure_image(write(tmp_path, image))
    assert sizes.format == "android_sparse"
    assert sizes.file_bytes == len(image)
    assert sizes.expanded_bytes == 111 * 4096
    # FILL of zero counts as data: simg2img writes it out as real bytes.
    assert sizes.data_bytes == (2 + 3 + 5 + 1) * 4096
    assert sizes.details["block_size"] == 4096
    assert sizes.details["chunks"] == 6
    assert sizes.details["raw_bytes"] == 3 * 4096
    assert sizes.details["fill_bytes"] == 8 * 4096
    assert sizes.details["fill_zero_bytes"] == 5 * 4096
    assert sizes.details["dont_care_bytes"] == 100 * 4096
    assert sizes.details["crc32_chunks"] == 1
    assert sizes.details["trailing_bytes"] == 0
    assert "pieces" not in sizes.details


def test_reference_layout_numbers(tmp_path: Path) -> None:
    # android_yocto.md §1.7: 8 chunks, 16384 blocks, 3,252,368-byte file, 144 bytes overhead.
    chunks = [fill(256), raw(512, 4096), fill(1792), raw(26, 4096), fill(2534),
              fill(256, 0xABABABAB), fill(10752), raw(256, 4096)]
    image = android_sparse(chunks)
    assert len(image) == 3_252_368
    sizes = measure_image(write(tmp_path, image))
    assert sizes.expanded_bytes == 67_108_864
    assert sizes.details["raw_bytes"] == 3_252_224
    assert sizes.data_bytes == 67_108_864


def test_larger_headers_and_minor_version_are_honoured(tmp_path: Path) -> None:
    image = android_sparse(
        [raw(1, 1024), dont_care(7), fill(2, 7)], blk_sz=1024, minor=5, file_hdr_sz=32,
        chunk_hdr_sz=16,
    )
    sizes = measure_image(write(tmp_path, image))
    assert sizes.expanded_bytes == 10 * 1024
    assert sizes.data_bytes == 3 * 1024
    assert sizes.details["minor_version"] == 5


def test_empty_image_and_zero_block_chunks(tmp_path: Path) -> None:
    sizes = measure_image(write(tmp_path, android_sparse([])))
    assert (sizes.expanded_bytes, sizes.data_bytes) == (0, 0)
    sizes = measure_image(write(tmp_path, android_sparse([dont_care(0), raw(0, 4096)])))
    assert sizes.expanded_bytes == 0


def test_trailing_bytes_are_reported_not_rejected(tmp_path: Path) -> None:
    sizes = measure_image(write(tmp_path, android_sparse([raw(1, 4096)]) + b"SIGNATURE"))
    assert sizes.details["trailing_bytes"] == 9


def test_raw_data_is_skipped_not_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pytest_sizebudget.images import source

    image = android_sparse([raw(2048, 4096), dont_care(10), raw(2048, 4096)])
    reads: list[int] = []
    real = source.ByteSource.read_upto

    def spy(self: source.ByteSource, n: int) -> bytes:
        reads.append(n)
        return real(self, n)

    monkeypatch.setattr(source.ByteSource, "read_upto", spy)
    measure_image(write(tmp_path, image))
    assert sum(reads) < 200
    assert len(image) > 16_000_000


def test_result_roundtrip(tmp_path: Path) -> None:
    sizes = measure_image(write(tmp_path, android_sparse([raw(1, 4096), dont_care(3)])))
    assert ImageSizes.from_dict(sizes.to_dict()) == sizes


# --- errors -----------------------------------------------------------------------------


def expect_error(path: Path, offset: int | None, *fragments: str) -> ImageFormatError:
    with pytest.raises(ImageFormatError) as info:
        measure_image(path)
    err = info.value
    assert err.file == str(path)
    assert err.offset == offset, str(err)
    for fragment in fragments:
        assert fragment in err.problem, str(err)
    prefix = f"{path}: offset {offset}: " if offset is not None else f"{path}: "
    assert str(err).startswith(prefix)
    return err


def test_chunk_claims_more_blocks_than_remain(tmp_path: Path) -> None:
    chunks = [raw(1, 4096), dont_care(10), fill(1), Chunk(DONT_CARE, 0xFFFFFFFF)]
    path = write(tmp_path, android_sparse(chunks, total_blks=4096 - 4084 + 12))
    err = expect_error(path, 28 + 12 + 4096 + 12 + 16, "chunk 3 declares 4294967295 blocks")
    assert err.problem == "chunk 3 declares 4294967295 blocks but only 12 remain of total_blks 24"


def test_error_message_shape(tmp_path: Path) -> None:
    chunks = [Chunk(DONT_CARE, 0xFFFFFFFF)]
    path = write(tmp_path, android_sparse(chunks, total_blks=12))
    err = expect_error(path, 28)
    assert str(err) == (
        f"{path}: offset 28: chunk 0 declares 4294967295 blocks but only 12 remain of "
        "total_blks 12"
    )


@pytest.mark.parametrize(
    ("kwargs", "offset", "fragment"),
    [
        ({"magic": 0xED26FF3B}, 0, "bad sparse magic"),
        ({"major": 2}, 4, "major version 2"),
        ({"file_hdr_sz": 20}, 8, "file_hdr_sz 20"),
        ({"chunk_hdr_sz": 8}, 10, "chunk_hdr_sz 8"),
        ({"blk_sz": 0}, 12, "blk_sz 0"),
        ({"blk_sz": 4098}, 12, "blk_sz 4098"),
    ],
)
def test_bad_headers(
    tmp_path: Path, kwargs: dict[str, int], offset: int, fragment: str
) -> None:
    # Magic mismatch on an otherwise sparse-looking file is only reachable via format=.
    path = write(tmp_path, android_sparse([dont_care(1)], **kwargs))
    if "magic" in kwargs:
        with pytest.raises(ImageFormatError, match="android_sparse"):
            measure_image(path, format="android_sparse")
        return
    expect_error(path, offset, fragment)


@pytest.mark.parametrize(
    ("chunk", "fragment"),
    [
        (Chunk(FILL, 1, b"\0" * 8), "expected 16"),
        (Chunk(FILL, 1, b"\0" * 2), "expected 16"),
        (Chunk(DONT_CARE, 1, b"\0" * 4), "expected 12"),
        (Chunk(CRC32, 0, b""), "expected 16"),
        (Chunk(RAW, 2, b"\0" * 4096), "expected 8204"),
        (Chunk(0xCAC5, 1), "unknown type 0xcac5"),
    ],
)
def test_chunk_size_must_match_type(tmp_path: Path, chunk: Chunk, fragment: str) -> None:
    path = write(tmp_path, android_sparse([chunk, dont_care(1)], total_blks=10))
    expect_error(path, 28, fragment)


def test_blocks_must_add_up(tmp_path: Path) -> None:
    path = write(tmp_path, android_sparse([raw(1, 4096), dont_care(2)], total_blks=5))
    expect_error(path, 28 + 12 + 4096 + 12, "cover 3 blocks but the header says total_blks 5")


def test_chunk_count_must_match(tmp_path: Path) -> None:
    image = android_sparse([raw(1, 4096), dont_care(2)], total_chunks=3, total_blks=3)
    expect_error(write(tmp_path, image), len(image), "truncated header of chunk 2")


def test_two_to_the_32_chunks_fail_fast(tmp_path: Path) -> None:
    image = android_sparse([dont_care(1)], total_chunks=0xFFFFFFFF, total_blks=0xFFFFFFFF)
    started = time.perf_counter()
    # Above the chunk cap: refused at the header, before any chunk is read.
    expect_error(write(tmp_path, image), 20, "total_chunks 4,294,967,295 is above 4,194,304")
    # At the cap, a count the file cannot hold fails at the end of the file.
    image = android_sparse([dont_care(1)], total_chunks=1 << 22, total_blks=0xFFFFFFFF)
    expect_error(write(tmp_path, image), len(image), "truncated header of chunk 1")
    assert time.perf_counter() - started < 1


@pytest.mark.parametrize("cut", [0, 10, 27, 28 + 5, 28 + 12 + 100, 28 + 12 + 4096 + 12 + 2])
def test_truncated(tmp_path: Path, cut: int) -> None:
    image = android_sparse([raw(1, 4096), fill(2, 1)])
    path = write(tmp_path, image[:cut])
    with pytest.raises(ImageFormatError) as info:
        measure_image(path, format="android_sparse")
    problem = info.value.problem
    assert "truncated" in problem or "requested" in problem or "is empty" in problem


def test_huge_raw_chunk_fails_without_reading(tmp_path: Path) -> None:
    header = android_sparse([], total_blks=0xFFFFFFFF, total_chunks=1, blk_sz=4096)
    chunk = struct.pack("<2H2I", RAW, 0, 1 << 20, 12 + (1 << 20) * 4096 % (1 << 32))
    path = write(tmp_path, header + chunk)
    expect_error(path, 28, "total_sz")


# --- pieces -----------------------------------------------------------------------------


def test_pieces_count_blocks_once(tmp_path: Path) -> None:
    # Three pieces of one 30-block partition, each covering the others with DONT_CARE.
    a = android_sparse([raw(10, 4096), dont_care(20)])
    b = android_sparse([dont_care(10), fill(10, 0x01010101), dont_care(10)])
    c = android_sparse([dont_care(20), raw(5, 4096), dont_care(5)])
    paths = [write(tmp_path, x, f"p{i}") for i, x in enumerate((a, b, c))]
    sizes = measure_image(paths)
    assert sizes.expanded_bytes == 30 * 4096
    assert sizes.data_bytes == 25 * 4096
    assert sizes.file_bytes == len(a) + len(b) + len(c)
    assert sizes.details["pieces"] == 3
    assert sizes.details["dont_care_bytes"] == 5 * 4096


def test_overlapping_pieces_union(tmp_path: Path) -> None:
    a = android_sparse([raw(10, 4096), dont_care(20)])
    b = android_sparse([dont_care(5), raw(10, 4096), dont_care(15)])
    sizes = measure_image([write(tmp_path, a, "a"), write(tmp_path, b, "b")])
    assert sizes.data_bytes == 15 * 4096


def test_pieces_must_agree(tmp_path: Path) -> None:
    a = write(tmp_path, android_sparse([raw(1, 4096), dont_care(29)]), "a")
    b = write(tmp_path, android_sparse([raw(1, 4096), dont_care(30)]), "b")
    with pytest.raises(ImageFormatError, match="not pieces of one image") as info:
        measure_image([a, b])
    assert info.value.file == str(b)


def test_pieces_must_be_android_sparse(tmp_path: Path) -> None:
    a = write(tmp_path, android_sparse([raw(1, 4096)]), "a")
    b = write(tmp_path, b"plain", "b")
    with pytest.raises(ImageFormatError, match="only Android sparse images"):
        measure_image([a, b])


def test_single_item_list_and_empty_list(tmp_path: Path) -> None:
    a = write(tmp_path, android_sparse([raw(1, 4096)]), "a")
    assert "pieces" not in measure_image([a]).details
    with pytest.raises(ImageFormatError, match="no image files"):
        measure_image([])
