"""GNU ld map files (``-Map=<file>``): the memory regions, and what each input object adds.

Two parts of the map are read, line by line (a large program's map is tens of MB; it is
never held whole):

- "Memory Configuration": a header line (``Name Origin Length Attributes``), one row per
  MEMORY region (name, ``0x`` origin, ``0x`` length, optional attribute letters), ld's
  built-in ``*default*`` row last (left out, as ld leaves it out of its usage table).
  Rows are split on whitespace, not columns: a long name pushes the rest right, and the
  hex width follows the target's address size.
- "Linker script and memory map": each output section (a line starting in column 0),
  then its input sections, one per line starting with one space (``.text  0x… 0x… obj.o``),
  or, when the input section's name is long, its name alone and the numbers on the next
  line.  ``*fill*`` lines are padding ld inserted.  Symbol and assignment lines (indented
  further, no size) and ``*(pattern)`` lines are skipped.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, cast

from pytest_sizebudget.errors import InputError
from pytest_sizebudget.paths import PathProblem, open_file

from .regions import Region

FILL = "(fill)"  # how the breakdown names the padding ld inserts (``*fill*`` lines)
MAX_LINE = 1 << 16  # a longer line is cut: no map line is anywhere near this long

_HEX = r"0x[0-9a-fA-F]+"
_ROW = re.compile(rf"(\S+)\s+({_HEX})\s+({_HEX})(?:\s+(\S+))?\s*\Z")
_OUTPUT = re.compile(rf"(\S+)(?:\s+({_HEX})\s+({_HEX})(?:\s+load address ({_HEX}))?)?\s*\Z")
_INPUT = re.compile(rf" (\S+)\s+({_HEX})\s+({_HEX})(?:\s+(.*?))?\s*\Z")
_WRAPPED = re.compile(rf"\s+({_HEX})\s+({_HEX})(?:\s+(.*?))?\s*\Z")
_NOT_SECTIONS = ("LOAD ", "OUTPUT(", "START GROUP", "END GROUP", "INPUT(", "GROUP(")


class MapFormatError(InputError):
    """Not a GNU ld map file, or one without what is needed."""


@dataclass(frozen=True, slots=True)
class InputPiece:
    """An input section of an output section: its object file and size."""

    output_section: str
    obj: str  # ``main.o``, ``libfoo.a(bar.o)``, or FILL
    size: int


def _lines(f: BinaryIO) -> Iterator[tuple[int, str]]:
    number = 0
    while True:
        raw = f.readline(MAX_LINE)
        if not raw:
            return
        number += 1
        yield number, raw.decode("utf-8", "replace").rstrip("\r\n")


def _open(path: Path, shown: str) -> BinaryIO:
    f, _ = open_file(path, shown)
    # Unbuffered, readline would read a byte at a time.
    return cast(BinaryIO, io.BufferedReader(cast(io.RawIOBase, f), 1 << 20))


def read_memory_configuration(path: Path, shown: str) -> tuple[Region, ...]:
    """The MEMORY regions a map file lists, in declaration order (``*default*`` left out)."""
    try:
        with _open(path, shown) as f:
            return _memory_configuration(_lines(f), shown)
    except OSError as exc:
        raise PathProblem(shown, f"cannot be read: {exc.strerror or exc}") from None


def _memory_configuration(lines: Iterator[tuple[int, str]], shown: str) -> tuple[Region, ...]:
    for _, line in lines:
        if line.strip() == "Memory Configuration":
            break
    else:
        raise MapFormatError(
            f"{shown}: no 'Memory Configuration' table: not a GNU ld map file (-Map=FILE), "
            "or one from a link without a MEMORY command"
        )
    regions: list[Region] = []
    header = False
    for number, line in lines:
        text = line.strip()
        if not header:
            if not text:
                continue
            if text.split() != ["Name", "Origin", "Length", "Attributes"]:
                raise MapFormatError(
                    f"{shown}: line {number}: expected the 'Name Origin Length Attributes' "
                    f"header of the Memory Configuration table, got {text[:80]!r}"
                )
            header = True
            continue
        if not text:
            break
        m = _ROW.match(text)
        if m is None:
            raise MapFormatError(
                f"{shown}: line {number}: not a memory region row (name, 0x origin, 0x "
                f"length, attributes): {text[:80]!r}"
            )
        name, origin, length, attributes = m.groups()
        if name == "*default*":
            continue
        regions.append(Region(name, int(origin, 16), int(length, 16), attributes or ""))
    if not header:
        raise MapFormatError(f"{shown}: the Memory Configuration table ends before its header")
    if not regions:
        raise MapFormatError(
            f"{shown}: the Memory Configuration table lists no region besides *default*: "
            "the link had no MEMORY command, so there are no regions to budget"
        )
    names = [r.name for r in regions]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise MapFormatError(f"{shown}: region(s) listed twice: {', '.join(dupes)}")
    return tuple(regions)


def read_input_pieces(path: Path, shown: str) -> list[InputPiece]:
    """Every input section with a size, under its output section, in map order."""
    try:
        with _open(path, shown) as f:
            return _input_pieces(_lines(f))
    except OSError as exc:
        raise PathProblem(shown, f"cannot be read: {exc.strerror or exc}") from None


def _input_pieces(lines: Iterator[tuple[int, str]]) -> list[InputPiece]:
    for _, line in lines:
        if line.startswith("Linker script and memory map"):
            break
    pieces: list[InputPiece] = []
    output: str | None = None
    pending: str | None = None  # an input section whose numbers are on the next line
    for _, line in lines:
        if not line:
            pending = None
            continue
        if not line[0].isspace():
            pending = None
            if line.startswith(_NOT_SECTIONS):
                output = None
                continue
            m = _OUTPUT.match(line)
            output = m.group(1) if m else None
            continue
        if output is None:
            continue
        if pending is not None:
            wrapped = _WRAPPED.match(line)
            name, pending = pending, None
            if wrapped is not None:
                _add(pieces, output, name, wrapped.group(2), wrapped.group(3))
                continue
        if line[1:2].isspace():
            continue  # a symbol, an assignment or "(size before relaxing)"
        m = _INPUT.match(line)
        if m is not None:
            _add(pieces, output, m.group(1), m.group(3), m.group(4))
        elif " " not in line[1:].strip() and not line.startswith(" *("):
            pending = line.strip()
    return pieces


def _add(pieces: list[InputPiece], output: str, name: str, size: str, obj: str | None) -> None:
    n = int(size, 16)
    if n == 0:
        return
    if name == "*fill*":
        pieces.append(InputPiece(output, FILL, n))
    elif obj and not name.startswith("*("):
        pieces.append(InputPiece(output, obj, n))
