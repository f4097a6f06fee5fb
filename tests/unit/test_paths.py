"""``pytest_sizebudget.paths``: what an input path is, told before anything is opened."""

from __future__ import annotations

import errno
import os
import pickle
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_sizebudget.errors import InputError
from pytest_sizebudget.paths import (
    PathProblem,
    check_path,
    open_file,
    printable,
    read_bytes,
    read_text,
    stat_path,
)

IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


@pytest.fixture
def unix_socket(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "sock"
    # AF_UNIX paths are limited to ~100 bytes; pytest's tmp_path can be longer.
    here = os.getcwd()
    os.chdir(tmp_path)
    try:
        s = socket.socket(socket.AF_UNIX)
        s.bind("sock")
    finally:
        os.chdir(here)
    try:
        yield path
    finally:
        s.close()


def problem(path: Path, want: str = "file") -> str:
    with pytest.raises(PathProblem) as info:
        check_path(path, "shown", want)  # type: ignore[arg-type]
    assert str(info.value).startswith("shown: ")
    return info.value.problem


def test_a_regular_file_passes_and_gives_its_stat(tmp_path: Path) -> None:
    f = tmp_path / "f"
    f.write_bytes(b"abc")
    assert check_path(f, "f").st_size == 3
    assert check_path(f, "f", "file or directory").st_size == 3
    assert read_bytes(f, "f") == b"abc"
    assert read_text(f, "f") == "abc"


def test_every_kind_of_path_is_named(tmp_path: Path, unix_socket: Path) -> None:
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "dir").mkdir()
    (tmp_path / "a").symlink_to("b")
    (tmp_path / "b").symlink_to("a")
    (tmp_path / "dangling").symlink_to("nowhere")
    (tmp_path / "file").write_text("x")
    assert problem(tmp_path / "fifo") == "is a FIFO (named pipe), not a file"
    assert problem(tmp_path / "dir") == "is a directory, not a file"
    assert problem(Path("/dev/null")) == "is a character device, not a file"
    assert problem(unix_socket) == "is a socket, not a file"
    assert problem(tmp_path / "a") == "is a symbolic link loop (or passes through one)"
    assert problem(tmp_path / "dangling") == "is a dangling symbolic link (-> nowhere)"
    assert problem(tmp_path / "missing") == "does not exist"
    assert problem(tmp_path / "file" / "x").startswith("does not exist (a part of the path")
    assert problem(tmp_path / "file", "directory") == "is a regular file, not a directory"
    assert problem(tmp_path / "fifo", "file or directory") == (
        "is a FIFO (named pipe), not a file or a directory"
    )
    assert check_path(tmp_path / "dir", "d", "directory")
    assert check_path(tmp_path / "dir", "d", "file or directory")


def test_nul_bytes_surrogates_and_long_paths_are_errors_not_exceptions(tmp_path: Path) -> None:
    assert problem(tmp_path / "a\0b") == "the path contains a NUL byte"
    assert problem(tmp_path / "a\ud800b") == (
        "the path has characters no file name can hold (a lone surrogate)"
    )
    long = tmp_path / ("x" * 300)
    assert problem(long).startswith("the path is too long for the file system (")


def test_messages_escape_what_a_log_cannot_show() -> None:
    assert printable("a\0b\nc\x7f\udc80é") == "a\\x00b\\x0ac\\x7f\\udc80é"
    error = PathProblem("pkg/\0/m.json", "the path contains a NUL byte")
    assert str(error) == "pkg/\\x00/m.json: the path contains a NUL byte"
    assert isinstance(error, InputError)
    again = pickle.loads(pickle.dumps(error))  # errors may cross process boundaries
    assert (str(again), again.problem) == (str(error), error.problem)


def test_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    """Opened for reading, a FIFO without a writer blocks forever: never opened."""
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    done: list[str] = []

    def read() -> None:
        try:
            read_bytes(fifo, "fifo")
        except PathProblem as exc:
            done.append(exc.problem)

    t = threading.Thread(target=read, daemon=True)
    t.start()
    t.join(10)
    assert done == ["is a FIFO (named pipe), not a file"]


def test_dev_zero_is_refused_before_reading() -> None:
    with pytest.raises(PathProblem, match="zero: is a character device, not a file"):
        read_bytes(Path("/dev/zero"), "zero")


def test_a_path_swapped_after_the_stat_is_caught_on_the_descriptor(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """check_path saw a file; by the open it is a FIFO: O_NONBLOCK and fstat catch it."""
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    real = tmp_path / "real"
    real.write_text("x")
    import pytest_sizebudget.paths as paths

    monkeypatch.setattr(paths, "check_path", lambda *a, **k: os.stat(real))
    with pytest.raises(PathProblem, match=r"is a FIFO \(named pipe\), not a file"):
        open_file(fifo, "fifo")


def test_stat_path_accepts_any_kind(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "fifo")
    assert stat_path(tmp_path / "fifo", "fifo").st_size == 0
    with pytest.raises(PathProblem, match="missing: does not exist"):
        stat_path(tmp_path / "missing", "missing")


def test_read_errors_after_the_open(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    f = tmp_path / "f"
    f.write_bytes(b"\xff\xfe")
    with pytest.raises(PathProblem, match=r"f: not UTF-8 text \(byte offset 0\)"):
        read_text(f, "f")

    def denied(*args: object, **kwargs: object) -> int:
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(os, "open", denied)
    with pytest.raises(PathProblem, match="f: cannot be read: permission denied"):
        read_bytes(f, "f")


@pytest.mark.skipif(IS_ROOT, reason="root reads files whatever their mode")
def test_permission_denied(tmp_path: Path) -> None:
    f = tmp_path / "secret"
    f.write_text("x")
    f.chmod(0)
    locked = tmp_path / "locked"
    locked.mkdir()
    (locked / "f").write_text("x")
    locked.chmod(0)
    try:
        with pytest.raises(PathProblem, match="secret: cannot be read: permission denied"):
            read_bytes(f, "secret")
        assert problem(locked / "f").startswith("cannot be looked up: permission denied")
    finally:
        locked.chmod(0o755)
