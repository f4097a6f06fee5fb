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
    assert sizes.details["data_method"] == "seek_data"


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.img"
    path.write_bytes(b"")
    sizes = measure_image(path)
    assert (sizes.format, sizes.expanded_bytes, sizes.data_bytes) == ("raw", 0, 0)


def test_file_with_holes(tmp_path: Path) -> None:
    path = holes_file(tmp_path / "holes.img")
    sizes = measure_image(path)
    assert sizes.format == "sparse_file"
    assert sizes.file_bytes == sizes.expanded_bytes == 16 << 20
    # Data ranges are block-granular: the 100-byte write maps a whole block.
    assert sizes.data_bytes == 8192 + 4096
    assert sizes.details["data_ranges"] == 2


def test_hole_probe_on_a_real_file_system(tmp_path: Path) -> None:
    assert sparse_file._seek_hole_is_stub(tmp_path, 4096) is False
    assert list(tmp_path.iterdir()) == []  # the probe file is removed


def pretend_stub(monkeypatch: pytest.MonkeyPatch, stub: bool | None) -> None:
    # A stub SEEK_HOLE reports the whole file as one data range.
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
    with pytest.raises(ImageFormatError, match="is a directory, not a file"):
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
