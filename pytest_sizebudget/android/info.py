"""Key=value files of the Android build (``misc_info.txt``, ``dynamic_partitions_info.txt``).

Parsed as AOSP's ``common.LoadDictionaryFromLines`` does (android_super.md §2.1): each line
is stripped; empty lines and lines starting with ``#`` are skipped; a line without ``=``
is ignored; the split is at the first ``=`` and neither side is stripped further; a later
key overwrites an earlier one.  Every value keeps the file and line it came from, so that
an error about it can name them.  AOSP keeps every value a string and converts at use
with ``int()``; ``integer`` does the same conversion here, but a value ``int()`` would
refuse becomes a clear error instead of a traceback.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from pytest_sizebudget.errors import InputError
from pytest_sizebudget.paths import check_path, read_bytes

# A key=value file is a few kilobytes; a larger one is not what the key names.
MAX_INFO_BYTES = 16 << 20

# What Python's int() accepts for a decimal string (AOSP calls int() on every number),
# minus the sign: no size, count or limit is negative.
_INTEGER = re.compile(r"\+?[0-9]+(?:_[0-9]+)*\Z")


class InfoError(InputError):
    """A key=value file or one of its values is unusable; the message names where."""


@dataclass(frozen=True, slots=True)
class InfoValue:
    value: str
    origin: str  # "misc_info.txt:12", or what produced it ("super.img metadata")


class InfoDict(Mapping[str, str]):
    """The merged keys of one or more files, as strings, each with its origin."""

    def __init__(self, values: Mapping[str, InfoValue] | None = None) -> None:
        self._values: dict[str, InfoValue] = dict(values or {})

    def __getitem__(self, key: str) -> str:
        return self._values[key].value

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def origin(self, key: str) -> str:
        return self._values[key].origin

    def merged(self, other: InfoDict) -> InfoDict:
        """``self`` updated with ``other`` (later files win, as in AOSP's dict.update)."""
        return InfoDict({**self._values, **other._values})

    def with_value(self, key: str, value: str, origin: str) -> InfoDict:
        return InfoDict({**self._values, key: InfoValue(value, origin)})

    def where(self, key: str) -> str:
        """``key=value (origin)`` for messages."""
        return f"{key}={self[key]} ({self.origin(key)})"

    def flag(self, key: str) -> bool:
        """AOSP's test of a flag: the literal string ``true`` and nothing else."""
        return self.get(key) == "true"

    def words(self, key: str) -> list[str]:
        """A list value split on whitespace (``check_partition_sizes.py``'s rule)."""
        return self.get(key, "").split()

    def integer(self, key: str) -> int:
        """``int(value)`` as AOSP computes it, or an ``InfoError`` naming the line."""
        text = self[key].strip()
        if not _INTEGER.match(text):
            raise InfoError(f"{self.where(key)}: not a whole number of bytes")
        return int(text)


def parse_lines(lines: Iterable[str], name: str) -> InfoDict:
    values: dict[str, InfoValue] = {}
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, value = line.split("=", 1)
        values[key] = InfoValue(value, f"{name}:{number}")
    return InfoDict(values)


def parse_text(data: bytes, name: str) -> InfoDict:
    """A key=value file's bytes; ``name`` is how messages name the file."""
    if len(data) > MAX_INFO_BYTES:
        raise InfoError(
            f"{name}: {len(data):,} bytes is more than a key=value file holds "
            f"(at most {MAX_INFO_BYTES:,} are read)"
        )
    nul = data.find(b"\0")
    if nul >= 0:
        raise InfoError(f"{name}: byte offset {nul}: a NUL byte: not a text file")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InfoError(f"{name}: byte offset {exc.start}: not UTF-8 text") from None
    # Python's splitlines also splits on form feeds and other separators; AOSP splits the
    # text on "\n" (read().split("\n")), so do the same.
    return parse_lines(text.split("\n"), name)


def load_info_file(path: Path, shown: str) -> InfoDict:
    st = check_path(path, shown)
    if st.st_size > MAX_INFO_BYTES:
        raise InfoError(
            f"{shown}: {st.st_size:,} bytes is more than a key=value file holds "
            f"(at most {MAX_INFO_BYTES:,} are read)"
        )
    return parse_text(read_bytes(path, shown), shown)
