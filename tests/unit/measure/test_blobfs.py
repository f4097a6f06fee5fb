from __future__ import annotations

import os

import pytest

from pytest_sizebudget.measure.blobfs import (
    BLOCK_SIZE,
    LAYOUTS,
    Layout,
    archive_header_size,
    block_count,
    check_layout,
    chunk_size,
    frame_count,
    max_useful_compressed_size,
    merkle_tree_size,
    stored_size,
)
from pytest_sizebudget.measure.compress import chunked_compressed_size

KiB = 1024
MiB = 1024 * KiB

# fuchsia.md §4, from src/lib/digest/test/merkle-tree.cc: (data bytes, padded, compact).
TREE_VECTORS = [
    (0, 0, 0),
    (1, 0, 0),
    (4096, 0, 0),
    (8191, 0, 0),
    (8192, 0, 0),
    (8193, 8192, 64),
    (65536, 8192, 256),
]


@pytest.mark.parametrize(("size", "padded", "compact"), TREE_VECTORS)
def test_merkle_tree_size_reference_vectors(size: int, padded: int, compact: int) -> None:
    assert merkle_tree_size(size, "deprecated_padded") == padded
    assert merkle_tree_size(size, "compact") == compact


def test_merkle_tree_size_multi_level() -> None:
    # 256 data nodes fill exactly one hash node; one more byte needs a second level.
    assert merkle_tree_size(256 * 8192, "compact") == 8192
    assert merkle_tree_size(256 * 8192 + 1, "compact") == 257 * 32 + 64
    assert merkle_tree_size(256 * 8192 + 1, "deprecated_padded") == 2 * 8192 + 8192


# fuchsia.md §4, compression-params-test.cc: (input bytes, chunk bytes).
CHUNK_VECTORS = [(0, 32 * KiB), (32735 * KiB, 32 * KiB), (32 * MiB, 40 * KiB)]


@pytest.mark.parametrize(("size", "chunk"), CHUNK_VECTORS)
def test_chunk_size_reference_vectors(size: int, chunk: int) -> None:
    assert chunk_size(size) == chunk


def test_chunk_rule_never_exceeds_frame_limit() -> None:
    for size in (32 * 1023 * KiB, 32 * 1023 * KiB + 1, 100 * MiB, 2 * 1024 * MiB, 10**11):
        assert frame_count(size) <= 1023
        assert chunk_size(size) % 8192 == 0
    assert chunk_size(32 * 1023 * KiB) == 32 * KiB
    assert chunk_size(32 * 1023 * KiB + 1) == 40 * KiB


def test_archive_header_size() -> None:
    assert archive_header_size(1) == 64
    assert archive_header_size(1023) == 32 + 32 * 1023


def test_block_count_layouts() -> None:
    assert block_count(0, 0, "compact") == 0
    assert block_count(0, 0, "deprecated_padded") == 0
    assert block_count(8192 - 64, 64, "compact") == 1
    assert block_count(8192 - 63, 64, "compact") == 2
    assert block_count(100, 64, "deprecated_padded") == 2


def _size(data: bytes, layout: Layout) -> int:
    compressed = chunked_compressed_size(data) if len(data) > 8192 else None
    return stored_size(len(data), compressed, layout).size_on_disk


# fuchsia.md §4 worked examples: (blob, compact size, padded size).
BLOB_EXAMPLES = [
    ("empty", b"", 0, 0),
    ("1 byte", b"\x00", 8192, 8192),
    ("8192 random", os.urandom(8192), 8192, 8192),
    ("8193 random", os.urandom(8193), 16384, 24576),
    ("1 MiB zeros", bytes(MiB), 8192, 16384),
    ("1 MiB random", os.urandom(MiB), 1056768, 1056768),
]


@pytest.mark.parametrize(
    ("data", "compact", "padded"),
    [case[1:] for case in BLOB_EXAMPLES],
    ids=[case[0] for case in BLOB_EXAMPLES],
)
def test_blob_size_reference_table(data: bytes, compact: int, padded: int) -> None:
    assert _size(data, "compact") == compact
    assert _size(data, "deprecated_padded") == padded


def test_one_mib_zeros_details() -> None:
    compressed = chunked_compressed_size(bytes(MiB))
    assert 1000 < compressed < 2500  # the reference says "≈1.6 KB"
    compact = stored_size(MiB, compressed, "compact")
    assert compact.compressed
    assert compact.merkle_tree_bytes == 4096
    assert compact.stored_data_bytes == compressed
    assert stored_size(MiB, compressed, "deprecated_padded").merkle_tree_bytes == 8192


def test_small_blobs_are_never_compressed() -> None:
    result = stored_size(8192, 10, "compact")
    assert not result.compressed
    assert result.stored_data_bytes == 8192


def test_compression_kept_only_when_it_saves_a_block() -> None:
    size = 10 * BLOCK_SIZE
    tree = merkle_tree_size(size, "compact")
    raw = block_count(size, tree, "compact")
    # Saving bytes without saving a block keeps the blob raw.
    assert not stored_size(size, (raw - 1) * BLOCK_SIZE - tree + 1, "compact").compressed
    assert stored_size(size, (raw - 1) * BLOCK_SIZE - tree, "compact").compressed


@pytest.mark.parametrize("layout", LAYOUTS)
def test_max_useful_compressed_size_is_the_exact_threshold(layout: Layout) -> None:
    for size in (8193, 9000, 16384, 16385, 65536, 1 << 20, (1 << 21) + 5, 3 * MiB + 1):
        limit = max_useful_compressed_size(size, layout)
        assert limit is not None
        assert stored_size(size, limit, layout).compressed
        assert not stored_size(size, limit + 1, layout).compressed
    assert max_useful_compressed_size(8192, layout) is None
    assert max_useful_compressed_size(0, layout) is None


def test_check_layout() -> None:
    assert check_layout("compact") == "compact"
    with pytest.raises(ValueError, match="deprecated_padded"):
        check_layout("padded")
