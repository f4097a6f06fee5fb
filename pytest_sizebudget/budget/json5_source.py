"""The one place that reads JSON5, plus the line of every value for error messages.

The json5 package parses values but keeps no positions, so a small scanner walks the
same text (already known to be valid) and records where each object member and array
element starts.  Items point at their budget entry's line; errors point at the key.
"""

from __future__ import annotations

import bisect
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import json5

from pytest_sizebudget.errors import BudgetFileError
from pytest_sizebudget.paths import PathProblem, check_path

_JSON5_ERROR = re.compile(r"^<string>:(?P<line>\d+) (?P<msg>.*?)(?: at column (?P<col>\d+))?$")
_MISSING: Any = object()
_WS = " \t\n\r\v\f\u00a0\ufeff\u2028\u2029"


@dataclass(slots=True)
class Position:
    """Where a value starts (1-based line and column) and where its children start."""

    line: int
    column: int
    children: dict[str | int, Position] = field(default_factory=dict)

    def at(self, *path: str | int) -> Position:
        """The position of a nested value, or the nearest enclosing one that is known."""
        node = self
        for step in path:
            child = node.children.get(step)
            if child is None:
                return node
            node = child
        return node


@dataclass(frozen=True, slots=True)
class Json5Document:
    path: Path
    value: Any
    positions: Position
    display: str = ""


def load_json5(path: Path, display: str | None = None) -> Json5Document:
    """Parse a JSON5 (or JSON) file; syntax errors name the file, line and column."""
    name = Path(display) if display else path
    try:
        check_path(path, str(name))  # a FIFO would block read_text, /dev/zero never end it
    except PathProblem as exc:
        raise BudgetFileError(exc.shown, exc.problem) from None
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BudgetFileError(name, "file does not exist") from None
    except UnicodeDecodeError as exc:
        raise BudgetFileError(name, f"not UTF-8 text (byte offset {exc.start})") from None
    except OSError as exc:
        raise BudgetFileError(name, f"cannot read file: {exc.strerror}") from None
    return parse_json5(text, path, display)


class _NotPlainJson(Exception):
    pass


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        raise _NotPlainJson
    return out


def _plain_json(text: str) -> Any:
    """The value of text that is strict JSON (the same value json5 gives), else raises.

    The json5 package is pure Python and slow: a generated budget file with thousands of
    paths takes a noticeable part of a warm run.  Anything unusual goes to json5."""
    try:
        return json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_reject)
    except (ValueError, _NotPlainJson, RecursionError):
        raise _NotPlainJson from None


def _reject(name: str) -> Any:
    raise _NotPlainJson  # NaN, Infinity: let json5 decide


def parse_json5(text: str, path: Path, display: str | None = None) -> Json5Document:
    name = Path(display) if display else path
    try:
        value = _plain_json(text)
    except _NotPlainJson:
        value = _MISSING
    try:
        if value is _MISSING:
            value = json5.loads(text, allow_duplicate_keys=False)
    except ValueError as exc:
        raise _syntax_error(name, text, str(exc)) from None
    except RecursionError:
        raise BudgetFileError(name, "nesting is too deep") from None
    return Json5Document(path, value, _Scanner(text).scan(), str(name))


def _syntax_error(path: Path, text: str, message: str) -> BudgetFileError:
    match = _JSON5_ERROR.match(message)
    if match:
        return BudgetFileError(
            path,
            f"invalid JSON5: {match['msg']}",
            line=int(match["line"]),
            column=int(match["col"] or 0),
        )
    dup = re.match(r'Duplicate key "(.*)" found in object', message)
    if dup:
        line, column = _find_duplicate(text, dup[1])
        return BudgetFileError(
            path,
            f"invalid JSON5: key {dup[1]!r} appears twice in one object",
            line=line,
            column=column,
        )
    return BudgetFileError(path, f"invalid JSON5: {message}")


def _find_duplicate(text: str, key: str) -> tuple[int, int]:
    # The text is valid apart from the repeated key, so the scanner can walk it.
    found: list[tuple[int, int]] = []
    _Scanner(text, duplicates=key, found=found).scan()
    return found[0] if found else (0, 0)


class _Scanner:
    """Walks JSON5 text recording positions; assumes the text is valid JSON5."""

    def __init__(
        self, text: str, duplicates: str | None = None, found: list[tuple[int, int]] | None = None
    ) -> None:
        self.text = text
        self.i = 0
        self.line_starts = [0] + [m.end() for m in re.finditer(r"\r\n|[\n\r\u2028\u2029]", text)]
        self.duplicates = duplicates
        self.found = found if found is not None else []

    def pos(self, offset: int) -> tuple[int, int]:
        line = bisect.bisect_right(self.line_starts, offset)
        return line, offset - self.line_starts[line - 1] + 1

    def scan(self) -> Position:
        self.skip()
        return self.value()

    def skip(self) -> None:
        text, n = self.text, len(self.text)
        while self.i < n:
            c = text[self.i]
            if c in _WS:
                self.i += 1
            elif text.startswith("//", self.i):
                end = re.compile(r"[\n\r\u2028\u2029]").search(text, self.i)
                self.i = end.start() if end else n
            elif text.startswith("/*", self.i):
                end_i = text.find("*/", self.i + 2)
                self.i = end_i + 2 if end_i >= 0 else n
            else:
                return

    def value(self) -> Position:
        line, column = self.pos(self.i)
        node = Position(line, column)
        c = self.text[self.i] if self.i < len(self.text) else ""
        if c == "{":
            self.members(node)
        elif c == "[":
            self.elements(node)
        elif c in "\"'":
            self.string()
        else:
            while self.i < len(self.text) and self.text[self.i] not in ",]}/" + _WS:
                self.i += 1
        return node

    def members(self, node: Position) -> None:
        self.i += 1
        while True:
            self.skip()
            if self.text[self.i] == "}":
                self.i += 1
                return
            key_start = self.i
            if self.text[self.i] in "\"'":
                key = json5.loads(self.string())
            else:
                while self.text[self.i] not in ":" + _WS and not self.text.startswith("/", self.i):
                    self.i += 1
                key = json5.loads("{" + self.text[key_start : self.i] + ":0}").popitem()[0]
            if key == self.duplicates and key in node.children:
                self.found.append(self.pos(key_start))
            self.skip()
            self.i += 1  # ':'
            self.skip()
            child = self.value()
            node.children[key] = Position(*self.pos(key_start), child.children)
            self.skip()
            if self.text[self.i] == ",":
                self.i += 1

    def elements(self, node: Position) -> None:
        self.i += 1
        index = 0
        while True:
            self.skip()
            if self.text[self.i] == "]":
                self.i += 1
                return
            node.children[index] = self.value()
            index += 1
            self.skip()
            if self.text[self.i] == ",":
                self.i += 1

    def string(self) -> str:
        quote = self.text[self.i]
        start = self.i
        self.i += 1
        while self.text[self.i] != quote:
            self.i += 2 if self.text[self.i] == "\\" else 1
        self.i += 1
        return self.text[start : self.i]
