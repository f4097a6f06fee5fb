"""Type-1 delivery-blob sizes: the reference's rules checked against real delivery blobs.

``write_type1`` builds the blob byte by byte from the reference's description
(fuchsia_current.md §4: header with its CRC-32, chunked archive v2 with its seek table
and CRC, level-14 frames with content checksums); ``read_type1`` parses it back and
decompresses it.  The engine's size must be the length of those bytes.
"""

from __future__ import annotations

import random
import struct
import zlib
from pathlib import Path

import pytest
import zstandard

from pytest_sizebudget.measure.blob import BlobMeasurement, measure_file
from pytest_sizebudget.measure.blobfs import chunk_size
from pytest_sizebudget.measure.delivery import DELIVERY_RULE_VERSION, delivery_size
from pytest_sizebudget.measure.engine import MeasurementEngine
from pytest_sizebudget.measure.formats import STORAGE_FORMATS, StorageFormat
from pytest_sizebudget.measure.merkle import merkle_root
from pytest_sizebudget.measure.requests import BlobRequest

MiB = 1 << 20
ARCHIVE_MAGIC = bytes.fromhex("469b78ef0fd0b203")


def _archive(data: bytes) -> bytes:
    chunk = chunk_size(len(data))
    compressor = zstandard.ZstdCompressor(level=14, write_checksum=True)
    frames = [compressor.compress(data[i : i + chunk]) for i in range(0, len(data), chunk)]
    header_len = 32 + 32 * len(frames)
    table = bytearray()
    offset = header_len
    for i, frame in enumerate(frames):
        start = i * chunk
        table += struct.pack("<QQQQ", start, min(chunk, len(data) - start), offset, len(frame))
        offset += len(frame)
    head = ARCHIVE_MAGIC + struct.pack("<HBBI", 2, 0, 0, len(frames))
    tail = bytes(12)  # u32 + u64 reserved
    crc = zlib.crc32(head + tail + table)
    return head + struct.pack("<I", crc) + tail + bytes(table) + b"".join(frames)


def write_type1(data: bytes) -> bytes:
    archive = _archive(data)
    compressed = len(archive) <= len(data)
    payload = archive if compressed else data
    fields = [b"\xfc\x1a\xb1\x0b", struct.pack("<II", 1, 28), struct.pack("<Q", len(payload))]
    flags = struct.pack("<I", 1 if compressed else 0)
    crc = zlib.crc32(b"".join(fields) + bytes(4) + flags)
    return b"".join(fields) + struct.pack("<I", crc) + flags + payload


def read_type1(blob: bytes) -> bytes:
    """The blob's content, after checking every field a reader checks."""
    magic, kind, header_len, payload_len, crc, flags = struct.unpack("<4sIIQII", blob[:28])
    assert zlib.crc32(blob[:20] + bytes(4) + blob[24:28]) == crc
    assert (magic, kind, header_len, flags & ~1) == (b"\xfc\x1a\xb1\x0b", 1, 28, 0)
    payload = blob[28:]
    assert len(payload) == payload_len
    if not flags & 1:
        return payload
    assert payload[:8] == ARCHIVE_MAGIC
    (frames,) = struct.unpack("<I", payload[12:16])
    out = bytearray()
    for i in range(frames):
        _, _size, offset, length = struct.unpack("<QQQQ", payload[32 + 32 * i : 64 + 32 * i])
        frame = payload[offset : offset + length]
        assert zstandard.get_frame_parameters(frame).has_checksum
        out += zstandard.ZstdDecompressor().decompress(frame)
        assert len(out) == sum(
            struct.unpack("<QQQQ", payload[32 + 32 * j : 64 + 32 * j])[1] for j in range(i + 1)
        )
    return bytes(out)


def _cases() -> list[bytes]:
    rng = random.Random(31)
    text = b"".join(
        rng.choice([b"ota ", b"delivery ", b"blob\n", b"fuchsia "]) for _ in range(9000)
    )
    return [
        b"",
        b"x",
        b"b" * 100,
        b"hello world",
        text[:3000],
        rng.randbytes(5000),  # incompressible: raw, 28 + 5000
        rng.randbytes(100_000) + bytes(70),  # the archive just above or below the length
        rng.randbytes(100_000) + bytes(200),
        bytes(MiB),
        rng.randbytes(70_000) + text[:30_000],
    ]


