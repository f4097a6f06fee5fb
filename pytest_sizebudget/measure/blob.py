"""Measuring one blob file: merkle root and blobfs size in a single bounded-memory pass.

Each piece read is hashed and handed to the chunked compressor, then dropped, so memory
does not grow with the blob.  Every input problem becomes a ``MeasurementError`` whose
message names the file and what is wrong with it.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import BinaryIO

from pytest_sizebudget.errors import MeasurementError
from pytest_sizebudget.paths import (
    PathProblem,
    check_path,
    open_descriptor,
    open_file,
    printable,
)

from .blobfs import (
    Layout,
    archive_header_size,
    frame_count,
    max_useful_compressed_size,
    stored_size,
)
from .compress import ChunkedSizer, batch_size
from .delivery import DELIVERY_RULE_VERSION, delivery_size, max_useful_archive_size
from .formats import StorageFormat, check_format
from .fxfs import FRAME_CHECKSUM_BYTES, frame_bytes, fxfs_size, max_useful_frames_size
from .memory import ByteBudget, CompressorPool
from .merkle import MerkleHasher

READ_SIZE = 1 << 20


@dataclass(frozen=True, slots=True)
class BlobMeasurement:
    """What blobfs or Fxfs would store for one blob, in the terms of blobs.json.

    ``layout`` is the storage format: a blobfs layout, or ``"fxfs"``.
    ``compressed_bytes`` is the compressed data size when the filesystem keeps the blob
    compressed (blobfs: the chunked archive; Fxfs: the frames alone), else ``None``.
    ``stored_data_bytes`` is what is written: that size or the file size.
    ``merkle_tree_bytes`` is blobfs's Merkle tree, or Fxfs's serialized metadata.
    ``size_on_disk`` is the block aligned size, blobs.json's ``size`` /
    ``used_space_in_blobfs``.  ``delivery_bytes`` is the Type-1 delivery blob's size
    (what an OTA downloads), ``None`` when it was not asked for.
    """

    merkle: str
    file_size: int
    compressed_bytes: int | None
    stored_data_bytes: int
    merkle_tree_bytes: int
    size_on_disk: int
    layout: StorageFormat
    delivery_bytes: int | None = None

    @classmethod
    def from_frames(
        cls,
        merkle: str,
        file_size: int,
        frames: Sequence[int] | None,
        fmt: StorageFormat,
        *,
        delivery: bool = False,
    ) -> BlobMeasurement:
        """From the chunked frames' sizes (blobfs's, without checksums), or ``None`` when
        they were not needed: compression cannot pay in ``fmt`` (nor, with ``delivery``,
        for the delivery blob)."""
        typed = None if frames is None else frame_bytes(frames)
        delivered = delivery_size(file_size, typed) if delivery else None
        if fmt == "fxfs":
            fx = fxfs_size(file_size, typed)
            return cls(
                merkle=merkle,
                file_size=file_size,
                compressed_bytes=fx.data_bytes if fx.compressed else None,
                stored_data_bytes=fx.data_bytes,
                merkle_tree_bytes=fx.metadata_bytes,
                size_on_disk=fx.size_on_disk,
                layout=fmt,
                delivery_bytes=delivered,
            )
        archive = None if frames is None else archive_header_size(len(frames)) + sum(frames)
        blobfs = cls.from_sizes(merkle, file_size, archive, fmt)
        return blobfs if delivered is None else replace(blobfs, delivery_bytes=delivered)

    @classmethod
    def from_sizes(
        cls, merkle: str, file_size: int, compressed_size: int | None, layout: Layout
    ) -> BlobMeasurement:
        stored = stored_size(file_size, compressed_size, layout)
        return cls(
            merkle=merkle,
            file_size=file_size,
            compressed_bytes=stored.stored_data_bytes if stored.compressed else None,
            stored_data_bytes=stored.stored_data_bytes,
            merkle_tree_bytes=stored.merkle_tree_bytes,
            size_on_disk=stored.size_on_disk,
            layout=layout,
        )

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {
            "merkle": self.merkle,
            "file_size": self.file_size,
            "compressed_bytes": self.compressed_bytes,
            "stored_data_bytes": self.stored_data_bytes,
            "merkle_tree_bytes": self.merkle_tree_bytes,
            "size_on_disk": self.size_on_disk,
            "layout": self.layout,
        }
        if self.delivery_bytes is not None:
            # The rule travels with the size: a cache entry made under another rule is
            # read without it (and the blob measured again when it is needed).
            out["delivery_bytes"] = self.delivery_bytes
            out["delivery_rule"] = DELIVERY_RULE_VERSION
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> BlobMeasurement:
        """Inverse of ``to_dict``; ``ValueError`` on any missing or mistyped field."""

        def integer(name: str) -> int:
            value = data.get(name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValueError(f"field {name!r} must be a non-negative integer, got {value!r}")
            return value

        merkle = data.get("merkle")
        if not isinstance(merkle, str) or len(merkle) != 64:
            raise ValueError(f"field 'merkle' must be 64 hex digits, got {merkle!r}")
        layout = data.get("layout")
        if not isinstance(layout, str):
            raise ValueError(f"field 'layout' must be a string, got {layout!r}")
        compressed = data.get("compressed_bytes")
        delivered = None
        if data.get("delivery_bytes") is not None and data.get("delivery_rule") == (
            DELIVERY_RULE_VERSION
        ):
            delivered = integer("delivery_bytes")
        return cls(
            merkle=merkle,
            file_size=integer("file_size"),
            compressed_bytes=None if compressed is None else integer("compressed_bytes"),
            stored_data_bytes=integer("stored_data_bytes"),
            merkle_tree_bytes=integer("merkle_tree_bytes"),
            size_on_disk=integer("size_on_disk"),
            layout=check_format(layout),
            delivery_bytes=delivered,
        )


@dataclass(frozen=True, slots=True)
class FileIdentity:
    """The stat fields that change whenever a file's content can have changed."""

    size: int
    mtime_ns: int
    ctime_ns: int
    inode: int
    device: int

    @classmethod
    def of(cls, st: os.stat_result) -> FileIdentity:
        return cls(st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev)


