"""What an input path is, found out before it is opened (pytest-free).

Every file the plugin reads because a user named it (budget files, manifests, blobs.json
files, images, baselines, blob sources, cache entries) goes through here first, because
opening the wrong kind of path does not fail, it misbehaves:

- a FIFO opened for reading blocks until a writer appears: the run hangs forever;
- a character device such as ``/dev/zero`` reads forever, ``/dev/null`` reads as empty;
- a socket cannot be opened at all (``ENXIO``), a symbolic link loop gives ``ELOOP``;
- ``os.stat`` raises ``ValueError`` (not ``OSError``) for a NUL byte in the path, and
  ``UnicodeEncodeError`` for a lone surrogate, which ``except OSError`` lets through.

So a path is first stat'ed (which never blocks), and only a regular file is opened, with
``O_NONBLOCK`` and a second check on the open descriptor, so that a file swapped for a
FIFO in between cannot hang the run either.  Every problem is a ``PathProblem`` whose
``problem`` is one phrase ("is a FIFO (named pipe), not a file") that callers put after
the key and the path as the user wrote it.
"""

from __future__ import annotations

import errno
import os
import re
import stat
from pathlib import Path
from typing import Any, BinaryIO, Final, Literal

from .errors import InputError

Want = Literal["file", "directory", "file or directory"]

# Control characters, DEL and the C1 controls, and the surrogates that stand for bytes
# that are not UTF-8 in a file name: shown escaped, never written raw to a CI log.
_UNPRINTABLE: Final = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_OPEN_FLAGS: Final = (
    os.O_RDONLY
    | getattr(os, "O_NONBLOCK", 0)  # a FIFO opened without a writer: fail, do not wait
    | getattr(os, "O_NOCTTY", 0)  # a terminal device must not become our controlling tty
    | getattr(os, "O_CLOEXEC", 0)
)


class PathProblem(InputError):
    """A path that is not what it must be; ``problem`` says what it is instead."""

    def __init__(self, shown: str, problem: str) -> None:
        self.shown = printable(shown)
        self.problem = problem
        super().__init__(f"{self.shown}: {problem}")

    def __reduce__(self) -> tuple[Any, ...]:
        # Exceptions pickle through their args (the one message), which this constructor
        # does not take: spell out its arguments, for errors that cross processes.
        return (type(self), (self.shown, self.problem))


def printable(text: str) -> str:
    """``text`` with control characters and undecodable bytes escaped (``\\x00``)."""

    def escape(m: re.Match[str]) -> str:
        code = ord(m.group())
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"

    return _UNPRINTABLE.sub(escape, text)


def kind_of_mode(mode: int) -> str:
    """What a stat mode says a path is, as error messages name it."""
    if stat.S_ISREG(mode):
        return "a regular file"
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    return "a special file"


def _lookup_problem(path: Path, error: OSError | ValueError) -> str:
    """Why ``os.stat(path)`` failed, as one phrase."""
    if isinstance(error, ValueError):
        if "\0" in str(path):
            return "the path contains a NUL byte"
        return "the path has characters no file name can hold (a lone surrogate)"
    code = error.errno
    if code == errno.ENOENT:
        try:
            target = os.readlink(path)
        except OSError:
            return "does not exist"
        return f"is a dangling symbolic link (-> {printable(target)})"
    if code == errno.ELOOP:
        return "is a symbolic link loop (or passes through one)"
    if code == errno.ENOTDIR:
        return "does not exist (a part of the path before it is a file, not a directory)"
    if code == errno.ENAMETOOLONG:
        return f"the path is too long for the file system ({len(os.fsencode(path))} bytes)"
    if code in (errno.EACCES, errno.EPERM):
        return "cannot be looked up: permission denied (on a directory above it)"
    return f"cannot be looked up: {error.strerror or error}"


def stat_path(path: Path, shown: str) -> os.stat_result:
    """``os.stat(path)`` (following links) whatever it is; ``PathProblem`` if that fails."""
    try:
        return os.stat(path)
    except (OSError, ValueError) as error:
        raise PathProblem(shown, _lookup_problem(path, error)) from None


def check_path(path: Path, shown: str, want: Want = "file") -> os.stat_result:
    """Stat ``path`` (following links) and check that it is what ``want`` says.

    Never opens anything.  Raises ``PathProblem`` naming the path as ``shown``.
    """
    st = stat_path(path, shown)
    mode = st.st_mode
    if stat.S_ISREG(mode) and want != "directory":
        return st
    if stat.S_ISDIR(mode) and want != "file":
        return st
    expected = "a file or a directory" if want == "file or directory" else f"a {want}"
    raise PathProblem(shown, f"is {kind_of_mode(mode)}, not {expected}")


def _read_problem(error: OSError) -> str:
    if isinstance(error, PermissionError):
        return "cannot be read: permission denied"
    if isinstance(error, IsADirectoryError):
        return "is a directory, not a file"
    if isinstance(error, FileNotFoundError):
        return "does not exist (removed while being read)"
    return f"cannot be read: {error.strerror or error}"


def open_descriptor(path: Path, shown: str) -> tuple[int, os.stat_result]:
    """A regular file opened for reading, as a descriptor the caller closes, and its
    stat from the descriptor.

    ``check_path`` first, so that nothing but a regular file is ever opened; the open
    descriptor is checked again, so a path swapped for a FIFO or device in between is
    refused too.
    """
    check_path(path, shown, "file")
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except OSError as error:
        raise PathProblem(shown, _read_problem(error)) from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise PathProblem(shown, f"is {kind_of_mode(st.st_mode)}, not a file")
    except BaseException:
        os.close(fd)
        raise
    # O_NONBLOCK stays set: it means nothing for a regular file.
    return fd, st


def open_file(path: Path, shown: str) -> tuple[BinaryIO, os.stat_result]:
    """``open_descriptor`` as an unbuffered binary file object."""
    fd, st = open_descriptor(path, shown)
    try:
        return os.fdopen(fd, "rb", buffering=0), st
    except BaseException:
        os.close(fd)
        raise


def read_bytes(path: Path, shown: str) -> bytes:
    """The whole content of a regular file; ``PathProblem`` for anything else."""
    f, st = open_file(path, shown)
    with f:
        try:
            return _read_all(f, st.st_size)
        except OSError as error:
            raise PathProblem(shown, _read_problem(error)) from None


def _read_all(f: BinaryIO, size_hint: int) -> bytes:
    # One read of the stated size, then to the end: a file that grew since the stat is
    # read whole, as open().read() would.
    parts = [f.read(size_hint)] if size_hint > 0 else []
    while chunk := f.read(1 << 20):
        parts.append(chunk)
    return b"".join(parts)


def read_text(path: Path, shown: str) -> str:
    """UTF-8 text of a regular file; a decoding error names its byte offset."""
    data = read_bytes(path, shown)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise PathProblem(shown, f"not UTF-8 text (byte offset {error.start})") from None
