"""The vocabulary of image measurement: the result record and the error every parser raises.

Kept apart from the parsers so that reports, caches and xdist workers can build and read
``ImageSizes`` without importing any parsing code.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from pytest_sizebudget.errors import InputError

# Detail values are restricted to JSON scalars so that to_dict() output can go straight into
# a JSON report and come back through from_dict() unchanged.
DetailValue = str | int | bool | None

FORMATS = ("raw", "sparse_file", "android_sparse", "fvm_sparse")
COMPRESSIONS = ("gzip", "xz", "bzip2", "zstd")


class ImageFormatError(InputError):
    """An image is not what it claims to be, or is damaged.

    ``offset`` is the byte offset in the file (for compressed files: in the decompressed
    content, unless the message says otherwise) or None when no single place is to blame.
    """

    def __init__(self, file: Path | str, offset: int | None, problem: str) -> None:
        self.file = str(file)
        self.offset = offset
        self.problem = problem
        super().__init__(self.describe())

    def describe(self) -> str:
        if self.offset is None:
            return f"{self.file}: {self.problem}"
        return f"{self.file}: offset {self.offset}: {self.problem}"

    def __reduce__(self) -> tuple[Any, ...]:
        # Exceptions pickle through their args by default, which would lose the keyword-shaped
        # constructor; xdist ships errors between processes, so spell the arguments out.
        return (type(self), (self.file, self.offset, self.problem))


def _freeze(details: Mapping[str, DetailValue]) -> Mapping[str, DetailValue]:
    return MappingProxyType(dict(sorted(details.items())))


@dataclass(frozen=True)
class ImageSizes:
    """Sizes of one image as the budget check sees them.

    - ``format``: what the content is (one of FORMATS), after any compression is removed.
    - ``file_bytes``: length of the file(s) as stored, compressed if they are compressed.
    - ``expanded_bytes``: bytes written to the partition; this is what budgets limit.
    - ``data_bytes``: bytes of the expanded image that carry data (not holes, not don't-care).
    - ``details``: extra facts that depend on the format (block size, chunk count, pieces,
      compression...), JSON scalars only, sorted by key.
    """

    format: str
    file_bytes: int
    expanded_bytes: int
    data_bytes: int
    details: Mapping[str, DetailValue] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.format not in FORMATS:
            raise ValueError(f"unknown image format {self.format!r}")
        for name in ("file_bytes", "expanded_bytes", "data_bytes"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name} must be a non-negative int, got {value!r}")
        if self.data_bytes > self.expanded_bytes:
            raise ValueError(
                f"data_bytes {self.data_bytes} exceeds expanded_bytes {self.expanded_bytes}"
            )
        # Runtime check on purpose: from_dict() feeds this from untyped JSON.
        items: list[tuple[object, object]] = list(self.details.items())
        for key, value in items:
            if not isinstance(key, str) or not isinstance(value, str | int | bool | type(None)):
                raise ValueError(f"detail {key!r} must map a str to a JSON scalar")
        # A frozen dataclass still holds whatever mapping it was given; freeze a copy so that
        # the caller cannot change a result after the fact.
        object.__setattr__(self, "details", _freeze(self.details))

    def __hash__(self) -> int:
        return hash(
            (
                self.format,
                self.file_bytes,
                self.expanded_bytes,
                self.data_bytes,
                tuple(self.details.items()),
            )
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ImageSizes):
            return NotImplemented
        return (
            self.format == other.format
            and self.file_bytes == other.file_bytes
            and self.expanded_bytes == other.expanded_bytes
            and self.data_bytes == other.data_bytes
            and dict(self.details) == dict(other.details)
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "file_bytes": self.file_bytes,
            "expanded_bytes": self.expanded_bytes,
            "data_bytes": self.data_bytes,
            "details": dict(self.details),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ImageSizes:
        """Inverse of to_dict(); raises ValueError on anything to_dict() cannot produce."""
        expected = {"format", "file_bytes", "expanded_bytes", "data_bytes", "details"}
        given: object = data
        if not isinstance(given, Mapping) or set(given) != expected:
            raise ValueError(f"ImageSizes needs exactly the keys {sorted(expected)}")
        details = data["details"]
        if not isinstance(details, Mapping):
            raise ValueError("ImageSizes details must be a mapping")
        fmt = data["format"]
        if not isinstance(fmt, str):
            raise ValueError("ImageSizes format must be a string")
        return cls(
            format=fmt,
            file_bytes=data["file_bytes"],
            expanded_bytes=data["expanded_bytes"],
            data_bytes=data["data_bytes"],
            details=dict(details),
        )
