"""``super.img`` and ``super_empty.img``: find the liblp metadata, and say what it means.

Containers (android_super.md §3.6-3.8), told apart by their first bytes:

- ``super_empty.img``: the geometry at offset 0, one metadata copy right after it at 4096;
- raw ``super.img``: 4096 zero bytes, the geometry at 4096 (backup at 8192), then every
  slot's primary and backup metadata;
- Android sparse ``super.img`` (lpmake ``--sparse``), whole or split into pieces
  (``simg2simg``): the same bytes once expanded.  Only the chunks that cover the metadata
  are looked up and read; the rest of a 10 GB image is never expanded (its structure is
  checked by the sparse reader in ``pytest_sizebudget.images``, seeking past data).

The geometry is verified (and, in a full image, must equal its backup), then slot 0's
primary metadata is parsed with every checksum verified.  ``metadata_info`` turns the
tables into the keys ``check_partition_sizes.py`` reads, so that an image and its info
files are checked by one implementation.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, NamedTuple

from pytest_sizebudget.images import android_sparse
from pytest_sizebudget.images.model import ImageFormatError
from pytest_sizebudget.paths import open_file

from . import liblp
from .info import InfoDict, InfoValue

GEOMETRY_MAGIC_BYTES = struct.pack("<I", liblp.GEOMETRY_MAGIC)


@dataclass(frozen=True, slots=True)
class SuperImage:
    container: str  # "super_empty", "raw" or "android_sparse"
    metadata: liblp.Metadata
    expanded_bytes: int  # the super content's length (super_empty: the file's)


class _Chunk(NamedTuple):
    start: int  # first block
    end: int  # block after the last
    kind: int
    at: int  # file offset of its data


class _SparseView:
    """Reads of the expanded bytes of one sparse file, walking its chunk headers only as
    far as a read needs."""

    def __init__(self, f: BinaryIO, name: str) -> None:
        self.f, self.name = f, name
        head = self._pread(0, android_sparse.FILE_HEADER.size)
        if len(head) < android_sparse.FILE_HEADER.size:
            raise ImageFormatError(name, 0, "truncated sparse file header")
        (magic, major, _minor, file_hdr, chunk_hdr, blk, total_blks, total_chunks, _crc) = (
            android_sparse.FILE_HEADER.unpack(head)
        )
        if magic != android_sparse.MAGIC or major != 1 or blk == 0 or blk % 4:
            raise ImageFormatError(name, 0, "not a usable Android sparse header")
        self.blk: int = blk
        self.total_blks: int = total_blks
        self.chunks_left: int = total_chunks
        self.chunk_hdr: int = chunk_hdr
        self.next_at: int = file_hdr
        self.next_block = 0
        self.chunks: list[_Chunk] = []

    def _pread(self, offset: int, n: int) -> bytes:
        return os.pread(self.f.fileno(), n, offset)

    def _walk_to(self, block: int) -> None:
        while self.next_block <= block and self.chunks_left > 0:
            raw = self._pread(self.next_at, android_sparse.CHUNK_HEADER.size)
            if len(raw) < android_sparse.CHUNK_HEADER.size:
                raise ImageFormatError(self.name, self.next_at, "truncated chunk header")
            kind, _res, chunk_sz, total_sz = android_sparse.CHUNK_HEADER.unpack(raw)
            data_at = self.next_at + self.chunk_hdr
            self.next_at += total_sz
            self.chunks_left -= 1
            if kind == android_sparse.CRC32 or chunk_sz == 0:
                continue
            end = self.next_block + chunk_sz
            self.chunks.append(_Chunk(self.next_block, end, kind, data_at))
            self.next_block = end

    def block(self, index: int) -> bytes | None:
        """Block ``index`` as expanded, or None where this file does not carry it."""
        self._walk_to(index)
        for chunk in reversed(self.chunks):  # reads go forward: the last chunk is usual
            if chunk.start <= index < chunk.end:
                if chunk.kind == android_sparse.RAW:
                    return self._pread(chunk.at + (index - chunk.start) * self.blk, self.blk)
                if chunk.kind == android_sparse.FILL:
                    return self._pread(chunk.at, 4) * (self.blk // 4)
                return None
            if chunk.end <= index:
                break
        return None


def _sparse_reader(views: Sequence[_SparseView]) -> liblp.ReadAt:
    blk = views[0].blk
    size = views[0].total_blks * blk

    def read(offset: int, length: int) -> bytes:
        end = min(offset + length, size)
        out = bytearray()
        at = offset
        while at < end:
            index, skip = divmod(at, blk)
            data = next((b for v in views if (b := v.block(index)) is not None), bytes(blk))
            piece = data[skip : skip + (end - at)]
            if not piece:
                break
            out += piece
            at += len(piece)
        return bytes(out)

    return read


def read_super(paths: Sequence[Path], shown: Sequence[str]) -> SuperImage:
    """The metadata of a super image (several paths: the pieces of one sparse image)."""
    files: list[BinaryIO] = []
    try:
        for path, name in zip(paths, shown, strict=True):
            files.append(open_file(path, name)[0])
        return _read_super(files, list(shown))
    finally:
        for f in files:
            f.close()


def _read_super(files: list[BinaryIO], shown: list[str]) -> SuperImage:
    first, name = files[0], shown[0]
    size = os.fstat(first.fileno()).st_size
    head = os.pread(first.fileno(), 4, 0)
    if head == android_sparse.MAGIC_BYTES:
        views = [_SparseView(f, n) for f, n in zip(files, shown, strict=True)]
        read = _sparse_reader(views)
        return _full(read, views[0].total_blks * views[0].blk, "android_sparse", name)
    if len(files) > 1:
        raise ImageFormatError(name, 0, "only Android sparse super images come in pieces")

    def read_plain(offset: int, length: int) -> bytes:
        return os.pread(first.fileno(), length, offset)

    if head == GEOMETRY_MAGIC_BYTES:
        geometry = liblp.parse_geometry(read_plain, 0, name)
        metadata = liblp.parse_metadata(read_plain, geometry, liblp.GEOMETRY_AREA, name)
        return SuperImage("super_empty", metadata, size)
    if read_plain(liblp.RESERVED, 4) == GEOMETRY_MAGIC_BYTES:
        return _full(read_plain, size, "raw", name)
    raise ImageFormatError(
        name,
        0,
        "not a super image: no Android sparse magic at offset 0, no liblp geometry magic "
        f"(0x{liblp.GEOMETRY_MAGIC:08x}) at offset 0 (super_empty.img) or at offset 4096 "
        "(super.img)",
    )


def _full(read: liblp.ReadAt, size: int, container: str, name: str) -> SuperImage:
    geometry = liblp.parse_geometry(read, liblp.RESERVED, name)
    backup_at = liblp.RESERVED + liblp.GEOMETRY_AREA
    if read(backup_at, liblp.GEOMETRY.size) != read(liblp.RESERVED, liblp.GEOMETRY.size):
        raise ImageFormatError(name, backup_at, "the backup geometry differs from the primary")
    metadata = liblp.parse_metadata(read, geometry, geometry.primary_metadata_offset(0), name)
    device = metadata.block_devices[0]
    if size < device.size:
        raise ImageFormatError(
            name,
            None,
            f"the image expands to {size:,} bytes, less than its block device "
            f"{device.name!r} ({device.size:,} bytes): truncated",
        )
    return SuperImage(container, metadata, size)


# --- the metadata as check_partition_sizes.py keys -----------------------------------------


def _slot_a(name: str) -> str | None:
    return name[:-2] if name.endswith("_a") else None


def metadata_info(image: SuperImage, origin: str) -> InfoDict:
    """The keys ``check_partition_sizes.py`` reads, as this metadata implies them.

    - Partitions carrying SLOT_SUFFIXED (``lpmake --auto-slot-suffixing``): retrofit
      dynamic partitions on an A/B device.
    - Partitions named in ``_a``/``_b`` pairs: launch A/B; with the v10.2 Virtual A/B
      header flag, launch Virtual A/B, whose ``system_b`` holds ``system_other``.  Slot
      ``a`` is what is checked (both slots have the same groups and sizes).  Retrofit
      Virtual A/B looks the same as A/B and has the same 2 slots.
    - Otherwise non-A/B.
    Group sizes are the groups' ``maximum_size`` (0, unlimited, is left out as AOSP's
    ``default`` group is); partition sizes are the sizes of their extents.
    """
    md = image.metadata
    values: dict[str, str] = {"use_dynamic_partitions": "true"}
    groups = {i: g for i, g in enumerate(md.groups)}
    retrofit = any(p.attributes & liblp.ATTR_SLOT_SUFFIXED for p in md.partitions)
    names = {p.name for p in md.partitions}
    paired = any(_slot_a(n) is not None and f"{_slot_a(n)}_b" in names for n in names)

    def group_name(g: liblp.Group) -> str:
        return (_slot_a(g.name) or g.name) if paired else g.name

    if retrofit:
        values.update(ab_update="true", dynamic_partition_retrofit="true")
        chosen = list(md.partitions)
        part_name = {p.name: p.name for p in chosen}
    elif paired:
        values["ab_update"] = "true"
        if md.flags & liblp.HEADER_FLAG_VIRTUAL_AB:
            values["virtual_ab"] = "true"
        chosen = [p for p in md.partitions if _slot_a(p.name) is not None]
        part_name = {p.name: _slot_a(p.name) or p.name for p in chosen}
    else:
        chosen = list(md.partitions)
        part_name = {p.name: p.name for p in chosen}

    values["super_partition_size"] = str(md.super_bytes)
    values["super_block_devices"] = " ".join(d.name for d in md.block_devices)
    for d in md.block_devices:
        values[f"super_{d.name}_device_size"] = str(d.size)
    values["dynamic_partition_list"] = " ".join(part_name[p.name] for p in chosen)
    for p in chosen:
        values[f"{part_name[p.name]}_image_size"] = str(p.bytes)
    if values.get("virtual_ab") == "true":
        other = next((p for p in md.partitions if p.name == "system_b"), None)
        if other is not None and other.bytes:
            values["system_other_image_size"] = str(other.bytes)
    listed: dict[str, list[str]] = {}
    for p in chosen:
        g = groups[p.group]
        if g.maximum_size:
            listed.setdefault(group_name(g), []).append(part_name[p.name])
    sized = [g for g in md.groups if g.maximum_size and (not paired or g.name.endswith("_a"))]
    values["super_partition_groups"] = " ".join(group_name(g) for g in sized)
    for g in sized:
        values[f"super_{group_name(g)}_group_size"] = str(g.maximum_size)
        values[f"super_{group_name(g)}_partition_list"] = " ".join(listed.get(group_name(g), []))
    return InfoDict({k: InfoValue(v, origin) for k, v in values.items()})