@pytest.mark.parametrize("data", _cases(), ids=lambda d: f"{len(d)}")
@pytest.mark.parametrize("fmt", STORAGE_FORMATS)
def test_size_is_the_length_of_a_real_delivery_blob(
    tmp_path: Path, data: bytes, fmt: StorageFormat
) -> None:
    blob = write_type1(data)
    assert read_type1(blob) == data
    path = tmp_path / "blob"
    path.write_bytes(data)
    got, _ = measure_file(path, fmt, delivery=True)
    assert got.delivery_bytes == len(blob)
    without, _ = measure_file(path, fmt)
    assert without.delivery_bytes is None
    assert without.size_on_disk == got.size_on_disk  # asking for delivery changes nothing else


def test_reference_rules() -> None:
    # The empty blob is stored raw: its archive (32 bytes) is larger than 0 bytes.
    assert delivery_size(0, []) == 28
    # 1 MiB of zeros: 32 frames of 22 bytes -> 28 + 32 + 32 * 32 + 704.
    assert delivery_size(MiB, [22] * 32) == 1788
    # A tie compresses; either way the total is 28 + the length.
    assert delivery_size(100, [36]) == 28 + 100
    assert delivery_size(100, [37]) == 28 + 100
    assert delivery_size(100, [35]) == 28 + 99
    # Not computed because proven larger than the blob: raw.
    assert delivery_size(5000, None) == 5028
    with pytest.raises(ValueError, match="frames"):
        delivery_size(MiB, [22])


def test_one_compression_pass_gives_every_format(tmp_path: Path) -> None:
    """Type-1 frames are blobfs's plus a 4-byte checksum: the same blocks, so one pass."""
    rng = random.Random(3)
    plain = zstandard.ZstdCompressor(level=14, write_checksum=False)
    checked = zstandard.ZstdCompressor(level=14, write_checksum=True)
    for data in (rng.randbytes(32768), bytes(32768), b"abc" * 9000, b"", rng.randbytes(7)):
        assert len(checked.compress(data)) == len(plain.compress(data)) + 4


def test_engine_measures_again_for_a_delivery_size_then_caches_it(tmp_path: Path) -> None:
    from pytest_sizebudget.measure.cache import BlobCache

    data = b"delivery " * 5000
    (tmp_path / "b").write_bytes(data)
    request = BlobRequest(tmp_path / "b", merkle_root(data))
    engine = MeasurementEngine("fxfs", cache=BlobCache(tmp_path / "cache", "fxfs"))
    first = engine.measure([request])[request]
    assert isinstance(first, BlobMeasurement)
    assert first.delivery_bytes is None
    assert engine.last_stats.files_measured == 1
    second = engine.measure([request], delivery=True)[request]
    assert isinstance(second, BlobMeasurement)
    assert engine.last_stats.files_measured == 1  # the cached answer had no delivery size
    assert second.delivery_bytes == len(write_type1(data))
    third = engine.measure([request], delivery=True)[request]
    # Answered from the cache (the entry this cache wrote: reuse within the run).
    assert engine.last_stats.files_measured == 0
    assert engine.last_stats.cache_hits + engine.last_stats.reused == 1
    assert third == second
    # Without delivery the richer entry answers too.
    assert engine.measure([request])[request] == second


def test_cached_delivery_size_of_another_rule_is_not_used() -> None:
    m = BlobMeasurement.from_frames("ab" * 32, 100, [30], "compact", delivery=True)
    data = m.to_dict()
    assert data["delivery_rule"] == DELIVERY_RULE_VERSION
    assert BlobMeasurement.from_dict(data) == m
    data["delivery_rule"] = DELIVERY_RULE_VERSION + 1
    assert BlobMeasurement.from_dict(data).delivery_bytes is None
    del data["delivery_rule"]
    assert BlobMeasurement.from_dict(data).delivery_bytes is None
