"""``measure_image``: recognise an image by its content and measure it.

The format always comes from magic numbers, never from the file name: a compression
container first (gzip, xz, bzip2, zstd), then, inside it or in the plain file, an Android
sparse image, a sparse FVM, or else raw bytes (``sparse_file`` when the file has holes).

An explicit ``format`` is a check, not an override: it must agree with the content.  It
names either the content format or a compression; ``raw`` and ``sparse_file`` are the
same content family (plain bytes) and accept each other, the result telling which one the
file turned out to be.

Several paths are the pieces of one split Android sparse image (``simg2simg`` output, fed
to ``simg2img a b c``): every piece describes the whole partition and covers what it does
not carry with DONT_CARE, so pieces must agree on block size and block count, the
expanded size is counted once, and data is the union of the pieces' RAW/FILL blocks.

A ``limit`` (the partition room: budget minus reserve) lets a compressed image stop
expanding as soon as it is known not to fit: raw content one byte past the limit (the
result then says ``expanded_at_least``), a sparse image right after a header whose size is
above it.  Either way the details say ``stopped_early``.  Plain files are always read
through: skipping costs only seeks.  Whatever the limit, no compressed file is expanded
past ``limits.MAX_EXPANDED_BYTES``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path

from pytest_sizebudget.images import android_sparse, fvm_sparse, limits
from pytest_sizebudget.images.compression import (
    SNIFF_BYTES,
    detect_compression,
    open_compressed,
    unsupported_compression,
)
from pytest_sizebudget.images.model import (
    COMPRESSIONS,
    FORMATS,
    DetailValue,
    ImageFormatError,
    ImageSizes,
)
from pytest_sizebudget.images.source import ByteSource, open_plain
from pytest_sizebudget.images.sparse_file import scan_holes

_PLAIN = ("raw", "sparse_file")


def _content_format(head: bytes) -> str:
    if head.startswith(android_sparse.MAGIC_BYTES):
        return "android_sparse"
    if head.startswith(fvm_sparse.MAGIC_BYTES):
        return "fvm_sparse"
    return "raw"


def _check_requested(
    path: Path, requested: str | None, compression: str | None, content: str
) -> None:
    if requested is None:
        return
    if requested in COMPRESSIONS:
        if compression != requested:
            found = f"{compression}-compressed" if compression else "not compressed"
            raise ImageFormatError(
                path, 0, f"format {requested!r} requested but the file is {found}"
            )
        return
    if requested in _PLAIN and content in _PLAIN:
        return
    if requested != content:
        raise ImageFormatError(
            path,
            0,
            f"format {requested!r} requested but the content is {content!r} (by its magic number)",
        )


def _open(path: Path) -> tuple[ByteSource, int, str | None, Callable[[], None]]:
    """Source over the (decompressed) content, stored length, compression, closer."""
    source, close = open_plain(path)  # refuses anything but a regular file
    try:
        if source.size == 0:
            raise ImageFormatError(path, None, "is empty (0 bytes): no image format is empty")
        head = source.peek(SNIFF_BYTES)
        compression = detect_compression(head)
        refused = None if compression else unsupported_compression(head)
        if refused is not None:
            raise ImageFormatError(path, 0, refused)
    except BaseException:
        close()
        raise
    if compression is None:
        assert source.size is not None
        return source, source.size, None, close
    # The plain source only served to sniff the container.
    close()
    inner, stored, close = open_compressed(path, compression)
    return inner, stored, compression, close


def _expand_raw(source: ByteSource, limit: int | None, kind: str) -> tuple[int, bool]:
    """Length of decompressed raw content, and whether reading stopped past ``limit``."""
    if limit is not None and limit < limits.MAX_EXPANDED_BYTES:
        expanded = source.remaining(limit + 1)
        stopped = expanded > limit
    else:
        # No verdict to decide below the cap: the source itself stops at the cap.
        expanded, stopped = source.remaining(), False
    if expanded == 0:
        problem = f"the {kind} stream decompresses to nothing: no image format is empty"
        raise ImageFormatError(source.name, None, problem)
    return expanded, stopped


def _measure_one(
    path: Path, requested: str | None, *, pieces: bool, limit: int | None = None
) -> tuple[ImageSizes, android_sparse.SparseScan | None]:
    source, stored, compression, close = _open(path)
    # Only expansion is worth stopping: a plain file is skipped through with seeks.
    stop_above = limit if compression else None
    try:
        content = _content_format(source.peek(8))
        _check_requested(path, requested, compression, content)
        if pieces and content != "android_sparse":
            raise ImageFormatError(
                path, 0, f"only Android sparse images can be split into pieces; this is {content!r}"
            )
        details: dict[str, DetailValue] = {}
        if compression:
            details["compression"] = compression
        sparse: android_sparse.SparseScan | None = None
        if content == "android_sparse":
            sparse = android_sparse.scan(source, stop_above)
            details.update(android_sparse.details([sparse]))
            data = android_sparse.data_bytes([sparse])
            result = ImageSizes("android_sparse", stored, sparse.expanded_bytes, data, details)
        elif content == "fvm_sparse":
            fvm = fvm_sparse.scan(source, stop_above)
            details.update(fvm.details)
            result = ImageSizes("fvm_sparse", stored, fvm.expanded_bytes, fvm.data_bytes, details)
        elif compression:
            # Holes cannot survive compression; every decompressed byte counts as data.
            expanded, stopped = _expand_raw(source, limit, compression)
            if stopped:
                details["expanded_at_least"] = True
                details["stopped_early"] = True
            result = ImageSizes("raw", stored, expanded, expanded, details)
        else:
            holes = scan_holes(path)
            details.update(holes.details)
            fmt = "sparse_file" if holes.has_holes else "raw"
            result = ImageSizes(fmt, stored, holes.size, holes.data_bytes, details)
        return result, sparse
    finally:
        close()


def _measure_pieces(
    paths: Sequence[Path], requested: str | None, limit: int | None
) -> ImageSizes:
    scans: list[android_sparse.SparseScan] = []
    compressions: set[str] = set()
    stored = 0
    for path in paths:
        sizes, scan = _measure_one(path, requested, pieces=True, limit=limit)
        assert scan is not None
        first = scans[0] if scans else scan
        if (scan.blk_sz, scan.total_blks) != (first.blk_sz, first.total_blks):
            raise ImageFormatError(
                path,
                12,
                f"piece has blk_sz {scan.blk_sz} and total_blks {scan.total_blks} but "
                f"{paths[0]} has {first.blk_sz} and {first.total_blks}: not pieces of "
                "one image",
            )
        scans.append(scan)
        stored += sizes.file_bytes
        compression = sizes.details.get("compression")
        if isinstance(compression, str):
            compressions.add(compression)
    data = android_sparse.data_bytes(scans)
    details = android_sparse.details(scans)
    if compressions:
        details["compression"] = ",".join(sorted(compressions))
    return ImageSizes("android_sparse", stored, scans[0].expanded_bytes, data, details)


def measure_image(
    path: Path | Sequence[Path], format: str | None = None, *, limit: int | None = None
) -> ImageSizes:
    """Measure an image file, or the pieces of one split Android sparse image.

    ``limit`` is the largest expanded size that still fits; a compressed image is expanded
    only until it is known to be larger (see the module docstring).  Without one, a
    compressed image is expanded up to ``limits.MAX_EXPANDED_BYTES``.

    Raises ImageFormatError (an InputError) for anything that is not a well-formed image
    of a known format, naming the file, the offset and the problem.
    """
    if limit is not None and limit < 0:
        raise ValueError(f"limit must not be negative, got {limit}")
    if format is not None and format not in FORMATS + COMPRESSIONS:
        known = ", ".join(FORMATS + COMPRESSIONS)
        raise ImageFormatError(str(path), None, f"unknown image format {format!r} (known: {known})")
    if isinstance(path, str | os.PathLike):
        return _measure_one(Path(path), format, pieces=False, limit=limit)[0]
    paths = [Path(p) for p in path]
    if not paths:
        raise ImageFormatError("<no files>", None, "no image files given")
    if len(paths) == 1:
        return _measure_one(paths[0], format, pieces=False, limit=limit)[0]
    return _measure_pieces(paths, format, limit)