def _describe_os_error(path: Path, error: OSError) -> MeasurementError:
    """A read that failed after the file was opened."""
    if isinstance(error, FileNotFoundError):
        what = "does not exist (missing, or removed while the budget was being checked)"
    elif isinstance(error, PermissionError):
        what = "cannot be read: permission denied"
    else:
        what = f"cannot be read: {error.strerror or error}"
    return MeasurementError(f"blob {printable(str(path))}: {what}")


def _blob_error(problem: PathProblem) -> MeasurementError:
    return MeasurementError(f"blob {problem}")


def open_blob(path: Path) -> tuple[BinaryIO, FileIdentity]:
    """The blob file opened for reading, and its identity taken from the open descriptor.

    Only a regular file is ever opened (``paths.open_file``): a FIFO given as a blob
    would block the read forever, a device such as /dev/zero never end.
    """
    try:
        f, st = open_file(path, str(path))
    except PathProblem as problem:
        raise _blob_error(problem) from None
    return f, FileIdentity.of(st)


def stat_blob(path: Path) -> FileIdentity:
    """Identity of a blob file without opening it; the same errors as ``open_blob``."""
    try:
        return FileIdentity.of(check_path(path, str(path), "file"))
    except PathProblem as problem:
        raise _blob_error(problem) from None


def has_size(path: Path | str | None, size: int) -> bool:
    """Whether ``path`` is a regular file of ``size`` bytes: one ``stat``, no read.

    The check a cached answer for a claimed merkle must pass before it is used: a file of
    another length cannot hold the blob it claims, and a run that reads the file (a cold
    one) would say so.  Any failure (missing, FIFO, NUL byte) is ``False``: the caller then
    takes the cold path, which reports it.
    """
    if path is None:
        return True  # nothing on disk to disagree with (and nothing a cold run could read)
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return False
    return _is_file_of(st, size)


def _is_file_of(st: os.stat_result, size: int) -> bool:
    return stat.S_ISREG(st.st_mode) and st.st_size == size


_BY_DIRECTORY = os.stat in os.supports_dir_fd and hasattr(os, "O_DIRECTORY")


def all_have_sizes(directory: str, names: Sequence[str], sizes: Sequence[int]) -> bool:
    """Whether every ``directory/name`` is a regular file of its size: ``has_size`` for
    the files of one directory, each looked up from the directory opened once (a warm
    run makes this check of tens of thousands of files; a name is one path step to
    resolve, not the whole path)."""
    if len(names) != len(sizes):
        return False
    if not _BY_DIRECTORY:
        pairs = zip(names, sizes, strict=True)
        return all(has_size(os.path.join(directory, n), s) for n, s in pairs)
    try:
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | getattr(os, "O_PATH", 0))
    except (OSError, ValueError):
        return False
    try:
        for name, size in zip(names, sizes, strict=True):
            try:
                st = os.stat(name, dir_fd=fd)
            except (OSError, ValueError):
                return False
            if not _is_file_of(st, size):
                return False
        return True
    finally:
        os.close(fd)


def check_expected_size(path: Path, actual: int, expected: int | None) -> None:
    if expected is not None and actual != expected:
        raise MeasurementError(
            f"blob {printable(str(path))}: file is {actual} bytes but {expected} bytes "
            "were expected"
        )


def check_expected_merkle(path: Path, actual: str, expected: str | None) -> None:
    if expected is not None and actual != expected.lower():
        raise MeasurementError(
            f"blob {printable(str(path))}: merkle root is {actual} but {expected} was claimed"
        )


