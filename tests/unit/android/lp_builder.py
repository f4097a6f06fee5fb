"""A test-only writer of liblp metadata, from the documented format (android_super.md §3).

No AOSP tool that writes super images (lpmake) is packaged for Debian, so the tests build
their super images here, the way lpmake lays them out: partition sizes rounded up to the
logical block size, extents packed from the first aligned sector, each starting on an
alignment boundary; geometry at 4096 and 8192, then every slot's primary and backup
metadata, each padded to ``metadata_max_size``.  The independent ``liblp`` port from PyPI
reads them back in the tests (an oracle for this writer and for the plugin's reader).
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass, field
from pathlib import Path

MIB = 1 << 20
SECTOR = 512


@dataclass
class Part:
    name: str
    size: int
    group: str = "default"
    attrs: int = 1  # READONLY
    zero_extent: int = 0  # bytes of a ZERO extent appended (liblp counts it in the size)


@dataclass
class Layout:
    device_size: int
    partitions: list[Part] = field(default_factory=list)
    groups: list[tuple[str, int, int]] = field(default_factory=list)  # name, max, flags
    slots: int = 3
    metadata_max_size: int = 65536
    block_size: int = 4096
    alignment: int = MIB
    minor: int = 0
    flags: int = 0
    device_name: str = "super"
    device_flags: int = 0
    extra_devices: list[tuple[str, int, int]] = field(default_factory=list)  # name, size, flags
    # Deliberate damage, for the malformed-input tests:
    extent_past_end: bool = False

    @property
    def metadata_total(self) -> int:
        return 4096 + 2 * (4096 + self.metadata_max_size * self.slots)

    @property
    def first_sector(self) -> int:
        total = self.metadata_total
        return -(-total // self.alignment) * self.alignment // SECTOR


def geometry(layout: Layout) -> bytes:
    body = struct.pack(
        "<II32sIII",
        0x616C4467,
        52,
        bytes(32),
        layout.metadata_max_size,
        layout.slots,
        layout.block_size,
    )
    digest = hashlib.sha256(body).digest()
    body = body[:8] + digest + body[40:]
    return body + bytes(4096 - len(body))


def extents_of(layout: Layout) -> dict[str, list[tuple[int, int, int, int]]]:
    """name -> [(num_sectors, type, target_data, source)]"""
    out: dict[str, list[tuple[int, int, int, int]]] = {}
    sector = layout.first_sector
    align = layout.alignment // SECTOR
    for p in layout.partitions:
        rounded = -(-p.size // layout.block_size) * layout.block_size
        exts = []
        if rounded:
            sector = -(-sector // align) * align
            exts.append((rounded // SECTOR, 0, sector, 0))
            sector += rounded // SECTOR
        if p.zero_extent:
            exts.append((p.zero_extent // SECTOR, 1, 0, 0))
        out[p.name] = exts
    if layout.extent_past_end:
        first = layout.partitions[0].name
        n, t, _, s = out[first][0]
        out[first][0] = (n, t, layout.device_size // SECTOR - n + 8, s)
    return out


def metadata(layout: Layout) -> bytes:
    group_names = ["default", *[g[0] for g in layout.groups]]
    groups = b"".join(
        struct.pack("<36sIQ", n.encode(), fl, most)
        for n, most, fl in [("default", 0, 0), *layout.groups]
    )
    exts = extents_of(layout)
    parts = b""
    extents = b""
    index = 0
    for p in layout.partitions:
        mine = exts[p.name]
        parts += struct.pack(
            "<36sIIII", p.name.encode(), p.attrs, index, len(mine), group_names.index(p.group)
        )
        for e in mine:
            extents += struct.pack("<QIQI", *e)
        index += len(mine)
    devices = struct.pack(
        "<QIIQ36sI",
        layout.first_sector,
        layout.alignment,
        0,
        layout.device_size,
        layout.device_name.encode(),
        layout.device_flags,
    )
    for name, size, fl in layout.extra_devices:
        devices += struct.pack("<QIIQ36sI", 0, layout.alignment, 0, size, name.encode(), fl)
    tables = parts + extents + groups + devices
    offsets = [0, len(parts), len(parts) + len(extents), len(parts) + len(extents) + len(groups)]
    counts = [len(layout.partitions), index, len(group_names), 1 + len(layout.extra_devices)]
    sizes = [52, 24, 48, 64]
    desc = b"".join(
        struct.pack("<III", o, c, s) for o, c, s in zip(offsets, counts, sizes, strict=False)
    )
    header_size = 256 if layout.minor >= 2 else 128
    header = (
        struct.pack(
            "<IHHI32sI32s",
            0x414C5030,
            10,
            layout.minor,
            header_size,
            bytes(32),
            len(tables),
            hashlib.sha256(tables).digest(),
        )
        + desc
    )
    if header_size == 256:
        header += struct.pack("<I", layout.flags) + bytes(124)
    header = header[:12] + hashlib.sha256(header).digest() + header[44:]
    return header + tables


def super_empty(layout: Layout) -> bytes:
    return geometry(layout)[:4096] + metadata(layout)


def write_super(path: Path, layout: Layout, images: dict[str, bytes] | None = None) -> None:
    """A raw super.img of the device's full size, with ``images`` at their extents."""
    md = metadata(layout)
    padded = md + bytes(layout.metadata_max_size - len(md))
    geo = geometry(layout)
    with open(path, "wb") as f:
        f.truncate(layout.device_size)
        f.seek(4096)
        f.write(geo + geo)
        f.write(padded * (2 * layout.slots))
        exts = extents_of(layout)
        for name, data in (images or {}).items():
            f.seek(exts[name][0][2] * SECTOR)
            f.write(data)
