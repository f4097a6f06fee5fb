"""Reading the JSON input files a budget names: manifests, blobs.json, images.json, reports.

Strict JSON (these files are written by tools, not people).  Beyond ``check_path``'s
checks of what the path is, the parser's own failures that are not ``JSONDecodeError``
become errors naming the file and the place: nesting deeper than the interpreter's
recursion limit (``RecursionError``) and integers longer than Python's digit limit
(``ValueError``).  ``preview`` shows a bad value in a message without ``repr`` of a
deeply nested or huge value (which can itself raise ``RecursionError`` or fill a log).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any, Final

from .budget.limits import first_problem
from .budget.positions import dotted
from .errors import InputError, kind_of
from .paths import printable, read_text

PREVIEW_CHARS: Final = 60
# Paths and names in tool-written files: only a runaway string is refused.
MAX_INPUT_STRING: Final = 1 << 20
_TOKENS: Final = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)


def read_json(path: Path, shown: str, *, check_values: bool = True) -> Any:
    """The JSON value of the file at ``path``; every problem an ``InputError`` naming ``shown``.

    ``check_values=False`` leaves the limits on strings, integers and nesting to a caller
    that checks each value it reads (a reader of large files that only uses a few keys).
    """
    text = read_text(path, shown)
    name = printable(shown)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{name}:{exc.lineno}:{exc.colno}: invalid JSON: {exc.msg}") from None
    except RecursionError:
        depth, offset = deepest(text)
        line, column = line_column(text, offset)
        raise InputError(
            f"{name}:{line}:{column}: nested too deeply: arrays and objects {depth:,} levels "
            "inside each other (no input file of this kind is more than a few levels deep)"
        ) from None
    except ValueError as exc:  # an integer beyond sys.get_int_max_str_digits()
        line, column = line_column(text, _long_number(text))
        raise InputError(f"{name}:{line}:{column}: invalid number: {exc}") from None
    # Written by tools, but a lone surrogate in a path would crash writing the reports,
    # and a runaway string or nesting the code that prints values.
    problem = first_problem(data, max_string=MAX_INPUT_STRING) if check_values else None
    if problem is not None:
        where, message = problem
        raise InputError(f"{name}: {dotted(where) + ': ' if where else ''}{message}")
    return data


def deepest(text: str) -> tuple[int, int]:
    """(greatest nesting depth of arrays and objects, offset where it is first reached).

    Only for the error message: a regular expression skips strings at C speed.
    """
    depth = best = where = 0
    for m in _TOKENS.finditer(text):
        token = m.group()
        if token in "[{":
            depth += 1
            if depth > best:
                best, where = depth, m.start()
        elif token in "]}":
            depth -= 1
    return best, where


def _long_number(text: str) -> int:
    limit = sys.get_int_max_str_digits()  # 0: no limit, and then no such error
    m = re.search(rf"\d{{{limit + 1},}}", text) if limit else None
    return m.start() if m else 0


def line_column(text: str, offset: int) -> tuple[int, int]:
    """1-based line and column of a character offset."""
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def preview(value: object) -> str:
    """A JSON value as an error message shows it: short scalars in full, else what it is."""
    if isinstance(value, dict | list):
        return f"{kind_of(value)} of {len(value):,} item{'s' * (len(value) != 1)}"
    text = repr(value)
    if len(text) > PREVIEW_CHARS:
        text = text[: PREVIEW_CHARS - 3] + "..."
    return printable(text)
