"""Holes in plain files: which bytes of a raw image carry data (android_yocto.md §6).

The extent map comes from the ``FS_IOC_FIEMAP`` ioctl first, as wic's and bmaptool's
filemap do, and from ``lseek(SEEK_DATA/SEEK_HOLE)`` where the file system has no FIEMAP
(tmpfs, ramfs, some FUSE and NFS mounts).  Unlike wic, extents flagged UNWRITTEN
(``posix_fallocate`` space never written) count as holes: they read back as zeros and a
flashing tool need not write them, which is also what SEEK_DATA says on ext4.  The
details name the method (``data_method``: ``fiemap`` or ``seek_data``) and, from FIEMAP,
the ``unwritten_bytes`` left out.

Both run on a raw descriptor opened only for this purpose.  Mixing such lseeks with a
buffered reader on the same descriptor corrupts the reader's idea of its position (the
wic/filemap bug, YOCTO #16197), so nothing else ever reads through this descriptor.

Without FIEMAP, some file systems (ramfs) implement SEEK_HOLE as "everything is data".
Such a stub can only hide holes, never invent them, so it matters only when a file looks
hole-free while fewer bytes are allocated than its length.  Only then is the directory
probed the way wic and bmaptool do it: a fresh one-block truncated file must report a
hole at 0.  On a stub (or when the probe cannot run) the allocated size
``st_blocks * 512`` stands in for the data size, and the details say so.

Semantics to know: data ranges are block-granular (a 100-byte write counts as a block),
written zeros are data, and unwritten preallocated extents count as holes on ext4.
"""

from __future__ import annotations

import contextlib
import errno
import os
import struct
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from pytest_sizebudget.images.model import DetailValue
from pytest_sizebudget.images.source import open_regular


@dataclass(frozen=True)
class HoleScan:
    size: int
    data_bytes: int
    has_holes: bool
    details: dict[str, DetailValue]


# linux/fiemap.h: struct fiemap (32 bytes), then fm_extent_count struct fiemap_extent (56).
_FS_IOC_FIEMAP = 0xC020660B
_FIEMAP_HEAD = struct.Struct("=QQLLLL")
_FIEMAP_EXTENT = struct.Struct("=QQQQQLLLL")
_FIEMAP_FLAG_SYNC = 0x1  # flush delayed allocation first, so every extent has a place
_EXTENT_LAST = 0x1
_EXTENT_UNWRITTEN = 0x800
# Extents asked for per ioctl: 224 KiB of buffer (wic's is 256 KiB); a fragmented file
# takes several calls.
_FIEMAP_BATCH = 4096


@dataclass(frozen=True, slots=True)
class ExtentMap:
    data_bytes: int  # bytes below the file's length that are mapped and written
    ranges: int  # runs of data, adjacent extents joined (as SEEK_DATA/SEEK_HOLE see them)
    unwritten_bytes: int = 0  # mapped but never written (preallocated): counted as holes


def fiemap_extents(fd: int, size: int) -> ExtentMap | None:
    """The file's data per FIEMAP, or None where the file system does not support it."""
    if not sys.platform.startswith("linux"):
        return None
    import fcntl

    buf = bytearray(_FIEMAP_HEAD.size + _FIEMAP_BATCH * _FIEMAP_EXTENT.size)
    data = ranges = unwritten = 0
    last_end = -1  # end of the previous data extent, to join adjacent ones
    start = 0
    flags = _FIEMAP_FLAG_SYNC  # the first call flushes the file; later ones need not
    while start < size:
        _FIEMAP_HEAD.pack_into(buf, 0, start, size - start, flags, 0, _FIEMAP_BATCH, 0)
        flags = 0
        try:
            fcntl.ioctl(fd, _FS_IOC_FIEMAP, buf, True)
        except OSError:
            # EOPNOTSUPP from the file system or ENOTTY from the kernel (wic's two cases),
            # or anything else: SEEK_DATA/SEEK_HOLE then answer, or fail with their reason.
            return None
        mapped = _FIEMAP_HEAD.unpack_from(buf, 0)[3]
        if mapped == 0:
            break  # nothing mapped from start on: the rest is a hole
        done = False
        end = start
        head = _FIEMAP_HEAD.size
        extents = memoryview(buf)[head : head + min(mapped, _FIEMAP_BATCH) * _FIEMAP_EXTENT.size]
        for logical, _, length, _, _, fe_flags, _, _, _ in _FIEMAP_EXTENT.iter_unpack(extents):
            lo, hi = max(logical, start), min(logical + length, size)
            end = max(end, logical + length)
            if hi > lo:
                if fe_flags & _EXTENT_UNWRITTEN:
                    unwritten += hi - lo
                else:
                    data += hi - lo
                    if lo != last_end:
                        ranges += 1
                    last_end = hi
            if fe_flags & _EXTENT_LAST:
                done = True
        if done:
            break
        if end <= start:
            return None  # a map that does not move forward would loop: trust SEEK instead
        start = end
    return ExtentMap(data, ranges, unwritten)


