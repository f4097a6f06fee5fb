"""Bounded, position-tracking reads for the image parsers.

Parsers see one interface whether the bytes come from a plain file (which they may skip
through with seek) or from a decompressor (which they can only read and discard).  Every
short read becomes an ImageFormatError naming the offset and what was being read, so that a
header promising more than the file holds fails at the end of the file instead of looping
or allocating.  Decompressor failures are turned into the same error type here, in the one
place that calls read().
"""

from __future__ import annotations

import lzma
import os
import stat
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import zstandard

from pytest_sizebudget.images.model import ImageFormatError

# Large enough that syscall overhead does not dominate, small enough that a skip or drain
# never holds more than this in memory.
CHUNK = 1 << 20
# Small reads of a stream are served from a buffer this large.
READ_AHEAD = 64 << 10

# What the stdlib and zstandard decompressors raise on damaged or truncated input (gzip and
# bz2 report bad data as OSError, every truncated stdlib stream as EOFError).
DECOMPRESSION_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    EOFError,
    zlib.error,
    lzma.LZMAError,
    zstandard.ZstdError,
)


class Readable(Protocol):
    def read(self, size: int = ..., /) -> bytes: ...


class ByteSource:
    """Sequential reader with an exact byte position and a count of bytes really read.

    ``size`` is the content length when known up front (plain files); then ``skip`` seeks
    and checks the bound without touching the data.  Without ``size`` the stream is read
    and discarded, ``discard_chunk`` bytes at a time (CHUNK unless the stream hands out
    larger pieces without copying them), and small reads are served from a read-ahead
    buffer: a compressed sparse image is mostly 12-byte chunk headers.
    """

    def __init__(
        self,
        name: Path | str,
        stream: Readable,
        *,
        size: int | None = None,
        seek: Callable[[int], object] | None = None,
        describe_failure: Callable[[BaseException], ImageFormatError] | None = None,
        max_content: tuple[int, Callable[[], str]] | None = None,
        discard_chunk: int = CHUNK,
    ) -> None:
        self.name = str(name)
        self.offset = 0
        self.bytes_read = 0
        self._stream = stream
        self._size = size
        self._seek = seek
        self._describe_failure = describe_failure
        # For a decompressed stream: the most bytes it may yield, and the problem to report
        # when it has more (it is read one byte past the bound to tell).
        self._max_content = max_content
        self._discard_chunk = discard_chunk
        # Bytes taken from the stream so far, and those of them not consumed yet (taken by
        # peek() or read ahead): _buffer[_at:].
        self._taken = 0
        self._buffer = b""
        self._at = 0
        self._read_ahead = 0 if seek is not None and size is not None else READ_AHEAD

    @property
    def size(self) -> int | None:
        return self._size

    @property
    def seekable(self) -> bool:
        return self._seek is not None and self._size is not None

    def error(self, problem: str, offset: int | None = None) -> ImageFormatError:
        return ImageFormatError(self.name, self.offset if offset is None else offset, problem)

    def peek(self, n: int) -> bytes:
        """Up to n bytes at the current position, without consuming them.

        This is how the format of a decompressed stream is sniffed before a parser starts
        on it from offset 0.
        """
        while len(self._buffer) - self._at < n:
            block = self._stream_read(n - (len(self._buffer) - self._at))
            if not block:
                break
            self._buffer = self._buffer[self._at :] + block
            self._at = 0
        return self._buffer[self._at : self._at + n]

    def _raw_read(self, n: int) -> bytes:
        at, buffer = self._at, self._buffer
        if at < len(buffer):
            end = min(at + n, len(buffer))
            self._at = end
            return buffer if at == 0 and end == len(buffer) else buffer[at:end]
        if n >= self._read_ahead:
            return self._stream_read(n)
        block = self._stream_read(self._read_ahead)
        if len(block) <= n:
            return block
        self._buffer, self._at = block, n
        return block[:n]

    def _drop_buffer(self) -> None:
        self._buffer, self._at = b"", 0

    def _stream_read(self, n: int) -> bytes:
        if self._max_content is not None:
            most, problem = self._max_content
            room = most - self._taken
            if room <= 0:
                if self._read_stream(1):
                    raise ImageFormatError(self.name, most, problem())
                return b""
            n = min(n, room)
        return self._read_stream(n)

    def _read_stream(self, n: int) -> bytes:
        try:
            data = self._stream.read(n)
        except DECOMPRESSION_ERRORS as exc:
            if self._describe_failure is not None:
                raise self._describe_failure(exc) from None
            raise self.error(f"read failed: {exc}") from None
        self._taken += len(data)
        return data

    def read_upto(self, n: int) -> bytes:
        """Up to n bytes (fewer only at the end of the content)."""
        data = self._raw_read(min(n, CHUNK))
        if len(data) < n and data:
            parts = [data]
            want = n - len(data)
            while want > 0:
                block = self._raw_read(min(want, CHUNK))
                if not block:
                    break
                parts.append(block)
                want -= len(block)
            data = b"".join(parts)
        self.offset += len(data)
        self.bytes_read += len(data)
        return data

    def read_exact(self, n: int, what: str) -> bytes:
        start = self.offset
        if self._size is not None and n > self._size - start:
            raise self.error(
                f"truncated {what}: needs {n} bytes, only {max(self._size - start, 0)} remain"
            )
        data = self.read_upto(n)
        if len(data) != n:
            raise self.error(
                f"truncated {what}: needs {n} bytes, only {len(data)} remain", offset=start
            )
        return data

    def skip(self, n: int, what: str) -> None:
        """Move n bytes forward without keeping them; fail if the content is shorter."""
        start = self.offset
        if self.seekable:
            assert self._size is not None
            assert self._seek is not None
            if n > self._size - start:
                raise self.error(
                    f"truncated {what}: needs {n} bytes, only {max(self._size - start, 0)} remain"
                )
            self._drop_buffer()
            self._seek(start + n)
            self.offset = start + n
            return
        left = n
        while left > 0:
            block = self._raw_read(min(left, self._discard_chunk))
            if not block:
                raise self.error(
                    f"truncated {what}: needs {n} bytes, only {n - left} remain", offset=start
                )
            left -= len(block)
            self.offset += len(block)
            self.bytes_read += len(block)

    def remaining(self, most: int | None = None) -> int:
        """Consume the rest of the content and return how many bytes it had.

        With ``most``, a stream is read no further than ``most`` bytes: a result equal to
        ``most`` then means "at least that many".  (A plain file is measured, not read.)
        """
        if self.seekable:
            assert self._size is not None
            assert self._seek is not None
            rest = max(self._size - self.offset, 0)
            self._drop_buffer()
            self._seek(self._size)
            self.offset += rest
            return rest
        rest = 0
        while most is None or rest < most:
            want = self._discard_chunk if most is None else min(self._discard_chunk, most - rest)
            block = self._raw_read(want)
            if not block:
                break
            rest += len(block)
            self.offset += len(block)
            self.bytes_read += len(block)
        return rest


