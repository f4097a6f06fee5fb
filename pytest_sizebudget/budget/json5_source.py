"""The one place that reads budget-file text: JSON5 (or JSON) with positions and limits.

Strict JSON, what generators write and the bulk of large files, is parsed by ``json``
(C speed) and its positions are found lazily, only where an item or an error needs one
(``positions.JsonPositions``).  Anything else goes to ``json5_parser``, which records
offsets as it parses and gives every syntax error its line and column.  Both apply the
limits of ``limits.py``, so hostile input is an error that names where, never a
traceback.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_sizebudget.errors import BudgetFileError
from pytest_sizebudget.paths import PathProblem, check_path

from .limits import first_problem
from .positions import JsonPositions, LineIndex, OffsetTree, Positions, dotted

if TYPE_CHECKING:  # the JSON5 parser is imported for text that is not strict JSON
    from .json5_parser import Json5SyntaxError

_MISSING: Any = object()


@dataclass(frozen=True, slots=True)
class Json5Document:
    path: Path
    value: Any
    positions: Positions
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


def _reject(name: str) -> Any:
    raise _NotPlainJson  # NaN, Infinity: JSON5, which the JSON5 parser reads


def _plain_json(text: str) -> Any:
    """The value of text that is strict JSON (the same value JSON5 gives), else raises."""
    try:
        return json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_reject)
    except (ValueError, _NotPlainJson, RecursionError):
        # ValueError: not JSON, or an integer of more than 4300 digits; RecursionError:
        # nested too deep for the C scanner.  The JSON5 parser says which, and where.
        raise _NotPlainJson from None


def parse_json5(text: str, path: Path, display: str | None = None) -> Json5Document:
    name = Path(display) if display else path
    shown = str(name)
    try:
        value = _plain_json(text)
    except _NotPlainJson:
        value = _MISSING
    if value is not _MISSING:
        positions: Positions = JsonPositions(text)
        problem = first_problem(value)
        if problem is not None:
            where, message = problem
            pos = positions.at(*where)
            raise BudgetFileError(
                shown, message, key=dotted(where), line=pos.line, column=pos.column
            )
        return Json5Document(path, value, positions, shown)
    from .json5_parser import Json5SyntaxError, parse_json5

    try:
        value, root = parse_json5(text)
    except Json5SyntaxError as exc:
        raise _syntax_error(shown, text, exc) from None
    return Json5Document(path, value, OffsetTree(text, root), shown)


def _syntax_error(name: str, text: str, exc: Json5SyntaxError) -> BudgetFileError:
    pos = LineIndex(text).position(exc.offset)
    if exc.path is not None:  # a broken limit, in text that may be valid otherwise
        return BudgetFileError(
            name, exc.message, key=dotted(exc.path), line=pos.line, column=pos.column
        )
    return BudgetFileError(name, f"invalid JSON5: {exc.message}", line=pos.line, column=pos.column)
