"""liblp metadata (``super`` partition tables): geometry, header v10.0-10.2, four tables.

Layout and rules restated from android_super.md §3 (``fs_mgr/liblp``: ``metadata_format.h``,
``reader.cpp``, ``utility.cpp``).  All integers little-endian, structs packed:

- geometry, 52 bytes (padded to 4096): magic ``0x616C4467``, struct_size, SHA-256 of the
  struct with the checksum zeroed, metadata_max_size, metadata_slot_count,
  logical_block_size;
- header, 128 bytes (v10.0/10.1) or 256 (v10.2, with ``flags``): magic ``0x414C5030``,
  versions, header_size, header SHA-256 (field zeroed), tables_size, tables SHA-256 and
  four table descriptors (offset from the end of the header, count, entry size);
- tables: partitions (52-byte entries), extents (24), groups (48), block devices (64).

The checks are liblp's ``ParseGeometry``/``ReadMetadataHeader``/``ParseMetadata`` checks,
in their order, plus one of ours: every LINEAR extent must lie inside its block device
(liblp trusts its builder there; a budget must not).  Own code rather than the ``liblp``
port on PyPI (a test oracle here): it is a few structs, and errors must name offsets.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pytest_sizebudget.images.model import ImageFormatError

GEOMETRY_MAGIC = 0x616C4467
HEADER_MAGIC = 0x414C5030
GEOMETRY_AREA = 4096  # one geometry copy, padded
RESERVED = 4096  # zeros before the primary geometry on a device and in super.img
SECTOR = 512
MAJOR = 10
MINOR_MAX = 2
MINOR_EXPANDED_HEADER = 2  # v10.2: 256-byte header with flags
MINOR_UPDATED_ATTR = 1  # v10.1: partition attributes UPDATED and DISABLED

GEOMETRY = struct.Struct("<II32sIII")  # 52
HEADER_V0 = struct.Struct("<IHHI32sI32s12I")  # 128
HEADER_FLAGS = struct.Struct("<I")  # at 128 in a v10.2 header
PARTITION = struct.Struct("<36sIIII")  # 52
EXTENT = struct.Struct("<QIQI")  # 24
GROUP = struct.Struct("<36sIQ")  # 48
BLOCK_DEVICE = struct.Struct("<QIIQ36sI")  # 64

ATTR_READONLY = 0x1
ATTR_SLOT_SUFFIXED = 0x2
ATTR_UPDATED = 0x4
ATTR_DISABLED = 0x8
ATTR_MASK_V0 = ATTR_READONLY | ATTR_SLOT_SUFFIXED
ATTR_MASK_V1 = ATTR_MASK_V0 | ATTR_UPDATED | ATTR_DISABLED
TARGET_LINEAR = 0
TARGET_ZERO = 1
GROUP_SLOT_SUFFIXED = 0x1
DEVICE_SLOT_SUFFIXED = 0x1
HEADER_FLAG_VIRTUAL_AB = 0x1

# lpmake writes 64 KiB per copy; liblp's own limit on what a device reads is far below
# this, which only bounds what one copy may make us hold in memory.
MAX_METADATA_BYTES = 64 << 20

ReadAt = Callable[[int, int], bytes]
"""``(offset, length) -> bytes``: reads of the expanded super content (may be short at
its end)."""


@dataclass(frozen=True, slots=True)
class Geometry:
    metadata_max_size: int
    metadata_slot_count: int
    logical_block_size: int

    @property
    def total_metadata_bytes(self) -> int:
        """Reserved area, both geometries and every metadata copy (utility.cpp)."""
        return RESERVED + 2 * (GEOMETRY_AREA + self.metadata_max_size * self.metadata_slot_count)

    def primary_metadata_offset(self, slot: int) -> int:
        return RESERVED + 2 * GEOMETRY_AREA + slot * self.metadata_max_size


@dataclass(frozen=True, slots=True)
class Extent:
    num_sectors: int
    target_type: int
    target_data: int  # first sector on the block device (LINEAR)
    target_source: int  # block device index (LINEAR)

    @property
    def bytes(self) -> int:
        return self.num_sectors * SECTOR


@dataclass(frozen=True, slots=True)
class Partition:
    name: str
    attributes: int
    group: int
    extents: tuple[Extent, ...]

    @property
    def bytes(self) -> int:
        """``GetPartitionSize``: every extent, ZERO ones included."""
        return sum(e.bytes for e in self.extents)

    @property
    def linear_bytes(self) -> int:
        """``BytesOnDisk``: what group limits count."""
        return sum(e.bytes for e in self.extents if e.target_type == TARGET_LINEAR)


@dataclass(frozen=True, slots=True)
class Group:
    name: str
    flags: int
    maximum_size: int  # 0: unlimited


@dataclass(frozen=True, slots=True)
class BlockDevice:
    name: str
    first_logical_sector: int
    alignment: int
    alignment_offset: int
    size: int
    flags: int


@dataclass(frozen=True, slots=True)
class Metadata:
    geometry: Geometry
    major: int
    minor: int
    header_size: int
    flags: int
    tables_size: int
    partitions: tuple[Partition, ...]
    groups: tuple[Group, ...]
    block_devices: tuple[BlockDevice, ...]

    @property
    def super_bytes(self) -> int:
        """``GetTotalSuperPartitionSize``: the block devices' sizes."""
        return sum(d.size for d in self.block_devices)

    @property
    def allocatable_bytes(self) -> int:
        """What partitions may use: each device less its metadata area."""
        return sum(d.size - d.first_logical_sector * SECTOR for d in self.block_devices)

    @property
    def version(self) -> str:
        return f"{self.major}.{self.minor}"


