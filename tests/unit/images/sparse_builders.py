"""Hand-built images for the tests, written field by field with struct.

Written from the format descriptions (android_yocto.md §1, fuchsia.md §6), independently of
the parsers under test, so that a misreading in a parser cannot be mirrored here.
"""

from __future__ import annotations

import os
import random
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

RAW, FILL, DONT_CARE, CRC32 = 0xCAC1, 0xCAC2, 0xCAC3, 0xCAC4


@dataclass(frozen=True)
class Chunk:
    kind: int
    blocks: int
    payload: bytes = b""
    # Overrides for building broken images.
    total_sz: int | None = None


def raw(blocks: int, blk_sz: int, byte: int = 0x5A) -> Chunk:
    return Chunk(RAW, blocks, bytes([byte]) * (blocks * blk_sz))


def fill(blocks: int, pattern: int = 0) -> Chunk:
    return Chunk(FILL, blocks, struct.pack("<I", pattern))


def dont_care(blocks: int) -> Chunk:
    return Chunk(DONT_CARE, blocks)


def crc(value: int = 0) -> Chunk:
    return Chunk(CRC32, 0, struct.pack("<I", value))


def android_sparse(
    chunks: Sequence[Chunk],
    *,
    blk_sz: int = 4096,
    total_blks: int | None = None,
    total_chunks: int | None = None,
    magic: int = 0xED26FF3A,
    major: int = 1,
    minor: int = 0,
    file_hdr_sz: int = 28,
    chunk_hdr_sz: int = 12,
) -> bytes:
    if total_blks is None:
        total_blks = sum(c.blocks for c in chunks)
    if total_chunks is None:
        total_chunks = len(chunks)
    out = bytearray(
        struct.pack(
            "<I4H4I", magic, major, minor, file_hdr_sz, chunk_hdr_sz, blk_sz, total_blks,
            total_chunks, 0,
        )
    )
    out += bytes(max(file_hdr_sz - 28, 0))
    for c in chunks:
        size = chunk_hdr_sz + len(c.payload) if c.total_sz is None else c.total_sz
        out += struct.pack("<2H2I", c.kind, 0, c.blocks, size)
        out += bytes(max(chunk_hdr_sz - 12, 0))
        out += c.payload
    return bytes(out)


FVM_MAGIC = 0x53525053204D5646
PARTITION_MAGIC = 0x0BDE4DF7CF5C4C5D
EXTENT_MAGIC = 0xA5B8742906E8382E
LZ4F_MAGIC = b"\x04\x22\x4d\x18"


@dataclass(frozen=True)
class Extent:
    slice_start: int
    slice_count: int
    length: int
    magic: int = EXTENT_MAGIC


@dataclass(frozen=True)
class Partition:
    name: str
    extents: tuple[Extent, ...]
    magic: int = PARTITION_MAGIC


def fvm_header(
    partitions: Sequence[Partition],
    *,
    slice_size: int = 8192 * 4,
    maximum_disk_size: int = 0,
    flags: int = 0,
    version: int = 3,
    magic: int = FVM_MAGIC,
    header_length: int | None = None,
    partition_count: int | None = None,
) -> bytes:
    extents = sum(len(p.extents) for p in partitions)
    if header_length is None:
        header_length = 52 + 56 * len(partitions) + 32 * extents
    if partition_count is None:
        partition_count = len(partitions)
    out = bytearray(
        struct.pack(
            "<6QI", magic, version, header_length, slice_size, partition_count,
            maximum_disk_size, flags,
        )
    )
    for p in partitions:
        out += struct.pack(
            "<Q16s24sII", p.magic, b"\x11" * 16, p.name.encode()[:24], 0, len(p.extents)
        )
        for e in p.extents:
            out += struct.pack("<4Q", e.magic, e.slice_start, e.slice_count, e.length)
    return bytes(out)


def fvm_image(partitions: Sequence[Partition], **kwargs: int) -> bytes:
    """Uncompressed sparse FVM: header then every extent's data, in descriptor order."""
    data = b"".join(bytes([0x42]) * e.length for p in partitions for e in p.extents)
    return fvm_header(partitions, **kwargs) + data


def make_raw(path: Path, size: int, writes: list[tuple[int, bytes]]) -> None:
    """A sparse file: truncate to size, then write the data at its offsets."""
    with open(path, "wb") as f:
        f.truncate(size)
        for offset, data in writes:
            f.seek(offset)
            f.write(data)
        f.flush()
        os.fsync(f.fileno())


def rand(n: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(n)
