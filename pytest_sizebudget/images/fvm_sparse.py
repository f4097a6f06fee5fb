"""Fuchsia sparse FVM images, version 3 (fuchsia.md §6): header structs only.

The data region is never read: its size follows from the extent descriptors.  With the
LZ4 flag the region is one LZ4F stream whose length only the file length tells; its frame
magic is checked so that a flag set on plain data is caught.

Expanded size: ``maximum_disk_size`` when non-zero, else the full-FVM layout formula.  The
allocation table is sized with one extra entry (``round_up(8 * (slices + 1), 8192)``) as
the newer ``fvm::Header`` does: physical slices are numbered from 1, so entry 0 is real
space, and of the two published variants this one is never smaller, which is the safe
side for a budget.  ``fvm_expanded_size(..., extra_alloc_entry=False)`` gives the older
reader's number, and the details say which one was used.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from pytest_sizebudget.images import limits
from pytest_sizebudget.images.model import DetailValue
from pytest_sizebudget.images.source import ByteSource
from pytest_sizebudget.units import describe

MAGIC = 0x53525053204D5646  # "FVM SPRS"
MAGIC_BYTES = struct.pack("<Q", MAGIC)
PARTITION_MAGIC = 0x0BDE4DF7CF5C4C5D
EXTENT_MAGIC = 0xA5B8742906E8382E
VERSION = 3
HEADER = struct.Struct("<6QI")  # 52 bytes
PARTITION = struct.Struct("<Q16s24sII")  # 56 bytes
EXTENT = struct.Struct("<4Q")  # 32 bytes

FLAG_LZ4 = 0x1
FLAG_ZXCRYPT = 0x2
FLAG_NO_FILL = 0x8
LZ4F_MAGIC = b"\x04\x22\x4d\x18"

# Full-FVM layout constants (format.h): an 8 KiB header block plus a 64 KiB partition
# table (1024 entries of 64 bytes), then an allocation table of 8-byte entries rounded to
# 8 KiB blocks; metadata is stored twice.
FVM_BLOCK = 8192
_HEADER_AND_PARTITION_TABLE = 8192 + 65536
_ALLOC_ENTRY = 8


def _round_up(value: int, unit: int) -> int:
    return -(-value // unit) * unit


def fvm_metadata_size(total_slices: int, *, extra_alloc_entry: bool = True) -> int:
    entries = total_slices + 1 if extra_alloc_entry else total_slices
    return _HEADER_AND_PARTITION_TABLE + _round_up(_ALLOC_ENTRY * entries, FVM_BLOCK)


def fvm_expanded_size(total_slices: int, slice_size: int, *, extra_alloc_entry: bool = True) -> int:
    """Size of the full FVM a sparse image unpacks to when maximum_disk_size is 0."""
    metadata = fvm_metadata_size(total_slices, extra_alloc_entry=extra_alloc_entry)
    return 2 * metadata + total_slices * slice_size


def lz4_stream_bound(data_bytes: int) -> int:
    """More bytes than any LZ4 frame of ``data_bytes`` of content takes.

    An LZ4 frame stores an incompressible block as is, behind a 4-byte size (and an
    optional 4-byte checksum); with the smallest block size, 64 KiB, that is 8 bytes per
    64 KiB, plus at most 19 bytes of frame header and 8 of end mark and checksum.  An
    eighth plus 64 KiB is far above that, and still bounded.
    """
    return data_bytes + data_bytes // 8 + (1 << 16)


@dataclass(frozen=True)
class FvmScan:
    header_length: int
    slice_size: int
    partitions: int
    extents: int
    total_slices: int
    data_bytes: int  # sum of extent_length
    maximum_disk_size: int
    flags: int
    stored_data_bytes: int  # bytes after the header in the file (the LZ4F stream if compressed)
    expanded_bytes: int
    details: dict[str, DetailValue]


def scan(source: ByteSource, stop_above: int | None = None) -> FvmScan:
    """Read one sparse FVM from ``source`` (seekable or not) and check its structure.

    With ``stop_above``, the data region is not read when the header already says the image
    expands to more than that (the details then say ``stopped_early``).
    """
    (magic, version, header_length, slice_size, partition_count, maximum_disk_size, flags) = (
        HEADER.unpack(source.read_exact(HEADER.size, "sparse FVM header"))
    )
    if magic != MAGIC:
        raise source.error(f"bad sparse FVM magic 0x{magic:016x}", 0)
    if version != VERSION:
        raise source.error(f"unsupported sparse FVM version {version} (only 3 is known)", 8)
    if slice_size == 0:
        raise source.error("slice_size is 0", 24)
    least = HEADER.size + PARTITION.size * partition_count
    if header_length < least:
        raise source.error(
            f"header_length {header_length} cannot hold {partition_count} partition "
            f"descriptors (needs at least {least})",
            16,
        )
    if source.size is not None and header_length > source.size:
        raise source.error(
            f"header_length {header_length} exceeds the file length {source.size}", 16
        )
    if partition_count > limits.MAX_FVM_PARTITIONS:
        raise source.error(
            f"partition_count {partition_count:,} is above {limits.MAX_FVM_PARTITIONS:,}, "
            "the most partitions an FVM partition table holds",
            32,
        )

    extents = total_slices = data_bytes = allocated = declared = 0
    # Bounded by the caps on partitions and extents, and by the input: each pass reads a 56-
    # or 32-byte descriptor, so a count the file cannot hold fails at its end.
    for p in range(partition_count):
        at = source.offset
        if at + PARTITION.size > header_length:
            raise source.error(
                f"descriptor of partition {p} lies beyond header_length {header_length}", at
            )
        (pmagic, _guid, _name, _pflags, extent_count) = PARTITION.unpack(
            source.read_exact(PARTITION.size, f"descriptor of partition {p}")
        )
        if pmagic != PARTITION_MAGIC:
            raise source.error(f"partition {p} has bad magic 0x{pmagic:016x}", at)
        # Extents that header_length has no room for fail below at the first of them; the
        # cap is for counts a header (of a stream, unbounded by a file length) does hold.
        declared += min(extent_count, max(header_length - source.offset, 0) // EXTENT.size)
        if declared > limits.MAX_FVM_EXTENTS:
            raise source.error(
                f"partition {p} declares {extent_count:,} extents, which brings the image "
                f"above {limits.MAX_FVM_EXTENTS:,}, the most extents sizebudget reads "
                "(MAX_FVM_EXTENTS)",
                at,
            )
        for e in range(extent_count):
            at = source.offset
            if at + EXTENT.size > header_length:
                raise source.error(
                    f"extent {e} of partition {p} lies beyond header_length {header_length}",
                    at,
                )
            (emagic, _start, slice_count, extent_length) = EXTENT.unpack(
                source.read_exact(EXTENT.size, f"extent {e} of partition {p}")
            )
            if emagic != EXTENT_MAGIC:
                raise source.error(f"extent {e} of partition {p} has bad magic 0x{emagic:016x}", at)
            if extent_length > slice_count * slice_size:
                raise source.error(
                    f"extent {e} of partition {p}: extent_length {extent_length} exceeds "
                    f"slice_count {slice_count} x slice_size {slice_size}",
                    at,
                )
            extents += 1
            total_slices += slice_count
            data_bytes += extent_length
            allocated += slice_count * slice_size
    if source.offset != header_length:
        raise source.error(
            f"header_length {header_length} does not match the descriptors, which end at "
            f"{source.offset} (52 + 56 x {partition_count} + 32 x {extents})",
            16,
        )

    if maximum_disk_size:
        if maximum_disk_size < allocated:
            raise source.error(
                f"maximum_disk_size {maximum_disk_size} is smaller than the "
                f"{allocated} bytes of slices its partitions allocate",
                40,
            )
        expanded = maximum_disk_size
        basis = "maximum_disk_size"
    else:
        expanded = fvm_expanded_size(total_slices, slice_size)
        basis = "metadata_formula_alloc_table_slices_plus_1"

    lz4 = bool(flags & FLAG_LZ4)
    stopped = stop_above is not None and expanded > stop_above
    stored: int | None = None  # None: the data region was not read
    if lz4 and not stopped:
        stored = _lz4_stream(source, data_bytes)
    elif not stopped:
        if source.size is not None and source.size != header_length + data_bytes:
            raise source.error(
                f"file length {source.size} does not match header_length {header_length} + "
                f"extent data {data_bytes} = {header_length + data_bytes}",
                None,
            )
        source.skip(data_bytes, "extent data")
        _no_extra(source, header_length, data_bytes)
        stored = data_bytes

    details: dict[str, DetailValue] = {
        "slice_size": slice_size,
        "partitions": partition_count,
        "extents": extents,
        "total_slices": total_slices,
        "allocated_bytes": allocated,
        "header_length": header_length,
        "maximum_disk_size": maximum_disk_size,
        "flags": flags,
        "lz4": lz4,
        "zxcrypt": bool(flags & FLAG_ZXCRYPT),
        "zero_fill_not_required": bool(flags & FLAG_NO_FILL),
        "expanded_from": basis,
    }
    if lz4 and stored is not None:
        details["lz4_stream_bytes"] = stored
    if stopped:
        details["stopped_early"] = True
    return FvmScan(
        header_length=header_length,
        slice_size=slice_size,
        partitions=partition_count,
        extents=extents,
        total_slices=total_slices,
        data_bytes=data_bytes,
        maximum_disk_size=maximum_disk_size,
        flags=flags,
        stored_data_bytes=stored or 0,
        expanded_bytes=expanded,
        details=details,
    )


def _lz4_stream(source: ByteSource, data_bytes: int) -> int:
    """Length of the LZ4F stream after the header, checked against what its data allows."""
    at = source.offset
    head = source.read_upto(len(LZ4F_MAGIC))
    if head and head != LZ4F_MAGIC:
        raise source.error(
            f"LZ4 flag set but the data does not start with an LZ4 frame magic "
            f"(found {head.hex()})",
            at,
        )
    bound = lz4_stream_bound(data_bytes)
    # A plain file is measured, a stream read: never past the bound.
    stored = len(head) + source.remaining(None if source.seekable else bound + 1 - len(head))
    if stored > bound:
        raise source.error(
            f"LZ4 flag set but more than {bound:,} bytes follow the header: no LZ4 frame of "
            f"the {data_bytes:,} bytes of extent data is that long",
            at,
        )
    if data_bytes and stored == 0:
        raise source.error("LZ4 flag set but no compressed data follows the header")
    return stored


def _no_extra(source: ByteSource, header_length: int, data_bytes: int) -> None:
    """Fail if anything follows the extent data; in a stream, count it only so far."""
    at = source.offset
    most = limits.MAX_STREAM_TRAILING_BYTES
    extra = source.remaining(None if source.seekable else most + 1)
    if extra > most and not source.seekable:
        raise source.error(
            f"more than {describe(most)} follow the extent data (header_length "
            f"{header_length} + extent data {data_bytes}); sizebudget reads at most that "
            "much trailing data of a compressed image (MAX_STREAM_TRAILING_BYTES)",
            at,
        )
    if extra:
        raise source.error(
            f"{extra} bytes follow the extent data (header_length {header_length} + "
            f"extent data {data_bytes})"
        )
