"""Fxfs allocated sizes: the reference's vectors, hand-computed cases, and an oracle.

The oracle below is written from the format description in the reference
(fuchsia_current.md §3.2), not from the module: it compresses every chunk with the
Type-1 options (level 14, content checksum), decides as ``maybe_compress`` does, and
serializes the metadata byte by byte (version prefix, then bincode varints).
"""

from __future__ import annotations

import random
import struct
from pathlib import Path

import pytest
import zstandard

from pytest_sizebudget.measure.blob import measure_file
from pytest_sizebudget.measure.blobfs import chunk_size
from pytest_sizebudget.measure.fxfs import (
    fxfs_size,
    leaf_count,
    max_useful_frames_size,
    metadata_size,
    varint_size,
)

MiB = 1 << 20


def _varint(value: int) -> bytes:
    """bincode's varint: one byte below 251, else a marker byte and a little-endian int."""
    if value < 251:
        return bytes([value])
    if value < 1 << 16:
        return b"\xfb" + struct.pack("<H", value)
    if value < 1 << 32:
        return b"\xfc" + struct.pack("<I", value)
    return b"\xfd" + struct.pack("<Q", value)


def _metadata(length: int, frames: list[int] | None) -> bytes:
    """BlobMetadata as written: b"" when it says nothing (one leaf, uncompressed)."""
    leaves = max(-(-length // 8192), 1)
    hashes = b"" if leaves == 1 else bytes(32 * leaves)  # hash values do not matter here
    if not hashes and frames is None:
        return b""
    out = bytearray(b"\x00\x00\x00\x00")  # version: 24-bit major + 8-bit minor
    out += _varint(len(hashes)) + hashes
    if frames is None:
        out += _varint(0)
        return bytes(out)
    out += _varint(1) + _varint(length) + _varint(chunk_size(length)) + _varint(len(frames))
    offset = 0
    for frame in frames:
        out += _varint(offset)
        offset += frame
    return bytes(out)


def _round(n: int) -> int:
    return -(-n // 4096) * 4096


def oracle(data: bytes) -> tuple[int, int, int]:
    """(size, data attribute bytes, metadata bytes) as make-blob-image would report."""
    length = len(data)
    frames = None
    if length > 4096:
        compressor = zstandard.ZstdCompressor(level=14, write_checksum=True)
        chunk = chunk_size(length)
        sizes = [len(compressor.compress(data[i : i + chunk])) for i in range(0, length, chunk)]
        if _round(sum(sizes)) < length:
            frames = sizes
    stored = length if frames is None else sum(frames)
    meta = len(_metadata(length, frames))
    return _round(stored) + _round(meta), stored, meta


def _measure(tmp_path: Path, data: bytes) -> tuple[int, int, int]:
    path = tmp_path / "blob"
    path.write_bytes(data)
    got, _ = measure_file(path, "fxfs")
    assert got.layout == "fxfs"
    return got.size_on_disk, got.stored_data_bytes, got.merkle_tree_bytes


def test_reference_vectors(tmp_path: Path) -> None:
    """fuchsia_current.md §3.2's worked examples (libzstd 1.5.7)."""
    # 20000 random bytes: raw, three leaves, metadata 102 bytes -> 20480 + 4096.
    assert _measure(tmp_path, random.Random(7).randbytes(20000)) == (24576, 20000, 102)
    # 1 MiB of zeros: 32 frames of 22 bytes, 128 leaves, metadata 4185 bytes (2 blocks).
    assert _measure(tmp_path, bytes(MiB)) == (4096 + 8192, 32 * 22, 4185)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        # Empty: no data, no metadata (its allocation is not verified against Fuchsia).
        (b"", (0, 0, 0)),
        # One block, one leaf, never compressed: no metadata attribute.
        (b"x", (4096, 1, 0)),
        (bytes(4096), (4096, 4096, 0)),
        # 4097 zeros: compressed (one 22-byte frame with libzstd 1.5.7: 4096 < 4097 after
        # rounding); one leaf, so the metadata holds no hashes, only the chunked format:
        # 4 + 1 + 1 + 3 + 3 + 1 + 1 = 14 bytes, a block of its own.
        (bytes(4097), (4096 + 4096, 22, 14)),
        # 8192 random bytes: raw, one leaf -> no metadata.
        (random.Random(1).randbytes(8192), (8192, 8192, 0)),
        # 8193 random bytes: raw, two leaves: 4 + 1 + 64 + 1 = 70 bytes of metadata.
        (random.Random(2).randbytes(8193), (12288 + 4096, 8193, 70)),
    ],
    ids=["empty", "1", "4096-zeros", "4097-zeros", "8192-random", "8193-random"],
)
def test_hand_computed(tmp_path: Path, data: bytes, expected: tuple[int, int, int]) -> None:
    assert _measure(tmp_path, data) == expected
    assert oracle(data) == expected


def _cases() -> list[bytes]:
    rng = random.Random(99)
    text = b"".join(rng.choice([b"fxfs ", b"blob ", b"zstd\n", b"chunk "]) for _ in range(60000))
    cases = [text[:300_000], rng.randbytes(150_000) + bytes(60_000), text[:5000]]
    # A random head and a compressible tail: the frames' total lands on both sides of
    # the "saves a 4 KiB block" threshold, where the streaming compressor may stop early.
    for tail in (2000, 3500, 4000, 4500, 6000, 9000):
        cases.append(rng.randbytes(40_000) + bytes(tail))
    # Offsets cross the one-byte varint limit (251) at various frame counts.
    cases.append(bytes(64 * 32768))
    return cases


@pytest.mark.parametrize("data", _cases(), ids=lambda d: f"{len(d)}")
def test_streamed_engine_matches_the_oracle(tmp_path: Path, data: bytes) -> None:
    assert _measure(tmp_path, data) == oracle(data)


def test_large_blob_uses_larger_chunks(tmp_path: Path) -> None:
    """Above 1023 chunks of 32 KiB the chunk grows (40 KiB for 33 MiB), and the metadata
    records it; 4224 leaves need a 5-byte varint length."""
    data = bytes(33 * MiB)
    assert chunk_size(len(data)) == 40960
    assert _measure(tmp_path, data) == oracle(data)


def test_varint_sizes() -> None:
    for value in (0, 250, 251, 65535, 65536, (1 << 32) - 1, 1 << 32, (1 << 64) - 1):
        assert varint_size(value) == len(_varint(value)), value


def test_metadata_size_matches_serialization() -> None:
    rng = random.Random(5)
    for _ in range(300):
        length = rng.choice([rng.randrange(1, 9000), rng.randrange(9000, 5 * MiB)])
        n = -(-length // chunk_size(length))
        frames = None if rng.random() < 0.3 else [rng.randrange(9, 40000) for _ in range(n)]
        assert metadata_size(length, frames) == len(_metadata(length, frames))


def test_leaf_count_and_threshold() -> None:
    assert [leaf_count(n) for n in (0, 1, 8192, 8193, 16384, 16385)] == [0, 0, 0, 2, 2, 3]
    assert max_useful_frames_size(4096) is None
    assert max_useful_frames_size(4097) == 4096
    assert max_useful_frames_size(8192) == 4096  # 8192 would not be below the length
    assert max_useful_frames_size(8193) == 8192


def test_compression_is_kept_only_when_it_saves_a_block() -> None:
    # 12288 bytes -> frames must fit in 8192 bytes; a tie with the length is not a saving.
    assert fxfs_size(12288, [8192]).compressed
    assert not fxfs_size(12288, [8193]).compressed
    assert not fxfs_size(4096, [10]).compressed  # at the threshold: raw
    raw = fxfs_size(12288, [8193])
    assert (raw.data_bytes, raw.size_on_disk) == (12288, 12288 + 4096)  # 2 leaves of hashes
