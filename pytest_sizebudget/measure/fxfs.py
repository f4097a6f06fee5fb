"""Fxfs blob size arithmetic: the allocated size ``make-blob-image`` reports (reference
``fuchsia_current.md`` §3.2).  Pure integer functions, no I/O.

Fxfs stores a blob as an object of 4096-byte blocks with two attributes:

- data: the raw bytes, or, when compression saves a block, the concatenated zstd frames
  of the blob's chunked archive (Type-1 parameters: level 14, frame checksums on, the
  chunk rule of ``blobfs.chunk_size``) without the archive's header and seek table;
- metadata (``BlobMetadata``, versioned bincode with varint integers): the Merkle leaf
  hashes (none when the blob has a single leaf) and, for a compressed blob, the chunk
  size and each frame's offset in the data attribute.  It is not written when it would
  say nothing (one leaf and uncompressed).

``size`` (``used_space_in_blobfs``) = each attribute rounded up to whole blocks: unlike
blobfs's compact layout, data and metadata never share a block.

The frames are the ones blobfs's compressor makes plus a 4-byte content checksum each
(the zstd frame format: the checksum flag is one bit of the frame header descriptor and
the checksum a trailing field; the compressed blocks do not depend on it), so one
compression pass sizes blobfs, Fxfs and delivery blobs alike (``frame_bytes``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from .blobfs import NODE_SIZE, chunk_size

BLOCK_SIZE: Final = 4096
# Blobs this small or smaller are stored raw (``maybe_compress``).
COMPRESSION_THRESHOLD: Final = BLOCK_SIZE
DIGEST_SIZE: Final = 32
# zstd's content checksum: 4 bytes at the end of every frame the Type-1 options make.
FRAME_CHECKSUM_BYTES: Final = 4
# BlobMetadata's on-disk version prefix: 24-bit major + 8-bit minor.
METADATA_VERSION_BYTES: Final = 4
# bincode enum tags of the metadata's format field.
FORMAT_UNCOMPRESSED: Final = 0
FORMAT_CHUNKED_ZSTD: Final = 1
# Bumped whenever a rule here changes, so cached Fxfs sizes computed under an older rule
# are never reused (it is part of the cache's parameter fingerprint for "fxfs").
FXFS_RULE_VERSION: Final = 1


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def round_up(value: int, multiple: int) -> int:
    return _ceil_div(value, multiple) * multiple


def varint_size(value: int) -> int:
    """Bytes of ``value`` in bincode's varint encoding (``bincode::DefaultOptions``)."""
    if value < 0:
        raise ValueError(f"negative varint {value}")
    if value < 251:
        return 1
    if value < 1 << 16:
        return 3
    if value < 1 << 32:
        return 5
    return 9  # u64: the largest integer the metadata holds


def leaf_count(file_size: int) -> int:
    """Merkle leaf hashes the metadata keeps: one per 8192-byte node, none for one node."""
    leaves = max(_ceil_div(file_size, NODE_SIZE), 1)
    return 0 if leaves == 1 else leaves


def frame_bytes(frame_sizes_without_checksum: Sequence[int]) -> list[int]:
    """Type-1 frame sizes from the sizes of the same frames without a checksum."""
    return [size + FRAME_CHECKSUM_BYTES for size in frame_sizes_without_checksum]


def max_useful_frames_size(file_size: int) -> int | None:
    """Largest Σ frames (checksums included) that Fxfs keeps compressed, or ``None``.

    ``maybe_compress`` keeps the frames iff ``round_up(Σ frames, 4096) < file_size``,
    i.e. iff Σ frames fits in the whole blocks below ``file_size``.
    """
    if file_size <= COMPRESSION_THRESHOLD:
        return None
    limit = (file_size - 1) // BLOCK_SIZE * BLOCK_SIZE
    return limit if limit > 0 else None


def keeps_compressed(file_size: int, frames_size: int) -> bool:
    return file_size > COMPRESSION_THRESHOLD and round_up(frames_size, BLOCK_SIZE) < file_size


def metadata_size(file_size: int, frames: Sequence[int] | None) -> int:
    """Serialized ``BlobMetadata`` bytes (newest, versioned format); 0 when not written.

    ``frames``: the stored frames' sizes (checksums included) for a compressed blob,
    ``None`` for a raw one.
    """
    leaves = leaf_count(file_size)
    if leaves == 0 and frames is None:
        return 0  # "empty" metadata is never written
    hashes = DIGEST_SIZE * leaves
    size = METADATA_VERSION_BYTES + varint_size(hashes) + hashes + 1  # + format tag
    if frames is not None:
        size += varint_size(file_size) + varint_size(chunk_size(file_size))
        size += varint_size(len(frames))
        offset = 0
        for frame in frames:
            size += varint_size(offset)
            offset += frame
    return size


@dataclass(frozen=True, slots=True)
class FxfsSize:
    """How Fxfs stores one blob, in the terms of make-blob-image's blobs.json."""

    file_size: int
    compressed: bool
    data_bytes: int  # compressed_file_size: Σ frames, or the raw length
    metadata_bytes: int  # merkle_tree_size: the serialized metadata (0: not written)

    @property
    def size_on_disk(self) -> int:
        """``size`` / ``used_space_in_blobfs``: each attribute in whole blocks."""
        return round_up(self.data_bytes, BLOCK_SIZE) + round_up(self.metadata_bytes, BLOCK_SIZE)


def fxfs_size(file_size: int, frames: Sequence[int] | None) -> FxfsSize:
    """Storage decision and sizes for one blob.

    ``frames``: every Type-1 frame's size (checksums included), or ``None`` when they
    were not computed (blob too small, or compression proven unable to save a block).
    An empty blob has no data and no metadata: 0 bytes (the allocation of an empty
    object is not verified against Fuchsia; see docs/accounting.md).
    """
    if frames is not None and keeps_compressed(file_size, sum(frames)):
        return FxfsSize(file_size, True, sum(frames), metadata_size(file_size, frames))
    return FxfsSize(file_size, False, file_size, metadata_size(file_size, None))
