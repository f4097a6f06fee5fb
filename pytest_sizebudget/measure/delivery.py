"""Type-1 delivery blobs (RFC-0207): what an OTA downloads for a blob (reference
``fuchsia_current.md`` §4).  Pure integer functions, no I/O.

A Type-1 delivery blob is a 28-byte header followed by either the raw blob or its whole
chunked archive (32-byte header, 32 bytes of seek table per chunk, then the frames),
whichever is not larger: a tie compresses, and unlike blobfs and Fxfs there is no block
rounding and no size threshold.  The frames are level-14 zstd with a content checksum
(4 bytes more than blobfs's frames of the same chunk, see ``fxfs``), chunked by the rule
of ``blobfs.chunk_size``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from .blobfs import archive_header_size, frame_count
from .fxfs import FRAME_CHECKSUM_BYTES

# magic, type, header length, payload length, CRC-32, flags (format.rs, SerializedType1Blob)
HEADER_SIZE: Final = 28
MAGIC: Final = b"\xfc\x1a\xb1\x0b"
DELIVERY_TYPE: Final = 1
FLAG_COMPRESSED: Final = 1
# Bumped whenever a rule here changes: a cached delivery size carries the version it was
# computed under and is ignored under another (``BlobMeasurement.from_dict``).
DELIVERY_RULE_VERSION: Final = 1


def max_useful_archive_size(file_size: int) -> int:
    """Largest blobfs-style chunked archive (frames without checksums, header and seek
    table included) whose Type-1 counterpart is still used: the Type-1 archive is that
    plus 4 bytes per frame and must not exceed the blob."""
    return file_size - FRAME_CHECKSUM_BYTES * frame_count(file_size)


def delivery_size(file_size: int, frames: Sequence[int] | None) -> int:
    """Bytes of the Type-1 delivery blob.

    ``frames``: every Type-1 frame's size (checksums included), or ``None`` when they were
    not computed because the archive was proven larger than the blob.
    """
    if frames is not None:
        if len(frames) != frame_count(file_size):
            raise ValueError(f"{len(frames)} frames for {file_size} bytes")
        archive = archive_header_size(len(frames)) + sum(frames)
        if archive <= file_size:
            return HEADER_SIZE + archive
    return HEADER_SIZE + file_size
