"""JSON5 (https://spec.json5.org) in one pass: the value, every value's offset, and limits.

The json5 package is a pure-Python PEG parser that keeps no positions (about 3 s per MB,
and positions took another scan).  Here whole tokens are matched by regular expressions
(strings, numbers, comments and runs of blanks each in one C-speed match) and nesting is
an explicit stack, not recursion, so that any depth gets an error instead of a
``RecursionError``.  The limits of ``limits.py`` are checked as values are read.

Values are what the json5 package gives (``1e3`` and ``1.0`` are floats, ``0x10`` is an
int, ``NaN`` and ``Infinity`` are floats), except that a surrogate pair written as two
escapes is one character, as in ``json``, and a lone surrogate is an error.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass, field
from typing import Any

from .limits import (
    MAX_DEPTH,
    MAX_INTEGER_DIGITS,
    MAX_STRING,
    TOO_MANY_DIGITS,
    depth_problem,
    integer_problem,
    string_problem,
)
from .positions import KeyPath, OffsetNode


class Json5SyntaxError(Exception):
    """Text that is not JSON5, or breaks a limit; ``offset`` is where (0-based)."""

    def __init__(self, offset: int, message: str, path: KeyPath | None = None) -> None:
        super().__init__(message)
        self.offset = offset
        self.message = message
        self.path = path  # set for a broken limit: the key path of the value


_BLANK = "\t\n\v\f\r \xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
_SKIP = re.compile(rf"(?:[{_BLANK}]+|//[^\n\r\u2028\u2029]*|/\*[\s\S]*?\*/)*")
# Strings: runs of plain characters between escapes (an escape may join lines).
_DOUBLE = re.compile(r'"([^"\\\n\r]*(?:\\(?:\r\n|[\s\S])[^"\\\n\r]*)*)"')
_SINGLE = re.compile(r"'([^'\\\n\r]*(?:\\(?:\r\n|[\s\S])[^'\\\n\r]*)*)'")
_ESCAPE = re.compile(r"\\(?:x([0-9a-fA-F]{2})|u([0-9a-fA-F]{4})|(\r\n|[\s\S]))")
_SIMPLE_ESCAPES = {
    "b": "\b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "v": "\v",
    "0": "\0",
    "\n": "",  # a backslash before a line break continues the string on the next line
    "\r": "",
    "\r\n": "",
    "\u2028": "",
    "\u2029": "",
}
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_NUMBER = re.compile(
    r"[+-]?(?:Infinity|NaN|0[xX][0-9a-fA-F]+"
    r"|(?:(?:0|[1-9][0-9]*)(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)"
)
_IDENT = re.compile(r"(?:[^\W\d]|\$|\\u[0-9a-fA-F]{4})(?:[\w$\u200c\u200d]|\\u[0-9a-fA-F]{4})*")
_WORDS: dict[str, Any] = {
    "true": True,
    "false": False,
    "null": None,
    "Infinity": float("inf"),
    "NaN": float("nan"),
}


@dataclass(slots=True)
class _Frame:
    """An object or list being read."""

    value: dict[str, Any] | list[Any]
    node: OffsetNode
    closer: str
    key: str = ""  # objects: the member being read
    key_at: int = 0
    children: dict[str, OffsetNode] | list[OffsetNode] = field(default_factory=list)


def parse_json5(text: str, *, max_string: int = MAX_STRING) -> tuple[Any, OffsetNode]:
    """The value of ``text`` and its offsets; raises ``Json5SyntaxError``."""
    return _Parser(text, max_string).parse()


def _what(text: str, i: int) -> str:
    """How a message names what was found at ``i``."""
    if i >= len(text):
        return "the end of the file"
    return repr(text[i])


class _Parser:
    def __init__(self, text: str, max_string: int) -> None:
        self.text = text
        self.max_string = max_string
        self.stack: list[_Frame] = []

    def parse(self) -> tuple[Any, OffsetNode]:
        text, n, stack = self.text, len(self.text), self.stack
        i = self.skip(0)
        if i >= n:
            raise Json5SyntaxError(i, "no value: the file is empty or holds only comments")
        root: OffsetNode | None = None
        while True:
            # A value starts at i.
            c = text[i : i + 1]
            offset = stack[-1].key_at if stack and stack[-1].closer == "}" else i
            if c == "{" or c == "[":
                if len(stack) >= MAX_DEPTH:
                    raise Json5SyntaxError(offset, depth_problem(), self.path())
                container: dict[str, Any] | list[Any] = {} if c == "{" else []
                children: dict[str, OffsetNode] | list[OffsetNode] = {} if c == "{" else []
                frame = _Frame(container, OffsetNode(offset, children), "}" if c == "{" else "]")
                frame.children = children
                stack.append(frame)
                i = self.skip(i + 1)
                if text.startswith(frame.closer, i):
                    i += 1
                    stack.pop()
                    value: Any = container
                    node = frame.node
                else:
                    if c == "{":
                        i = self.key(frame, i)
                    continue
            else:
                value, i = self.scalar(i, offset)
                node = OffsetNode(offset, None)
            # The value is complete: add it to its container, then read what follows.
            while True:
                if not stack:
                    i = self.skip(i)
                    if i < n:
                        raise Json5SyntaxError(
                            i, f"expected the end of the file after the value, got {_what(text, i)}"
                        )
                    root = node
                    return value, root
                frame = stack[-1]
                if isinstance(frame.value, dict):
                    frame.value[frame.key] = value
                    frame.children[frame.key] = node  # type: ignore[call-overload]
                else:
                    frame.value.append(value)
                    frame.children.append(node)  # type: ignore[union-attr]
                i = self.skip(i)
                c = text[i : i + 1]
                if c == ",":
                    i = self.skip(i + 1)
                    if not text.startswith(frame.closer, i):
                        if frame.closer == "}":
                            i = self.key(frame, i)
                        break  # the next value
                    c = frame.closer  # a trailing comma
                if c != frame.closer:
                    raise Json5SyntaxError(
                        i, f"expected ',' or '{frame.closer}', got {_what(text, i)}"
                    )
                i += 1
                stack.pop()
                value, node = frame.value, frame.node

    def path(self) -> KeyPath:
        return tuple(f.key if isinstance(f.value, dict) else len(f.value) for f in self.stack)

    def skip(self, i: int) -> int:
        """Past blanks and comments."""
        end = _SKIP.match(self.text, i).end()  # type: ignore[union-attr]  # matches ""
        if self.text.startswith("/*", end):
            raise Json5SyntaxError(end, "a /* comment is not closed")
        return end

    def key(self, frame: _Frame, i: int) -> int:
        """Reads a member's key and its colon; returns where the value starts."""
        text = self.text
        c = text[i : i + 1]
        if c == '"' or c == "'":
            key, end = self.string(i)
        else:
            match = _IDENT.match(text, i)
            if match is None:
                raise Json5SyntaxError(
                    i, f"expected a key (a name or a string) or '}}', got {_what(text, i)}"
                )
            key, end = match[0], match.end()
            if "\\" in key:
                key = _ESCAPE.sub(lambda m: chr(int(m[2], 16)), key)
        frame.key_at = i
        problem = string_problem(key, self.max_string)
        if problem is not None:
            frame.key = key[:40]
            raise Json5SyntaxError(i, f"key: {problem}", self.path())
        if key in frame.value:
            raise Json5SyntaxError(i, f"key {key!r} appears twice in one object")
        frame.key = key
        end = self.skip(end)
        if not text.startswith(":", end):
            raise Json5SyntaxError(
                end, f"expected ':' after the key {key!r}, got {_what(text, end)}"
            )
        return self.skip(end + 1)

    def scalar(self, i: int, at: int) -> tuple[Any, int]:
        """The value at ``i``; a broken limit is reported at ``at``, its member's key."""
        text = self.text
        c = text[i : i + 1]
        if c == '"' or c == "'":
            value, end = self.string(i)
            problem = string_problem(value, self.max_string)
            if problem is not None:
                raise Json5SyntaxError(at, problem, self.path())
            return value, end
        number = _NUMBER.match(text, i)
        if number is not None:
            end = number.end()
            if end < len(text) and (text[end].isalnum() or text[end] in "_$."):
                raise Json5SyntaxError(end, f"unexpected {_what(text, end)} in a number")
            return self.number(number[0], at), end
        word = _IDENT.match(text, i)
        if word is not None and word[0] in _WORDS:
            return _WORDS[word[0]], word.end()
        if word is not None:
            raise Json5SyntaxError(
                i, f"expected a value, got {word[0][:40]!r} (a string needs quotes)"
            )
        raise Json5SyntaxError(i, f"expected a value, got {_what(text, i)}")

    def number(self, literal: str, i: int) -> Any:
        body = literal.lstrip("+-")
        sign = -1 if literal.startswith("-") else 1
        if body in _WORDS:
            return sign * _WORDS[body]
        if body[:2] in ("0x", "0X"):
            digits = body[2:]
            if len(digits) > MAX_INTEGER_DIGITS:
                raise Json5SyntaxError(i, TOO_MANY_DIGITS, self.path())
            value = sign * int(digits, 16)
        elif "." in body or "e" in body or "E" in body:
            return float(literal)
        else:
            if len(body) > MAX_INTEGER_DIGITS:
                # Checked before int(): Python refuses to convert more than 4300 digits.
                raise Json5SyntaxError(i, TOO_MANY_DIGITS, self.path())
            value = int(literal)
        problem = integer_problem(value)
        if problem is not None:
            raise Json5SyntaxError(i, problem, self.path())
        return value

    def string(self, i: int) -> tuple[str, int]:
        text = self.text
        match = (_DOUBLE if text[i] == '"' else _SINGLE).match(text, i)
        if match is None:
            raise Json5SyntaxError(
                i, "the string is not closed before the end of its line (or of the file)"
            )
        raw = match[1]
        if "\\" not in raw:
            return raw, match.end()
        start = i + 1

        def unescape(m: re.Match[str]) -> str:
            if m[1] is not None:
                return chr(int(m[1], 16))
            if m[2] is not None:
                return chr(int(m[2], 16))
            c = m[3]
            if c == "0" and raw[m.end() : m.end() + 1].isdigit():
                raise Json5SyntaxError(
                    start + m.start(), "octal escapes such as \\01 are not JSON5"
                )
            if c in _SIMPLE_ESCAPES:
                return _SIMPLE_ESCAPES[c]
            if c in "123456789xu":
                raise Json5SyntaxError(start + m.start(), f"invalid escape \\{c} in a string")
            return c

        value = _ESCAPE.sub(unescape, raw)
        if _SURROGATE.search(value):
            # Pairs written as two escapes become one character; a lone one is an error,
            # which string_problem names.
            with contextlib.suppress(UnicodeDecodeError):
                value = value.encode("utf-16-le", "surrogatepass").decode("utf-16-le")
        return value, match.end()
