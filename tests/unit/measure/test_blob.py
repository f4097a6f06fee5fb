from __future__ import annotations

import os
import random
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from pytest_sizebudget.errors import MeasurementError
from pytest_sizebudget.measure import blob as blob_module
from pytest_sizebudget.measure.blob import BlobMeasurement, all_have_sizes, hash_file, measure_file
from pytest_sizebudget.measure.compress import chunked_compressed_size
from pytest_sizebudget.measure.merkle import merkle_root

ONE_MIB_ZEROS_ROOT = merkle_root(bytes(1 << 20))


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("threaded", [False, True])
def test_measure_file_one_mib_of_zeros(tmp_path: Path, threaded: bool) -> None:
    path = _write(tmp_path, "zeros", bytes(1 << 20))
    with ThreadPoolExecutor(2) as pool:
        got, identity = measure_file(path, "compact", executor=pool if threaded else None)
    assert got == BlobMeasurement(
        merkle=ONE_MIB_ZEROS_ROOT,
        file_size=1 << 20,
        compressed_bytes=chunked_compressed_size(bytes(1 << 20)),
        stored_data_bytes=chunked_compressed_size(bytes(1 << 20)),
        merkle_tree_bytes=4096,
        size_on_disk=8192,
        layout="compact",
    )
    assert identity.size == 1 << 20


def test_measure_file_random_is_stored_raw(tmp_path: Path) -> None:
    data = random.Random(1).randbytes(1 << 20)
    got, _ = measure_file(_write(tmp_path, "r", data), "deprecated_padded")
    assert got.compressed_bytes is None
    assert got.stored_data_bytes == 1 << 20
    assert got.size_on_disk == 1056768
    assert got.merkle == merkle_root(data)


def test_round_trip_through_dict(tmp_path: Path) -> None:
    got, _ = measure_file(_write(tmp_path, "z", bytes(50_000)), "compact")
    assert BlobMeasurement.from_dict(got.to_dict()) == got
    broken = got.to_dict() | {"size_on_disk": "8192"}
    with pytest.raises(ValueError, match="size_on_disk"):
        BlobMeasurement.from_dict(broken)


def test_empty_blob(tmp_path: Path) -> None:
    got, _ = measure_file(_write(tmp_path, "e", b""), "compact")
    assert got.size_on_disk == 0
    assert got.merkle == "15ec7bf0b50732b49f8228e07d24365338f9e3ab994b00af08e5a3bffe55fd8b"


def test_missing_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "gone"
    with pytest.raises(MeasurementError, match=r"gone: does not exist"):
        measure_file(path, "compact")


def test_directory_given_as_blob(tmp_path: Path) -> None:
    with pytest.raises(MeasurementError, match=r"is a directory"):
        measure_file(tmp_path, "compact")


def test_fifo_given_as_blob_does_not_hang(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(MeasurementError, match=r"fifo: is a FIFO \(named pipe\), not a file"):
        hash_file(fifo)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_unreadable_file(tmp_path: Path) -> None:
    path = _write(tmp_path, "secret", b"x")
    path.chmod(0)
    with pytest.raises(MeasurementError, match=r"secret: cannot be read: permission denied"):
        measure_file(path, "compact")


def test_size_differs_from_expected(tmp_path: Path) -> None:
    path = _write(tmp_path, "blob", bytes(100))
    with pytest.raises(MeasurementError, match=r"blob: file is 100 bytes but 99 bytes"):
        measure_file(path, "compact", expected_size=99)
    with pytest.raises(MeasurementError, match=r"100 bytes but 101"):
        hash_file(path, expected_size=101)


def test_merkle_differs_from_claim(tmp_path: Path) -> None:
    path = _write(tmp_path, "blob", bytes(1 << 20))
    claimed = "ab" * 32
    with pytest.raises(MeasurementError) as info:
        measure_file(path, "compact", expected_merkle=claimed)
    message = str(info.value)
    assert str(path) in message
    assert claimed in message
    assert ONE_MIB_ZEROS_ROOT in message


def test_file_growing_while_read_is_reported(tmp_path: Path) -> None:
    path = _write(tmp_path, "grow", bytes(3 << 20))
    seen = 0

    def grow(piece: bytes) -> None:
        nonlocal seen
        seen += 1
        if seen == 1:
            with path.open("ab") as f:
                f.write(b"more")

    with pytest.raises(MeasurementError, match=r"grow: file changed while being measured"):
        measure_file(path, "compact", on_bytes=grow)


def test_permission_error_is_named_even_as_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Tests run as root, which ignores chmod 000; fake the refusal at the system call.
    path = _write(tmp_path, "locked", b"x")

    def refuse(*args: object, **kwargs: object) -> int:
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(os, "open", refuse)
    with pytest.raises(MeasurementError, match=r"locked: cannot be read: permission denied"):
        measure_file(path, "compact")


@pytest.mark.parametrize("by_directory", [True, False], ids=["dir_fd", "joined"])
def test_all_have_sizes_is_has_size_for_each_file_of_a_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, by_directory: bool
) -> None:
    monkeypatch.setattr(blob_module, "_BY_DIRECTORY", by_directory and blob_module._BY_DIRECTORY)
    (tmp_path / "a").write_bytes(b"xyz")
    (tmp_path / "b").write_bytes(b"")
    (tmp_path / "sub").mkdir()
    os.mkfifo(tmp_path / "fifo")
    here = str(tmp_path)
    assert all_have_sizes(here, ["a", "b"], [3, 0])
    assert all_have_sizes(here, [], [])
    assert all_have_sizes(str(tmp_path / "sub" / ".."), ["a"], [3])  # the path as given
    assert not all_have_sizes(here, ["a", "b"], [3, 1])  # another length
    assert not all_have_sizes(here, ["a", "gone"], [3, 0])
    assert not all_have_sizes(here, ["a", "sub"], [3, 4096])  # a directory
    assert not all_have_sizes(here, ["fifo"], [0])
    assert not all_have_sizes(here, ["a\0"], [3])
    assert not all_have_sizes(here, ["a"], [3, 0])  # lists that do not pair up
    assert not all_have_sizes(str(tmp_path / "missing"), ["a"], [3])
    assert not all_have_sizes(str(tmp_path / "a"), ["a"], [3])  # a file, not a directory


@pytest.mark.parametrize(("claimed", "read"), [(5, "more"), (20, "10")])
def test_read_whole_sees_a_file_that_changed_after_it_was_opened(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, claimed: int, read: str
) -> None:
    from types import SimpleNamespace

    path = tmp_path / "blob"
    path.write_bytes(b"0123456789")
    from pytest_sizebudget.paths import open_descriptor as real

    def opened_at_another_length(p: Path, shown: str) -> tuple[int, object]:
        fd, st = real(p, shown)
        fields = ("st_mtime_ns", "st_ctime_ns", "st_ino", "st_dev", "st_mode")
        return fd, SimpleNamespace(st_size=claimed, **{f: getattr(st, f) for f in fields})

    monkeypatch.setattr(blob_module, "open_descriptor", opened_at_another_length)
    with pytest.raises(MeasurementError) as raised:
        blob_module.read_whole(path)
    assert str(raised.value) == (
        f"blob {path}: file changed while being measured ({claimed} bytes when opened, "
        f"{read} bytes read)"
    )


def test_read_whole_reads_every_size(tmp_path: Path) -> None:
    for size in (0, 1, 8192, 1 << 20):
        path = tmp_path / f"b{size}"
        data = random.Random(size).randbytes(size)
        path.write_bytes(data)
        got, identity = blob_module.read_whole(path)
        assert (got, identity.size) == (data, size)
