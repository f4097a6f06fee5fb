"""Android sparse images (libsparse format, major version 1): headers only, data skipped.

Rules (android_yocto.md §1): little-endian ``<I4H4I`` file header and ``<2H2I`` chunk
header; larger header sizes than 28/12 are honoured by skipping the extra bytes; higher
minor versions are accepted, any major version but 1 is not.  Each chunk's ``total_sz``
must match its type exactly and the chunk blocks must add up to ``total_blks``.

Data bytes are the RAW and FILL blocks.  A FILL of zero counts as data too: simg2img
writes every FILL, zero or not, as real bytes (its output is fully allocated, so bmap maps
them), and AOSP's care_map includes all FILL chunks.  Only DONT_CARE is not data.  The
zero-fill part is reported separately (``fill_zero_bytes``) for anyone who wants it out.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass

from pytest_sizebudget.images import limits
from pytest_sizebudget.images.model import DetailValue
from pytest_sizebudget.images.source import ByteSource
from pytest_sizebudget.units import describe

MAGIC = 0xED26FF3A
MAGIC_BYTES = struct.pack("<I", MAGIC)
FILE_HEADER = struct.Struct("<I4H4I")
CHUNK_HEADER = struct.Struct("<2H2I")

RAW = 0xCAC1
FILL = 0xCAC2
DONT_CARE = 0xCAC3
CRC32 = 0xCAC4
_NAMES = {RAW: "RAW", FILL: "FILL", DONT_CARE: "DONT_CARE", CRC32: "CRC32"}


@dataclass(frozen=True)
class SparseScan:
    """What one sparse file says about the partition it fills.

    ``care`` holds sorted, merged, half-open block ranges written by RAW or FILL chunks;
    keeping them (instead of only a total) is what lets split pieces be unioned.
    ``stopped`` says the chunks were not read (the header had decided the verdict), so
    every count is zero.
    """

    blk_sz: int
    total_blks: int
    chunks: int
    care: tuple[tuple[int, int], ...]
    raw_blocks: int
    fill_blocks: int
    fill_zero_blocks: int
    dont_care_blocks: int
    crc_chunks: int
    trailing_bytes: int
    minor_version: int
    stopped: bool = False

    @property
    def expanded_bytes(self) -> int:
        return self.total_blks * self.blk_sz


def scan(source: ByteSource, stop_above: int | None = None) -> SparseScan:
    """Read one sparse image from ``source`` (seekable or not) and check its structure.

    With ``stop_above``, an image whose header already says it expands to more than that
    is not read further: the chunks could only confirm a size the partition cannot hold.
    """
    head = source.read_exact(FILE_HEADER.size, "sparse file header")
    (
        magic,
        major,
        minor,
        file_hdr_sz,
        chunk_hdr_sz,
        blk_sz,
        total_blks,
        total_chunks,
        _checksum,
    ) = FILE_HEADER.unpack(head)
    if magic != MAGIC:
        raise source.error(f"bad sparse magic 0x{magic:08x} (expected 0x{MAGIC:08x})", 0)
    if major != 1:
        raise source.error(f"unsupported sparse major version {major} (only 1 is known)", 4)
    if file_hdr_sz < FILE_HEADER.size:
        raise source.error(f"file_hdr_sz {file_hdr_sz} is below the minimum 28", 8)
    if chunk_hdr_sz < CHUNK_HEADER.size:
        raise source.error(f"chunk_hdr_sz {chunk_hdr_sz} is below the minimum 12", 10)
    if blk_sz == 0 or blk_sz % 4:
        raise source.error(f"blk_sz {blk_sz} is not a non-zero multiple of 4", 12)
    if total_chunks > limits.MAX_SPARSE_CHUNKS:
        raise source.error(
            f"total_chunks {total_chunks:,} is above {limits.MAX_SPARSE_CHUNKS:,}, the most "
            "chunks sizebudget reads (MAX_SPARSE_CHUNKS)",
            20,
        )
    source.skip(file_hdr_sz - FILE_HEADER.size, "extra file header bytes")
    if stop_above is not None and total_blks * blk_sz > stop_above:
        return SparseScan(
            blk_sz=blk_sz,
            total_blks=total_blks,
            chunks=total_chunks,
            care=(),
            raw_blocks=0,
            fill_blocks=0,
            fill_zero_blocks=0,
            dont_care_blocks=0,
            crc_chunks=0,
            trailing_bytes=0,
            minor_version=minor,
            stopped=True,
        )

    care: list[tuple[int, int]] = []
    block = 0
    raw_blocks = fill_blocks = fill_zero_blocks = dont_care_blocks = crc_chunks = 0
    # The loop is bounded by total_chunks *and* by the input: every pass reads at least a
    # 12-byte header, so a header claiming 2**32 chunks fails at the end of the file.
    for index in range(total_chunks):
        at = source.offset
        (ctype, _reserved, chunk_sz, total_sz) = CHUNK_HEADER.unpack(
            source.read_exact(CHUNK_HEADER.size, f"header of chunk {index}")
        )
        source.skip(chunk_hdr_sz - CHUNK_HEADER.size, f"extra header bytes of chunk {index}")
        name = _NAMES.get(ctype)
        if name is None:
            raise source.error(f"chunk {index} has unknown type 0x{ctype:04x}", at)
        if ctype != CRC32 and chunk_sz > total_blks - block:
            raise source.error(
                f"chunk {index} declares {chunk_sz} blocks but only {total_blks - block} "
                f"remain of total_blks {total_blks}",
                at,
            )
        payload = total_sz - chunk_hdr_sz
        expected = {
            RAW: chunk_sz * blk_sz,
            FILL: 4,
            DONT_CARE: 0,
            CRC32: 4,
        }[ctype]
        if payload != expected:
            raise source.error(
                f"chunk {index} ({name}, {chunk_sz} blocks) has total_sz {total_sz}: "
                f"expected {expected + chunk_hdr_sz} ({chunk_hdr_sz} header + {expected} data)",
                at,
            )
        if ctype == RAW:
            source.skip(payload, f"data of chunk {index} (RAW)")
            raw_blocks += chunk_sz
        elif ctype == FILL:
            pattern = source.read_exact(4, f"fill pattern of chunk {index}")
            fill_blocks += chunk_sz
            if pattern == b"\0\0\0\0":
                fill_zero_blocks += chunk_sz
        elif ctype == DONT_CARE:
            dont_care_blocks += chunk_sz
        else:
            # Nobody verifies these (simg2img accepts a wrong one); skipped, only counted.
            source.read_exact(4, f"crc of chunk {index}")
            crc_chunks += 1
            continue
        if ctype != DONT_CARE and chunk_sz:
            if care and care[-1][1] == block:
                care[-1] = (care[-1][0], block + chunk_sz)
            else:
                care.append((block, block + chunk_sz))
        block += chunk_sz
    if block != total_blks:
        raise source.error(
            f"chunks cover {block} blocks but the header says total_blks {total_blks}"
        )
    return SparseScan(
        blk_sz=blk_sz,
        total_blks=total_blks,
        chunks=total_chunks,
        care=tuple(care),
        raw_blocks=raw_blocks,
        fill_blocks=fill_blocks,
        fill_zero_blocks=fill_zero_blocks,
        dont_care_blocks=dont_care_blocks,
        crc_chunks=crc_chunks,
        trailing_bytes=_trailing(source),
        minor_version=minor,
    )


def _trailing(source: ByteSource) -> int:
    """Bytes after the last chunk: ignored by libsparse, so reported, not rejected (vendors
    append signatures there).  In a compressed image they must be decompressed to be
    counted, so only a bounded amount is."""
    if source.seekable:
        return source.remaining()
    at, most = source.offset, limits.MAX_STREAM_TRAILING_BYTES
    found = source.remaining(most + 1)
    if found > most:
        raise source.error(
            f"more than {describe(most)} follow the last chunk in the decompressed content; "
            "sizebudget reads at most that much trailing data of a compressed image "
            "(MAX_STREAM_TRAILING_BYTES)",
            at,
        )
    return found


def union_blocks(ranges: Sequence[tuple[int, int]]) -> int:
    """Number of blocks covered by half-open ranges that may overlap."""
    total = 0
    end = -1
    for lo, hi in sorted(ranges):
        if hi <= end:
            continue
        total += hi - max(lo, end)
        end = hi
    return total


def data_bytes(scans: Sequence[SparseScan]) -> int:
    """RAW and FILL bytes of the partition, each block counted once however many pieces."""
    if len(scans) == 1:
        return (scans[0].raw_blocks + scans[0].fill_blocks) * scans[0].blk_sz
    return union_blocks([r for s in scans for r in s.care]) * scans[0].blk_sz


def details(scans: Sequence[SparseScan]) -> dict[str, DetailValue]:
    """Facts for ImageSizes.details; RAW/FILL byte counts are as stored, summed over pieces."""
    first = scans[0]
    blk = first.blk_sz
    result: dict[str, DetailValue]
    if any(s.stopped for s in scans):
        # Only the headers were read: what they say, and no counts that would look measured.
        result = {
            "block_size": blk,
            "total_blocks": first.total_blks,
            "chunks": sum(s.chunks for s in scans),
            "minor_version": max(s.minor_version for s in scans),
            "stopped_early": True,
        }
        if len(scans) > 1:
            result["pieces"] = len(scans)
        return result
    result = {
        "block_size": blk,
        "total_blocks": first.total_blks,
        "chunks": sum(s.chunks for s in scans),
        "raw_bytes": sum(s.raw_blocks for s in scans) * blk,
        "fill_bytes": sum(s.fill_blocks for s in scans) * blk,
        "fill_zero_bytes": sum(s.fill_zero_blocks for s in scans) * blk,
        # Blocks no piece writes: every piece marks the others' blocks DONT_CARE, so a sum
        # over pieces would exceed the partition.
        "dont_care_bytes": first.expanded_bytes - data_bytes(scans),
        "crc32_chunks": sum(s.crc_chunks for s in scans),
        "minor_version": max(s.minor_version for s in scans),
        "trailing_bytes": sum(s.trailing_bytes for s in scans),
    }
    if len(scans) > 1:
        result["pieces"] = len(scans)
    return result
