"""Holes in plain files: which bytes of a raw image carry data (android_yocto.md §6).

Data ranges come from ``lseek(SEEK_DATA/SEEK_HOLE)`` on a raw descriptor opened only for
this purpose.  Mixing such lseeks with a buffered reader on the same descriptor corrupts
the reader's idea of its position (the wic/filemap bug, YOCTO #16197), so nothing else
ever reads through this descriptor.

Some file systems (ramfs) implement SEEK_HOLE as "everything is data".  Such a stub can
only hide holes, never invent them, so it matters only when a file looks hole-free while
fewer bytes are allocated than its length.  Only then is the directory probed the way
wic and bmaptool do it: a fresh one-block truncated file must report a hole at 0.  On a
stub (or when the probe cannot run) the allocated size ``st_blocks * 512`` stands in for
the data size, and the details say so.

Semantics to know: data ranges are block-granular (a 100-byte write counts as a block),
written zeros are data, and unwritten preallocated extents count as holes on ext4.
"""

from __future__ import annotations

import contextlib
import errno
import os
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
        found = _data_ranges(fd, size) if size else (0, 0)
    finally:
        os.close(fd)

    details: dict[str, DetailValue] = {}
    if allocated is not None:
        details["allocated_bytes"] = allocated
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