def _read_pieces(
    path: Path, f: BinaryIO, size: int, piece: int, sinks: list[Callable[[bytes], object]]
) -> None:
    done = 0
    try:
        while data := f.read(piece):
            done += len(data)
            if done > size:
                break
            for sink in sinks:
                sink(data)
    except OSError as error:
        raise _describe_os_error(path, error) from error
    if done != size:
        raise _changed(path, size, done)


def _changed(path: Path, size: int, read: int) -> MeasurementError:
    """A file whose length is not the one it had when opened."""
    return MeasurementError(
        f"blob {printable(str(path))}: file changed while being measured ({size} bytes "
        f"when opened, {'more' if read > size else read} bytes read)"
    )


def read_whole(path: Path) -> tuple[bytes, FileIdentity]:
    """A blob file's bytes, read whole, and the identity of the file read (for small
    blobs: the caller holds them all).  Reads of one byte more than the file's length
    tell a file that grew or shrank; the same errors as ``measure_file``."""
    try:
        fd, st = open_descriptor(path, str(path))
    except PathProblem as problem:
        raise _blob_error(problem) from None
    identity = FileIdentity.of(st)
    size = identity.size
    try:
        data = os.read(fd, size + 1)
        # Until a byte too many or the end (which a short read does not prove).
        while 0 < len(data) <= size and (more := os.read(fd, size + 1 - len(data))):
            data += more
    except OSError as error:
        raise _describe_os_error(path, error) from error
    finally:
        os.close(fd)
    if len(data) != size:
        raise _changed(path, size, len(data))
    return data, identity


def hash_file(path: Path, *, expected_size: int | None = None) -> tuple[str, FileIdentity]:
    """Merkle root of a file, and the identity of the file that was hashed."""
    f, identity = open_blob(path)
    with f:
        check_expected_size(path, identity.size, expected_size)
        hasher = MerkleHasher()
        _read_pieces(path, f, identity.size, READ_SIZE, [hasher.update])
    return hasher.hexdigest(), identity


def compression_limit(file_size: int, fmt: StorageFormat, *, delivery: bool = False) -> int | None:
    """Largest chunked archive size (blobfs's frames, header and seek table) for which
    some answer asked for still depends on the frames: beyond it every one is "raw", so
    the compressor may stop.  ``None`` when no answer needs compression."""
    if fmt == "fxfs":
        frames = max_useful_frames_size(file_size)
        n = frame_count(file_size)
        # Fxfs's frames carry checksums; the archive counts header and seek table.
        fmt_limit = (
            None if frames is None else frames - FRAME_CHECKSUM_BYTES * n + archive_header_size(n)
        )
    else:
        fmt_limit = max_useful_compressed_size(file_size, fmt)
    limits = [fmt_limit] if fmt_limit is not None else []
    if delivery:
        limits.append(max_useful_archive_size(file_size))
    return max(limits) if limits else None


def measure_file(
    path: Path,
    layout: StorageFormat,
    *,
    expected_size: int | None = None,
    expected_merkle: str | None = None,
    executor: Executor | None = None,
    in_flight: ByteBudget | None = None,
    pool: CompressorPool | None = None,
    on_bytes: Callable[[bytes], object] | None = None,
    delivery: bool = False,
) -> tuple[BlobMeasurement, FileIdentity]:
    """Merkle root and stored size of one file in ``layout`` (a blobfs layout or Fxfs),
    and with ``delivery`` its delivery-blob size, reading it once.

    With an ``executor`` the compression of the blob's chunk batches runs there while this
    thread keeps reading and hashing; ``in_flight`` bounds the bytes waiting for it and
    ``pool`` the compressors' memory (see ``ChunkedSizer``).  ``on_bytes`` sees every
    piece read, for progress.
    """
    f, identity = open_blob(path)
    with f:
        size = identity.size
        check_expected_size(path, size, expected_size)
        hasher = MerkleHasher()
        sinks: list[Callable[[bytes], object]] = [hasher.update]
        limit = compression_limit(size, layout, delivery=delivery)
        sizer: ChunkedSizer | None = None
        if limit is not None:
            sizer = ChunkedSizer(
                size,
                limit,
                executor=executor,
                in_flight=in_flight,
                pool=pool,
            )
            sinks.append(sizer.update)
        if on_bytes is not None:
            sinks.append(on_bytes)
        # Reading whole compression batches lets each read go to a task without a copy.
        piece = batch_size(size) if sizer is not None else READ_SIZE
        try:
            _read_pieces(path, f, size, piece, sinks)
        except BaseException:
            if sizer is not None:
                sizer.abandon()
            raise
    merkle = hasher.hexdigest()
    frames = None
    if sizer is not None and sizer.finish() is not None:
        frames = sizer.frame_sizes
    check_expected_merkle(path, merkle, expected_merkle)
    measured = BlobMeasurement.from_frames(merkle, size, frames, layout, delivery=delivery)
    return measured, identity
