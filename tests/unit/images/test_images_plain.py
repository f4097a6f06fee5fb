"""Raw images, files with holes, the fake-hole fallback, and the explicit ``format`` check."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pytest_sizebudget.images import ImageFormatError, measure_image, sparse_file
from tests.unit.images.sparse_builders import android_sparse, dont_care, raw


def holes_file(path: Path) -> Path:
    with open(path, "wb") as f:
        f.truncate(16 << 20)
        f.seek(4 << 20)
        f.write(b"d" * 8192)
        f.seek(12 << 20)
        f.write(b"e" * 100)
        os.fsync(f.fileno())
    return path


def test_raw_without_holes(tmp_path: Path) -> None:
    path = tmp_path / "raw.img"
    path.write_bytes(os.urandom(100_000))
    sizes = measure_image(path)
    assert sizes.format == "raw"
    assert sizes.file_bytes == sizes.expanded_bytes == sizes.data_bytes == 100_000
    assert sizes.details["data_method"] == expected_method(tmp_path)


def fiemap_works(directory: Path) -> bool:
    """Whether FIEMAP maps a file in ``directory`` (asked of the kernel, not of our code)."""
    import fcntl
    import struct

    probe = directory / ".fiemap-probe"
    probe.write_bytes(b"x" * 4096)
    try:
        with open(probe, "rb") as f:
            buf = bytearray(struct.pack("=QQLLLL", 0, 4096, 1, 0, 1, 0) + bytes(56))
            fcntl.ioctl(f.fileno(), 0xC020660B, buf, True)
        return True
    except OSError:
        return False
    finally:
        probe.unlink()


def expected_method(directory: Path) -> str:
    return "fiemap" if fiemap_works(directory) else "seek_data"


def need_fiemap(directory: Path) -> None:
    if not fiemap_works(directory):
        pytest.skip(f"the file system of {directory} has no FIEMAP (tmpfs, ramfs, some FUSE)")


def test_empty_file(tmp_path: Path) -> None:
    # No image format is empty: an empty file is a failed build step, not a 0-byte image
    # that fits every partition.
    path = tmp_path / "empty.img"
    path.write_bytes(b"")
    with pytest.raises(ImageFormatError, match="is empty"):
        measure_image(path)


def test_file_with_holes(tmp_path: Path) -> None:
    path = holes_file(tmp_path / "holes.img")
    sizes = measure_image(path)
    assert sizes.format == "sparse_file"
    assert sizes.file_bytes == sizes.expanded_bytes == 16 << 20
    # Data ranges are block-granular: the 100-byte write maps a whole block.
    assert sizes.data_bytes == 8192 + 4096
    assert sizes.details["data_ranges"] == 2
    assert sizes.details["data_method"] == expected_method(tmp_path)


def seek_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sparse_file, "fiemap_extents", lambda fd, size: None)


def test_fiemap_is_preferred_and_agrees_with_seek_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    need_fiemap(tmp_path)
    path = holes_file(tmp_path / "holes.img")
    by_fiemap = measure_image(path)
    assert by_fiemap.details["data_method"] == "fiemap"
    seek_only(monkeypatch)
    by_seek = measure_image(path)
    assert by_seek.details["data_method"] == "seek_data"
    assert (by_fiemap.data_bytes, by_fiemap.details["data_ranges"]) == (
        by_seek.data_bytes,
        by_seek.details["data_ranges"],
    )


def test_fiemap_over_many_extents(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # 1,300 separate data blocks: more extents than one ioctl returns (asked for 100).
    need_fiemap(tmp_path)
    monkeypatch.setattr(sparse_file, "_FIEMAP_BATCH", 100)
    path = tmp_path / "many.img"
    with open(path, "wb") as f:
        f.truncate(1300 * 3 * 4096 + 10)
        for i in range(1300):
            f.seek(i * 3 * 4096)
            f.write(b"m" * 4096)
        f.seek(1300 * 3 * 4096)
        f.write(b"tail!")  # a short last block, past the last full block
        os.fsync(f.fileno())
    sizes = measure_image(path)
    assert sizes.details["data_method"] == "fiemap"
    assert sizes.details["data_ranges"] == 1301
    # The last extent is a whole block on disk but only 10 bytes of it are in the file.
    assert sizes.data_bytes == 1300 * 4096 + 10
    seek_only(monkeypatch)
    assert measure_image(path).data_bytes == sizes.data_bytes


def test_unwritten_extents_are_holes(tmp_path: Path) -> None:
    # posix_fallocate maps 4 MiB that were never written: FIEMAP flags them UNWRITTEN.
    need_fiemap(tmp_path)
    path = tmp_path / "prealloc.img"
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o644)
    try:
        try:
            os.posix_fallocate(fd, 0, 4 << 20)
        except OSError as exc:
            pytest.skip(f"posix_fallocate is not supported here: {exc.strerror}")
        os.pwrite(fd, b"x" * 4096, 0)
        os.fsync(fd)
    finally:
        os.close(fd)
    sizes = measure_image(path)
    assert sizes.details["data_method"] == "fiemap"
    assert sizes.format == "sparse_file"
    assert sizes.data_bytes == 4096
    assert sizes.details["unwritten_bytes"] == (4 << 20) - 4096
    allocated = sizes.details["allocated_bytes"]
    assert isinstance(allocated, int)
    assert allocated >= 4 << 20  # st_blocks counts them


def test_no_fiemap_on_tmpfs_falls_back_to_seek_data() -> None:
    shm = Path("/dev/shm")
    if not shm.is_dir() or not os.access(shm, os.W_OK):
        pytest.skip("no writable /dev/shm (tmpfs) here")
    import tempfile

    with tempfile.TemporaryDirectory(dir=shm) as d:
        if fiemap_works(Path(d)):
            pytest.skip("this kernel's tmpfs supports FIEMAP")
        sizes = measure_image(holes_file(Path(d) / "holes.img"))
    assert sizes.details["data_method"] == "seek_data"
    assert sizes.data_bytes == 8192 + 4096


def test_hole_probe_on_a_real_file_system(tmp_path: Path) -> None:
    assert sparse_file._seek_hole_is_stub(tmp_path, 4096) is False
    assert list(tmp_path.iterdir()) == []  # the probe file is removed


def pretend_stub(monkeypatch: pytest.MonkeyPatch, stub: bool | None) -> None:
    # A stub SEEK_HOLE reports the whole file as one data range.
    seek_only(monkeypatch)
    monkeypatch.setattr(sparse_file, "_data_ranges", lambda fd, size: (size, 1))
    monkeypatch.setattr(sparse_file, "_seek_hole_is_stub", lambda directory, block: stub)


def test_stub_seek_hole_falls_back_to_allocation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = holes_file(tmp_path / "holes.img")
    allocated = path.stat().st_blocks * 512
    pretend_stub(monkeypatch, True)
    sizes = measure_image(path)
    assert sizes.format == "sparse_file"
    assert sizes.data_bytes == allocated
    assert sizes.details["seek_hole"] == "stub"
    assert sizes.details["data_method"] == "st_blocks"


def test_unprobeable_directory_falls_back_to_allocation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = holes_file(tmp_path / "holes.img")
    pretend_stub(monkeypatch, None)
    sizes = measure_image(path)
    assert sizes.details["seek_hole"] == "unprobed"
    assert sizes.details["data_method"] == "st_blocks"


def test_short_allocation_without_holes_is_raw(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Real hole support, no holes, yet fewer blocks allocated (compressing file systems).
    path = holes_file(tmp_path / "holes.img")
    pretend_stub(monkeypatch, False)
    sizes = measure_image(path)
    assert sizes.format == "raw"
    assert sizes.data_bytes == 16 << 20


def test_no_seek_data_support(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = holes_file(tmp_path / "holes.img")
    seek_only(monkeypatch)
    monkeypatch.delattr(os, "SEEK_DATA")
    sizes = measure_image(path)
    assert sizes.details["seek_hole"] == "unsupported"
    assert sizes.details["data_method"] == "st_blocks"
    assert sizes.data_bytes == path.stat().st_blocks * 512


def test_stub_on_a_fully_allocated_file_is_raw(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "dense.img"
    path.write_bytes(b"x" * 65536)
    pretend_stub(monkeypatch, True)
    sizes = measure_image(path)
    assert (sizes.format, sizes.data_bytes) == ("raw", 65536)


def test_missing_and_directory(tmp_path: Path) -> None:
    with pytest.raises(ImageFormatError, match="does not exist"):
        measure_image(tmp_path / "nope.img")
    with pytest.raises(ImageFormatError, match="is a directory, not a regular file"):
        measure_image(tmp_path)


def test_path_as_string(tmp_path: Path) -> None:
    path = tmp_path / "raw.img"
    path.write_bytes(b"abc")
    assert measure_image(str(path)).expanded_bytes == 3  # type: ignore[arg-type]


# --- explicit format -------------------------------------------------------------------


def test_explicit_format_must_match(tmp_path: Path) -> None:
    plain = tmp_path / "plain.img"
    plain.write_bytes(b"\0" * 4096)
    simg = tmp_path / "named.raw"  # the name says raw, the content says sparse
    simg.write_bytes(android_sparse([raw(1, 4096), dont_care(1)]))

    assert measure_image(simg).format == "android_sparse"
    assert measure_image(simg, format="android_sparse").format == "android_sparse"
    with pytest.raises(ImageFormatError, match="'raw' requested but the content is"):
        measure_image(simg, format="raw")
    with pytest.raises(ImageFormatError, match="'fvm_sparse' requested"):
        measure_image(plain, format="fvm_sparse")
    with pytest.raises(ImageFormatError, match="'gzip' requested but the file is not compr"):
        measure_image(plain, format="gzip")
    with pytest.raises(ImageFormatError, match="unknown image format 'ext4'"):
        measure_image(plain, format="ext4")
    # raw and sparse_file are one family: either accepts plain content.
    assert measure_image(plain, format="sparse_file").format == "raw"
    holes = holes_file(tmp_path / "holes.img")
    assert measure_image(holes, format="raw").format == "sparse_file"
