"""A target-files directory or ``.zip``: ``META/`` key=value files and ``IMAGES/*.img``.

Layout (android_super.md §2.4): ``META/misc_info.txt`` (required, as AOSP's
``LoadInfoDict`` requires it) and ``META/dynamic_partitions_info.txt`` (optional; merged
after it, so its keys win), partition images under ``IMAGES/<partition>.img``, raw or
Android sparse, measured by their expanded size.

In a directory an image is measured by the image reader of ``pytest_sizebudget.images``
(every chunk header checked).  In a zip only the 28-byte sparse header of a member is
read, as AOSP's ``GetImagePartitionSize`` reads it: checking every chunk would mean
inflating gigabytes of deflated image for a number the header already states.  A member
that is not sparse is measured by its uncompressed length from the zip directory.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from pytest_sizebudget.images import android_sparse, measure_image
from pytest_sizebudget.images.model import ImageFormatError
from pytest_sizebudget.paths import check_path, open_file

from .info import MAX_INFO_BYTES, InfoDict, InfoError, parse_text
from .partition_sizes import PartitionSize

MISC_INFO = "META/misc_info.txt"
DYNAMIC_INFO = "META/dynamic_partitions_info.txt"


class TargetFiles:
    """An open target-files input; ``close`` it (it holds a zip file open)."""

    def __init__(self, path: Path, shown: str) -> None:
        self.path, self.shown = path, shown
        st = check_path(path, shown, "file or directory")
        self._zip: zipfile.ZipFile | None = None
        if not path.is_dir():
            f = open_file(path, shown)[0]
            try:
                self._zip = zipfile.ZipFile(f)
            except (zipfile.BadZipFile, OSError, EOFError) as exc:
                f.close()
                raise InfoError(
                    f"{shown}: neither a directory nor a zip file ({st.st_size:,} bytes): {exc}"
                ) from None
            self._names = {i.filename: i for i in self._zip.infolist()}

    def close(self) -> None:
        if self._zip is not None:
            fp = self._zip.fp
            self._zip.close()
            if fp is not None:
                fp.close()

    def __enter__(self) -> TargetFiles:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _member(self, name: str) -> str:
        return f"{self.shown}:{name}" if self._zip is not None else f"{self.shown}/{name}"

    def _read_meta(self, name: str) -> bytes | None:
        shown = self._member(name)
        if self._zip is None:
            path = self.path / name
            if not path.exists():
                return None
            st = check_path(path, shown)
            if st.st_size > MAX_INFO_BYTES:
                raise InfoError(
                    f"{shown}: {st.st_size:,} bytes is more than a key=value file holds"
                )
            f = open_file(path, shown)[0]
            with f:
                return f.read()
        info = self._names.get(name)
        if info is None:
            return None
        if info.file_size > MAX_INFO_BYTES:
            raise InfoError(
                f"{shown}: {info.file_size:,} bytes is more than a key=value file holds"
            )
        try:
            return self._zip.read(info)
        except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
            raise InfoError(f"{shown}: cannot be read from the zip: {exc}") from None

    def info(self) -> InfoDict:
        misc = self._read_meta(MISC_INFO)
        if misc is None:
            raise InfoError(
                f"{self._member(MISC_INFO)}: does not exist (every target-files has it)"
            )
        merged = parse_text(misc, self._member(MISC_INFO))
        dynamic = self._read_meta(DYNAMIC_INFO)
        if dynamic is not None:
            merged = merged.merged(parse_text(dynamic, self._member(DYNAMIC_INFO)))
        return merged

    def has_image(self, partition: str) -> bool:
        name = f"IMAGES/{partition}.img"
        if self._zip is None:
            return (self.path / name).exists()
        return name in self._names

    def image_size(self, partition: str) -> PartitionSize | None:
        """``IMAGES/<partition>.img``'s expanded size, or None when there is none."""
        name = f"IMAGES/{partition}.img"
        shown = self._member(name)
        if self._zip is None:
            path = self.path / name
            if not path.exists():
                return None
            check_path(path, shown)
            try:
                sizes = measure_image(path)
            except ImageFormatError as exc:  # named as the user knows it, not absolute
                raise ImageFormatError(shown, exc.offset, exc.problem) from None
            return PartitionSize(sizes.expanded_bytes, name, sizes.format, sizes.file_bytes)
        info = self._names.get(name)
        if info is None:
            return None
        try:
            with self._zip.open(info) as member:
                head = member.read(android_sparse.FILE_HEADER.size)
        except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
            raise InfoError(f"{shown}: cannot be read from the zip: {exc}") from None
        if not head.startswith(android_sparse.MAGIC_BYTES):
            return PartitionSize(info.file_size, name, "raw", info.compress_size)
        if len(head) < android_sparse.FILE_HEADER.size:
            raise ImageFormatError(shown, 0, "truncated sparse file header")
        _m, major, _n, hdr, chunk_hdr, blk, total_blks, _c, _s = android_sparse.FILE_HEADER.unpack(
            head
        )
        if major != 1 or hdr < 28 or chunk_hdr < 12 or blk == 0 or blk % 4:
            raise ImageFormatError(
                shown,
                4,
                f"unusable sparse header (major {major}, file_hdr_sz {hdr}, "
                f"chunk_hdr_sz {chunk_hdr}, blk_sz {blk})",
            )
        return PartitionSize(blk * total_blks, name, "android_sparse", info.compress_size)
