"""Bounds on what a budget file may hold, so that hostile input gets an error, not a crash.

The limits are far above anything a budget file needs (its deepest value is five
containers down, its longest string a path) and low enough that nothing downstream can
fail on them: no recursion runs out, no integer is too long for ``int()`` or ``str()``,
no string is too long to print, and every string can be written as UTF-8.  They are
documented in docs/budget-files.md ("Limits").
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

from .positions import KeyPath

MAX_DEPTH = 64
"""Objects and lists nested in each other, counting the outermost."""

MAX_STRING = 4096
"""Characters in one string (a key or a value): a path may be 4096 bytes (PATH_MAX)."""

MAX_INTEGER_DIGITS = 64
"""Decimal digits of an integer; a size must also be below 2**63 (units.MAX_SIZE)."""


def string_problem(text: str, max_string: int = MAX_STRING) -> str | None:
    """What is wrong with one string of a document (a key or a value), if anything."""
    if len(text) > max_string:
        return f"a string of {len(text):,} characters is longer than the limit of {max_string:,}"
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:
            # Only a lone surrogate (\ud800 written as an escape) cannot be encoded; it
            # would crash writing a report or printing the summary.
            return (
                f"the string has a lone surrogate \\u{ord(text[exc.start]):04x} at character "
                f"{exc.start + 1}, which is not a Unicode character"
            )
    return None


TOO_MANY_DIGITS = f"an integer of more than {MAX_INTEGER_DIGITS} digits is longer than the limit"
_LIMIT = 10**MAX_INTEGER_DIGITS


def integer_problem(value: int) -> str | None:
    return None if -_LIMIT < value < _LIMIT else TOO_MANY_DIGITS


def first_problem(
    value: Any, *, max_string: int = MAX_STRING, finite: bool = False
) -> tuple[KeyPath, str] | None:
    """The first value (in document order) that breaks a limit, with its key path.

    ``finite``: NaN and Infinity are errors too (in JSON, which Python's json extends).

    Iterative, so that a document nested deeper than the interpreter's recursion limit
    (which ``json.loads`` parses happily) is reported, not a ``RecursionError``.  For a
    member whose key breaks a limit the path ends in that key.  Key paths are made only
    for containers and for the value at fault: this walks every value of a large file.
    """
    problem = _scalar_problem(value, max_string, finite)
    if problem is not None:
        return (), problem
    if not isinstance(value, dict | list):
        return None
    stack: list[tuple[KeyPath, Iterator[tuple[str | int, Any]]]] = [((), _items(value, max_string))]
    while stack:
        path, items = stack[-1]
        if type(items) is _Strings:
            stack.pop()  # plain strings, checked at C speed when they were pushed
            continue
        for step, child in items:
            if type(step) is str and (len(step) > max_string or not step.isascii()):
                problem = string_problem(step, max_string)
                if problem is not None:
                    return (*path, step), f"key: {problem}"
            kind = type(child)
            if kind is str:
                if len(child) <= max_string and child.isascii():
                    continue
            elif kind is dict or kind is list:
                if len(stack) >= MAX_DEPTH:
                    return (*path, step), depth_problem()
                stack.append(((*path, step), _items(child, max_string)))
                break
            elif kind is not int and kind is not float:
                continue
            problem = _scalar_problem(child, max_string, finite)
            if problem is not None:
                return (*path, step), problem
        else:
            stack.pop()
    return None


def depth_problem() -> str:
    return f"objects and lists are nested deeper than the limit of {MAX_DEPTH} levels"


class _Strings(enumerate):  # type: ignore[type-arg]
    """A list of short ASCII strings: nothing in it to check."""


def _items(
    container: dict[str, Any] | list[Any], max_string: int
) -> Iterator[tuple[str | int, Any]]:
    if isinstance(container, dict):
        return iter(container.items())
    try:
        # Lists of paths are most of a large file; map() runs these at C speed and
        # raises TypeError at the first element that is not a string.
        if max(map(len, container), default=0) <= max_string and all(map(str.isascii, container)):
            return _Strings(())
    except TypeError:
        pass
    return enumerate(container)


def _scalar_problem(value: Any, max_string: int, finite: bool) -> str | None:
    kind = type(value)
    if kind is str:
        if len(value) <= max_string and value.isascii():
            return None  # the common case, without a call
        return string_problem(value, max_string)
    if kind is int and not -_LIMIT < value < _LIMIT:
        return integer_problem(value)
    if kind is float and finite and not math.isfinite(value):
        name = "NaN" if math.isnan(value) else ("-" if value < 0 else "") + "Infinity"
        return f"{name} is not JSON (write numbers as numbers; a size that is not known is null)"
    return None