def _name(raw: bytes) -> str:
    """A fixed 36-byte name: up to its first NUL, or all 36 bytes when it has none."""
    text = raw.split(b"\0", 1)[0]
    try:
        return text.decode("ascii")
    except UnicodeDecodeError:
        return text.decode("latin-1").encode("unicode_escape").decode("ascii")


def _read(read: ReadAt, offset: int, length: int, what: str, name: str) -> bytes:
    data = read(offset, length)
    if len(data) != length:
        raise ImageFormatError(
            name, offset, f"truncated {what}: {length} bytes needed, {len(data)} there"
        )
    return data


def parse_geometry(read: ReadAt, offset: int, name: str) -> Geometry:
    raw = _read(read, offset, GEOMETRY.size, "geometry", name)
    magic, struct_size, checksum, max_size, slots, block = GEOMETRY.unpack(raw)
    if magic != GEOMETRY_MAGIC:
        raise ImageFormatError(
            name, offset, f"bad geometry magic 0x{magic:08x} (expected 0x{GEOMETRY_MAGIC:08x})"
        )
    if struct_size > GEOMETRY.size:
        raise ImageFormatError(
            name,
            offset + 4,
            f"geometry struct_size {struct_size} is above {GEOMETRY.size}: unrecognized fields",
        )
    computed = hashlib.sha256(raw[:8] + bytes(32) + raw[40:struct_size]).digest()
    if computed != checksum:
        raise ImageFormatError(name, offset + 8, "geometry checksum (SHA-256) does not match")
    if struct_size != GEOMETRY.size:
        raise ImageFormatError(
            name, offset + 4, f"geometry struct_size {struct_size} is not {GEOMETRY.size}"
        )
    if slots == 0:
        raise ImageFormatError(name, offset + 44, "geometry metadata_slot_count is 0")
    if max_size % SECTOR:
        raise ImageFormatError(
            name, offset + 40, f"metadata_max_size {max_size} is not a multiple of {SECTOR}"
        )
    if max_size > MAX_METADATA_BYTES:
        raise ImageFormatError(
            name,
            offset + 40,
            f"metadata_max_size {max_size:,} is above {MAX_METADATA_BYTES:,}, the most "
            "sizebudget reads",
        )
    return Geometry(max_size, slots, block)


