"""Where values are in a budget file's text: line and column of any key path, on demand.

Error messages and items name the line and column of a value.  Recording them for every
value of a large file costs more than parsing it, so positions are found only when asked:

- ``JsonPositions`` (strict JSON, parsed by ``json``): finds the children of a container
  the first time a path goes through it, skipping each child with the C scanner of the
  ``json`` module, so a lookup costs a few C-speed passes over the containers on its path;
- ``OffsetTree`` (JSON5, parsed by ``json5_parser``): offsets recorded while parsing.

Both turn offsets into lines with ``LineIndex``.  A member's position is its key's, an
element's is its value's; a path that leaves the document stops at the nearest known
value.  Line breaks are ``\\n``, ``\\r\\n``, ``\\r``, U+2028 and U+2029 (JSON5's); columns
count characters, from 1.
"""

from __future__ import annotations

import bisect
import json
import json.decoder
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

KeyPath = tuple[str | int, ...]


def dotted(path: KeyPath) -> str:
    """A key path as messages write it: ``package_set_budgets[2].budget_bytes``."""
    out = ""
    for step in path:
        out += f"[{step}]" if isinstance(step, int) else (f".{step}" if out else step)
    return out


@dataclass(frozen=True, slots=True)
class Position:
    line: int  # 1-based
    column: int  # 1-based


class Positions(Protocol):
    def at(self, *path: str | int) -> Position:
        """The position of a nested value, or of the nearest enclosing one that is known."""
        ...


class LineIndex:
    """Line and column of offsets, counting line breaks from the nearest known offset.

    Offsets asked in document order (budgets, one after the other) cost one C-speed count
    over the text between them, so a whole file costs one pass, even on a single line.
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self.breaks = [b for b in ("\n", "\r", "\u2028", "\u2029") if b in text]
        self.crlf = "\r" in text and "\r\n" in text
        # Known points, sorted: offsets with their line and the offset their line starts at.
        self.offsets = [0]
        self.lines = [(1, 0)]

    def position(self, offset: int) -> Position:
        k = bisect.bisect_right(self.offsets, offset) - 1
        start = self.offsets[k]
        line, line_start = self.lines[k]
        if start == offset:
            return Position(line, offset - line_start + 1)
        count = self._count(start, offset)
        if count:
            line += count
            line_start = 1 + max(self.text.rfind(b, start, offset) for b in self.breaks)
        self.offsets.insert(k + 1, offset)
        self.lines.insert(k + 1, (line, line_start))
        return Position(line, offset - line_start + 1)

    def _count(self, start: int, end: int) -> int:
        text = self.text
        n = sum(text.count(b, start, end) for b in self.breaks)
        return n - text.count("\r\n", start, end) if self.crlf else n


class OffsetNode:
    """A value's offset in the text and, for a container, its children's nodes."""

    __slots__ = ("children", "offset")

    def __init__(self, offset: int, children: dict[str, OffsetNode] | list[OffsetNode] | None):
        self.offset = offset  # a member: where its key starts; else where its value starts
        self.children = children


class OffsetTree:
    def __init__(self, text: str, root: OffsetNode) -> None:
        self.root = root
        self.index = LineIndex(text)

    def at(self, *path: str | int) -> Position:
        node = self.root
        for step in path:
            child = _child(node.children, step)
            if child is None:
                break
            node = child
        return self.index.position(node.offset)


def _child(
    children: dict[str, OffsetNode] | list[OffsetNode] | None, step: str | int
) -> OffsetNode | None:
    if isinstance(children, dict):
        return children.get(step) if isinstance(step, str) else None
    if isinstance(children, list) and isinstance(step, int) and 0 <= step < len(children):
        return children[step]
    return None


_WS = re.compile(r"[ \t\n\r]*")


def _none(pairs: Any) -> None:
    return None  # skipping: objects need not be built


# The C scanner of the json module; with objects turned into None it skips a value
# quickly and builds little (lists of None and strings, freed at once).
_decoder = json.JSONDecoder(object_pairs_hook=_none)
_scan: Callable[[str, int], tuple[Any, int]] = _decoder.scan_once  # type: ignore[attr-defined]
_scanstring: Callable[[str, int], tuple[str, int]] = json.decoder.scanstring  # type: ignore[attr-defined]


@dataclass(slots=True)
class _Container:
    """Children of one container: key (or index) -> (position offset, value offset)."""

    members: dict[str | int, tuple[int, int]]


class JsonPositions:
    """Positions in text that ``json.loads`` parsed: found lazily, container by container."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.index = LineIndex(text)
        self.root = _WS.match(text, 0).end()  # type: ignore[union-attr]
        self.containers: dict[KeyPath, _Container] = {}

    def at(self, *path: str | int) -> Position:
        offset = value = self.root
        for depth, step in enumerate(path):
            members = self._children(path[:depth], value).members
            if step not in members:
                break
            offset, value = members[step]
        return self.index.position(offset)

    def _children(self, path: KeyPath, start: int) -> _Container:
        found = self.containers.get(path)
        if found is None:
            found = self.containers[path] = _Container(self._scan_container(start))
        return found

    def _scan_container(self, i: int) -> dict[str | int, tuple[int, int]]:
        text = self.text
        opener = text[i : i + 1]
        if opener not in ("{", "["):
            return {}
        members: dict[str | int, tuple[int, int]] = {}
        i = _WS.match(text, i + 1).end()  # type: ignore[union-attr]
        index = 0
        while text[i] not in "]}":
            if opener == "{":
                key_at = i
                key, i = _scanstring(text, i + 1)
                i = _WS.match(text, i).end() + 1  # type: ignore[union-attr]  # past ':'
                i = _WS.match(text, i).end()  # type: ignore[union-attr]
                members[key] = (key_at, i)
            else:
                members[index] = (i, i)
                index += 1
            _, i = _scan(text, i)
            i = _WS.match(text, i).end()  # type: ignore[union-attr]
            if text[i] == ",":
                i = _WS.match(text, i + 1).end()  # type: ignore[union-attr]
        return members


class Prefixed:
    """Positions of a document seen as the value of one member (ffx's V0 bare list)."""

    def __init__(self, inner: Positions, key: str) -> None:
        self.inner = inner
        self.key = key

    def at(self, *path: str | int) -> Position:
        if path and path[0] == self.key:
            return self.inner.at(*path[1:])
        return self.inner.at()