def _data_ranges(fd: int, size: int) -> tuple[int, int] | None:
    """(data bytes, number of data ranges) per SEEK_DATA/SEEK_HOLE, None if unsupported."""
    seek_data = getattr(os, "SEEK_DATA", None)
    seek_hole = getattr(os, "SEEK_HOLE", None)
    if seek_data is None or seek_hole is None:
        return None
    data = ranges = 0
    pos = 0
    while pos < size:
        try:
            start = os.lseek(fd, pos, seek_data)
        except OSError as exc:
            if exc.errno == errno.ENXIO:  # no data at or after pos: the rest is a hole
                break
            return None
        try:
            end = min(os.lseek(fd, start, seek_hole), size)
        except OSError:
            return None
        if start < pos or end <= start:
            # A conforming implementation always moves forward; anything else would loop.
            return None
        data += end - start
        ranges += 1
        pos = end
    return data, ranges


def _seek_hole_is_stub(directory: Path, block: int) -> bool | None:
    """True if SEEK_HOLE in ``directory`` never reports holes, None if it cannot be probed."""
    seek_hole = getattr(os, "SEEK_HOLE", None)
    if seek_hole is None:
        return None
    try:
        fd, name = tempfile.mkstemp(prefix=".sizebudget-holeprobe-", dir=directory)
    except OSError:
        return None
    try:
        os.ftruncate(fd, block)
        return os.lseek(fd, 0, seek_hole) != 0
    except OSError:
        return None
    finally:
        os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(name)


def scan_holes(path: Path) -> HoleScan:
    fd = open_regular(path)
    try:
        st = os.fstat(fd)
        size = st.st_size
        blocks = getattr(st, "st_blocks", None)
        allocated = None if blocks is None else blocks * 512
        extents = fiemap_extents(fd, size) if size else ExtentMap(0, 0)
        found = None if extents is not None else _data_ranges(fd, size)
    finally:
        os.close(fd)

    details: dict[str, DetailValue] = {}
    if allocated is not None:
        details["allocated_bytes"] = allocated
    if extents is not None:
        # FIEMAP maps real extents: no stub to probe for (ramfs and tmpfs have none).
        details["data_method"] = "fiemap"
        if extents.unwritten_bytes:
            details["unwritten_bytes"] = extents.unwritten_bytes
        if extents.data_bytes < size:
            details["data_ranges"] = extents.ranges
        return HoleScan(size, extents.data_bytes, extents.data_bytes < size, details)
    if found is not None and found[0] < size:
        details["data_method"] = "seek_data"
        details["data_ranges"] = found[1]
        return HoleScan(size, found[0], True, details)

    looks_short = allocated is not None and allocated < size
    if found is not None and not looks_short:
        details["data_method"] = "seek_data"
        return HoleScan(size, size, False, details)

    if found is not None:
        block = max(getattr(st, "st_blksize", 4096) or 4096, 512)
        stub = _seek_hole_is_stub(path.parent, block)
        if stub is False:
            # Real hole support and no holes: fewer allocated bytes than the length come
            # from compression or inline storage, not from holes.
            details["data_method"] = "seek_data"
            return HoleScan(size, size, False, details)
        details["seek_hole"] = "stub" if stub else "unprobed"
    else:
        details["seek_hole"] = "unsupported"

    if allocated is not None and allocated < size:
        details["data_method"] = "st_blocks"
        return HoleScan(size, allocated, True, details)
    details["data_method"] = "assumed_all_data"
    return HoleScan(size, size, False, details)