_NOT_REGULAR = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def _check_regular(path: Path, mode: int) -> None:
    if not stat.S_ISREG(mode):
        what = next((name for test, name in _NOT_REGULAR if test(mode)), "a special file")
        raise ImageFormatError(path, None, f"is {what}, not a regular file")


def open_regular(path: Path) -> int:
    """A read-only descriptor of ``path``, refused unless it is a regular file.

    The path is checked before it is opened, so that no device is ever opened, and the
    descriptor once more: O_NONBLOCK makes the open of a FIFO swapped in meanwhile return at
    once (instead of waiting for a writer forever), and fstat then refuses it.
    """
    try:
        _check_regular(path, os.stat(path).st_mode)
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except FileNotFoundError:
        raise ImageFormatError(path, None, "does not exist") from None
    except OSError as exc:
        raise ImageFormatError(path, None, f"cannot open: {exc.strerror or exc}") from None
    except ValueError as exc:  # a NUL byte in the path
        raise ImageFormatError(path, None, f"cannot open: {exc}") from None
    try:
        _check_regular(path, os.fstat(fd).st_mode)
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd


def open_plain(path: Path) -> tuple[ByteSource, Callable[[], None]]:
    """A seekable source over a plain file, and the function that closes it.

    The file is opened unbuffered: parsers mostly skip, and a read-ahead buffer would make
    "bytes read" (which the benchmark reports) meaningless.
    """
    handle = os.fdopen(open_regular(path), "rb", buffering=0)
    size = os.fstat(handle.fileno()).st_size
    return ByteSource(path, handle, size=size, seek=handle.seek), handle.close
