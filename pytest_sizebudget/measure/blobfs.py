"""Blobfs size arithmetic: merkle tree sizes, chunk sizes, block counts (reference §4).

Pure integer functions, no I/O.  Everything here must match Fuchsia's host tool to the
byte, so each rule carries the name of the C++ function it mirrors.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal, get_args

Layout = Literal["compact", "deprecated_padded"]
LAYOUTS: Final[tuple[Layout, ...]] = get_args(Layout)

BLOCK_SIZE: Final = 8192
NODE_SIZE: Final = 8192
DIGEST_SIZE: Final = 32
# kCompressionSizeThresholdBytes: blobs this small or smaller are never compressed.
COMPRESSION_THRESHOLD: Final = BLOCK_SIZE

# Chunked archive v2: a 32-byte header followed by one 32-byte seek-table entry per frame.
ARCHIVE_HEADER_SIZE: Final = 32
SEEK_TABLE_ENTRY_SIZE: Final = 32
MAX_FRAMES: Final = 1023
TARGET_CHUNK_SIZE: Final = 32 * 1024
MIN_CHUNK_ALIGNMENT: Final = 8 * 1024
# Bumped whenever chunk_size() changes, so cached answers computed under an older rule
# are never reused (it is part of the cache's parameter fingerprint).
CHUNK_RULE_VERSION: Final = 1


def check_layout(layout: str) -> Layout:
    """``layout`` as a ``Layout``, or ``ValueError`` naming the accepted values."""
    for known in LAYOUTS:
        if layout == known:
            return known
    raise ValueError(f"unknown blobfs layout {layout!r}; expected one of {', '.join(LAYOUTS)}")


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def round_up(value: int, multiple: int) -> int:
    return _ceil_div(value, multiple) * multiple


def merkle_tree_size(data_size: int, layout: Layout) -> int:
    """Bytes of merkle tree blobfs stores for ``data_size`` bytes of (uncompressed) data.

    Mirrors ``CalculateMerkleTreeSize``: the padded layout rounds every level up to a whole
    node, the compact one keeps the exact hash-list length.  The root itself is not stored,
    which is why data of one node or less has no tree.
    """
    if data_size < 0:
        raise ValueError(f"negative data size {data_size}")
    padded = layout == "deprecated_padded"
    n = data_size
    tree = 0
    while n > NODE_SIZE:
        n = max(_ceil_div(n, NODE_SIZE), 1) * DIGEST_SIZE
        if padded:
            n = round_up(n, NODE_SIZE)
        tree += n
    return tree


def chunk_size(data_size: int) -> int:
    """Chunk (frame input) size blobfs' chunked compressor uses for a blob of ``data_size``.

    32 KiB unless that needs more than 1023 frames; then the smallest multiple of 8 KiB that
    fits the blob in 1023 frames, because the seek table is capped at 1023 entries.
    """
    if _ceil_div(data_size, TARGET_CHUNK_SIZE) <= MAX_FRAMES:
        return TARGET_CHUNK_SIZE
    return round_up(_ceil_div(data_size, MAX_FRAMES), MIN_CHUNK_ALIGNMENT)


def frame_count(data_size: int) -> int:
    return _ceil_div(data_size, chunk_size(data_size))


def archive_header_size(frames: int) -> int:
    """Header plus seek table of a chunked archive with ``frames`` frames."""
    return ARCHIVE_HEADER_SIZE + SEEK_TABLE_ENTRY_SIZE * frames


def block_count(stored_data_size: int, tree_size: int, layout: Layout) -> int:
    """Blocks a blob occupies (``TotalBlockCount``), given stored data and tree bytes.

    Compact: the tree shares the last data block when it fits.  Padded: the tree starts on
    its own block before the data.
    """
    if layout == "compact":
        return _ceil_div(stored_data_size + tree_size, BLOCK_SIZE)
    return _ceil_div(stored_data_size, BLOCK_SIZE) + _ceil_div(tree_size, BLOCK_SIZE)


def max_useful_compressed_size(file_size: int, layout: Layout) -> int | None:
    """Largest chunked-compressed size (header included) that still saves a whole block.

    ``None`` when the blob is never compressed (at most 8192 bytes) or when no compressed
    size, however small, could save a block.  Compressed storage is kept only if its block
    count is strictly less than the uncompressed one, and the block count is monotone in the
    data size, so this single threshold decides every case: the streaming compressor can
    stop as soon as the bytes produced so far exceed it.
    """
    if file_size <= COMPRESSION_THRESHOLD:
        return None
    tree = merkle_tree_size(file_size, layout)
    target_blocks = block_count(file_size, tree, layout) - 1
    if layout == "compact":
        limit = target_blocks * BLOCK_SIZE - tree
    else:
        limit = (target_blocks - _ceil_div(tree, BLOCK_SIZE)) * BLOCK_SIZE
    return limit if limit > 0 else None


@dataclass(frozen=True, slots=True)
class StoredSize:
    """How blobfs would store one blob."""

    file_size: int
    compressed: bool
    stored_data_bytes: int
    merkle_tree_bytes: int
    blocks: int

    @property
    def size_on_disk(self) -> int:
        return self.blocks * BLOCK_SIZE


def stored_size(file_size: int, compressed_size: int | None, layout: Layout) -> StoredSize:
    """Storage decision of ``BlobInfo::CreateCompressed`` for one blob.

    ``compressed_size`` is the chunked archive size (header included), or ``None`` when it
    was not computed (small blob, or the compressor proved it cannot save a block).
    """
    tree = merkle_tree_size(file_size, layout)
    raw_blocks = block_count(file_size, tree, layout)
    if compressed_size is not None and file_size > COMPRESSION_THRESHOLD:
        blocks = block_count(compressed_size, tree, layout)
        if blocks < raw_blocks:
            return StoredSize(file_size, True, compressed_size, tree, blocks)
    return StoredSize(file_size, False, file_size, tree, raw_blocks)