def parse_metadata(read: ReadAt, geometry: Geometry, offset: int, name: str) -> Metadata:
    """One metadata copy (header and tables) at ``offset``."""
    head = _read(read, offset, HEADER_V0.size, "metadata header", name)
    (magic, major, minor, header_size, header_sum, tables_size, tables_sum, *descriptors) = (
        HEADER_V0.unpack(head)
    )
    if magic != HEADER_MAGIC:
        raise ImageFormatError(
            name, offset, f"bad metadata header magic 0x{magic:08x} (expected 0x{HEADER_MAGIC:08x})"
        )
    if major != MAJOR or minor > MINOR_MAX:
        raise ImageFormatError(
            name,
            offset + 4,
            f"metadata version {major}.{minor} is not supported (10.0 to 10.{MINOR_MAX})",
        )
    expected_size = 256 if minor >= MINOR_EXPANDED_HEADER else HEADER_V0.size
    if header_size != expected_size:
        raise ImageFormatError(
            name,
            offset + 8,
            f"header_size {header_size} does not match version {major}.{minor} "
            f"(expected {expected_size})",
        )
    if header_size > HEADER_V0.size:
        head += _read(
            read,
            offset + HEADER_V0.size,
            header_size - HEADER_V0.size,
            "metadata header (v10.2 part)",
            name,
        )
    if hashlib.sha256(head[:12] + bytes(32) + head[44:]).digest() != header_sum:
        raise ImageFormatError(
            name, offset + 12, "metadata header checksum (SHA-256) does not match"
        )
    flags = HEADER_FLAGS.unpack_from(head, HEADER_V0.size)[0] if header_size > 128 else 0
    if tables_size > geometry.metadata_max_size:
        raise ImageFormatError(
            name,
            offset + 44,
            f"tables_size {tables_size:,} is above metadata_max_size "
            f"{geometry.metadata_max_size:,}",
        )
    tables_at = offset + header_size
    tables = _read(read, tables_at, tables_size, "metadata tables", name)
    if hashlib.sha256(tables).digest() != tables_sum:
        raise ImageFormatError(
            name, offset + 48, "metadata tables checksum (SHA-256) does not match"
        )

    def table(index: int, entry: struct.Struct, what: str, exact: bool) -> list[tuple[Any, ...]]:
        t_offset, count, size = descriptors[3 * index : 3 * index + 3]
        where = offset + 80 + 12 * index
        if (size != entry.size) if exact else (size < entry.size):
            raise ImageFormatError(
                name, where, f"{what} table entry_size {size} (expected {entry.size})"
            )
        if t_offset > tables_size or count * size > tables_size - t_offset:
            raise ImageFormatError(
                name,
                where,
                f"{what} table ({count} entries of {size} bytes at {t_offset}) is past "
                f"tables_size {tables_size}",
            )
        return [entry.unpack_from(tables, t_offset + i * size) for i in range(count)]

    raw_parts = table(0, PARTITION, "partition", True)
    raw_extents = table(1, EXTENT, "extent", True)
    raw_groups = table(2, GROUP, "group", True)
    # liblp does not check the block-device entry size; reading needs 64 bytes of each.
    raw_devices = table(3, BLOCK_DEVICE, "block device", False)

    devices = tuple(
        BlockDevice(_name(n), first, align, align_off, size, fl)
        for first, align, align_off, size, n, fl in raw_devices
    )
    if not devices:
        raise ImageFormatError(name, offset + 116, "the metadata lists no block device")
    groups = tuple(Group(_name(n), fl, most) for n, fl, most in raw_groups)
    extents = []
    for i, (sectors, ttype, data, source) in enumerate(raw_extents):
        if ttype not in (TARGET_LINEAR, TARGET_ZERO):
            raise ImageFormatError(name, tables_at, f"extent {i} has unknown target type {ttype}")
        if ttype == TARGET_LINEAR:
            if source >= len(devices):
                raise ImageFormatError(
                    name,
                    tables_at,
                    f"extent {i} targets block device {source}, but there are {len(devices)}",
                )
            device = devices[source]
            if (data + sectors) * SECTOR > device.size:
                raise ImageFormatError(
                    name,
                    tables_at,
                    f"extent {i} (sectors {data}..{data + sectors}) ends past the end of "
                    f"block device {device.name!r} ({device.size:,} bytes)",
                )
        extents.append(Extent(sectors, ttype, data, source))
    mask = ATTR_MASK_V1 if minor >= MINOR_UPDATED_ATTR else ATTR_MASK_V0
    partitions = []
    for raw_name, attrs, first, count, group in raw_parts:
        pname = _name(raw_name)
        if attrs & ~mask:
            raise ImageFormatError(
                name,
                tables_at,
                f"partition {pname!r} has attributes 0x{attrs:x} that version {major}.{minor} "
                "does not allow",
            )
        if first + count > len(extents):
            raise ImageFormatError(
                name,
                tables_at,
                f"partition {pname!r} names extents {first}..{first + count - 1}, but there "
                f"are {len(extents)}",
            )
        if group >= len(groups):
            raise ImageFormatError(
                name,
                tables_at,
                f"partition {pname!r} is in group {group}, but there are {len(groups)} groups",
            )
        partitions.append(Partition(pname, attrs, group, tuple(extents[first : first + count])))
    metadata_end = geometry.total_metadata_bytes
    if metadata_end > devices[0].first_logical_sector * SECTOR:
        raise ImageFormatError(
            name,
            tables_at,
            f"block device {devices[0].name!r} starts partitions at sector "
            f"{devices[0].first_logical_sector}, inside the metadata area "
            f"({metadata_end:,} bytes)",
        )
    return Metadata(
        geometry=geometry,
        major=major,
        minor=minor,
        header_size=header_size,
        flags=flags,
        tables_size=tables_size,
        partitions=tuple(partitions),
        groups=groups,
        block_devices=devices,
    )
