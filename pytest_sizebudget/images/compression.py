"""Compressed images: recognise the container by its magic and stream the content out.

Memory stays bounded whatever the compression ratio: the stdlib decompressors return at
most the requested number of bytes, and zstd is fed small pieces of input (see
_ZstdStream).  Failures are reported with the position reached in the compressed file,
which is the best offset anyone can give for a damaged stream.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import os
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import zstandard

from pytest_sizebudget.images import limits
from pytest_sizebudget.images.model import ImageFormatError
from pytest_sizebudget.images.source import CHUNK, ByteSource, Readable, open_regular
from pytest_sizebudget.units import describe

GZIP_MAGIC = b"\x1f\x8b"
XZ_MAGIC = b"\xfd7zXZ\x00"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
# "BZh" plus the block-size digit, then either a block header (pi) or the end-of-stream
# marker (sqrt(pi)) for an empty stream: 10 bytes make a false positive on a raw image
# practically impossible, where the 3-byte "BZh" alone would not.
_BZIP2_BLOCK = b"\x31\x41\x59\x26\x53\x59"
_BZIP2_END = b"\x17\x72\x45\x38\x50\x90"

# Longest prefix detect_compression() looks at.
SNIFF_BYTES = 10

# A zstd block holds at most 128 KiB of output and an RLE block needs only 4 bytes of input,
# so 128 input bytes can never turn into more than 4 MiB of output in one call.  (Measured:
# still about 200 MB/s of compressed input, so the small feed costs little.)
_ZSTD_FEED = 128
_ZSTD_MAX_OUTPUT = 4 << 20


# Containers recognised only to be refused: measured as raw bytes, such a file would count
# at its compressed length and pass a budget its content does not fit.
_LZ4 = {b"\x04\x22\x4d\x18": "frame", b"\x02\x21\x4c\x18": "legacy"}


def unsupported_compression(head: bytes) -> str | None:
    """Why a file that starts with ``head`` cannot be measured, or None."""
    for magic, name in _LZ4.items():
        if head.startswith(magic):
            return (
                f"is LZ4-compressed ({name} format, magic {magic.hex()}), which sizebudget "
                "cannot expand: check the uncompressed image"
            )
    return None


def detect_compression(head: bytes) -> str | None:
    if head.startswith(GZIP_MAGIC):
        return "gzip"
    if head.startswith(XZ_MAGIC):
        return "xz"
    if head.startswith(ZSTD_MAGIC):
        return "zstd"
    if (
        len(head) >= 10
        and head.startswith(b"BZh")
        and head[3:4] in b"123456789"
        and head[4:10] in (_BZIP2_BLOCK, _BZIP2_END)
    ):
        return "bzip2"
    return None


class _ZstdStream:
    """Bounded-output zstd reader that notices truncation.

    zstandard's stream_reader returns a clean end of stream when the input stops in the
    middle of a frame, which would make a truncated image look merely short.  The
    decompressobj API says whether the frame ended (``eof``), so frames are driven by hand.
    """

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw
        self._dctx = zstandard.ZstdDecompressor()
        self._obj = self._dctx.decompressobj()
        self._frame_has_input = False
        self._buffer = b""
        self._pos = 0
        self._input_done = False

    def _refill(self) -> None:
        while self._pos >= len(self._buffer) and not self._input_done:
            piece = self._raw.read(_ZSTD_FEED)
            if not piece:
                self._input_done = True
                if self._frame_has_input and not self._obj.eof:
                    raise EOFError("zstd stream ends in the middle of a frame")
                return
            outputs: list[bytes] = []
            while piece:
                if self._obj.eof:
                    # A new frame starts (concatenated frames decompress to the
                    # concatenation, like zstd -d).
                    self._obj = self._dctx.decompressobj()
                    self._frame_has_input = False
                self._frame_has_input = True
                outputs.append(self._obj.decompress(piece))
                piece = self._obj.unused_data if self._obj.eof else b""
            # Kept as returned (no copy) in the usual case of one output: a bomb is all
            # copying, so each avoided copy is time a rejected image does not cost.
            self._buffer = outputs[0] if len(outputs) == 1 else b"".join(outputs)
            self._pos = 0

    def read(self, size: int = -1, /) -> bytes:
        self._refill()
        buffer, pos = self._buffer, self._pos
        if pos >= len(buffer):
            return b""
        end = len(buffer) if size < 0 else min(pos + size, len(buffer))
        self._pos = end
        if pos == 0 and end == len(buffer):
            return buffer
        return bytes(memoryview(buffer)[pos:end])


def _open_decompressor(kind: str, raw: BinaryIO) -> Readable:
    if kind == "gzip":
        return gzip.GzipFile(fileobj=raw, mode="rb")
    if kind == "xz":
        return lzma.LZMAFile(raw, mode="rb")
    if kind == "bzip2":
        return bz2.BZ2File(raw, mode="rb")
    if kind == "zstd":
        return _ZstdStream(raw)
    raise ValueError(f"unknown compression {kind!r}")


def open_compressed(path: Path, kind: str) -> tuple[ByteSource, int, Callable[[], None]]:
    """A non-seekable source over the decompressed content, the compressed length, a closer.

    The source yields at most ``limits.MAX_EXPANDED_BYTES``; content beyond that is an
    ImageFormatError at that offset, whatever the format inside.
    """
    raw: BinaryIO = os.fdopen(open_regular(path), "rb")
    stored = raw.seek(0, 2)
    raw.seek(0)
    stream = _open_decompressor(kind, raw)
    source: ByteSource

    def failure(exc: BaseException) -> ImageFormatError:
        # raw.tell() is how far the decompressor had consumed the compressed file, which
        # is at or just past the damage.
        try:
            where: int | None = raw.tell()
        except (OSError, ValueError):
            where = None
        reason = str(exc) or type(exc).__name__
        return ImageFormatError(
            path,
            where,
            f"corrupt or truncated {kind} stream after {source.offset} decompressed bytes "
            f"(the offset is in the compressed file): {reason}",
        )

    cap = limits.MAX_EXPANDED_BYTES

    def too_long() -> str:
        return (
            f"the {kind} stream decompresses to more than {describe(cap)}, the most "
            "sizebudget expands of one image (MAX_EXPANDED_BYTES); reading stopped there"
        )

    source = ByteSource(
        path,
        stream,
        describe_failure=failure,
        max_content=(cap, too_long),
        # Bytes only counted are taken a whole zstd output at a time, which _ZstdStream
        # hands out without a copy: copies are most of what a bomb's expansion costs.
        discard_chunk=_ZSTD_MAX_OUTPUT if kind == "zstd" else CHUNK,
    )

    def close() -> None:
        closer = getattr(stream, "close", None)
        if closer is not None:
            closer()
        raw.close()

    return source, stored, close
