"""Exceptions of the pytest-free core.

Every message is a plain string that names the file, the key or offset, and what is
wrong: it has to read well in a CI log and survive the trip from an xdist worker.
"""

from __future__ import annotations

from pathlib import Path


def kind_of(value: object) -> str:
    """How an error message names the kind of a JSON value that was not what it should be."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def shown(value: object, limit: int = 60) -> str:
    """A JSON value as a message quotes it: short, in JSON's spelling, never huge.

    ``true``/``null``/``NaN`` as JSON writes them (not Python's ``True``), strings cut
    to ``limit`` characters, integers with too many digits to print named by their kind,
    and objects and lists by their kind only.
    """
    if value is None or isinstance(value, bool):
        return "null" if value is None else str(value).lower()
    if isinstance(value, int):
        return repr(value) if value.bit_length() <= 256 else "an integer of very many digits"
    if isinstance(value, float):
        if value != value:
            return "NaN"
        if value in (float("inf"), float("-inf")):
            return "Infinity" if value > 0 else "-Infinity"
        return repr(value)
    if isinstance(value, str):
        text = repr(value[:limit])
        if len(value) <= limit:
            return text
        return f"{text[:-1]}...{text[-1]} ({len(value):,} characters)"
    return kind_of(value)


class SizeBudgetError(Exception):
    """Base class of every error the plugin reports as a user error (no traceback)."""


class BudgetFileError(SizeBudgetError):
    """A budget file (or a file it names) cannot be read or does not have the right shape.

    ``key`` is a dotted path into the file (``package_set_budgets[2].budget_bytes``);
    ``line`` and ``column`` are 1-based and 0 when unknown.
    """

    def __init__(
        self,
        file: Path | str,
        message: str,
        *,
        key: str = "",
        line: int = 0,
        column: int = 0,
    ) -> None:
        self.file = str(file)
        self.message = message
        self.key = key
        self.line = line
        self.column = column
        super().__init__(self.describe())

    def describe(self) -> str:
        where = self.file
        if self.line:
            where += f":{self.line}"
            if self.column:
                where += f":{self.column}"
        what = f"{self.key}: {self.message}" if self.key else self.message
        return f"{where}: {what}"


class BudgetFileErrors(SizeBudgetError):
    """Several problems found in one budget file, reported together."""

    def __init__(self, file: Path | str, errors: list[BudgetFileError]) -> None:
        self.file = str(file)
        self.errors = errors
        super().__init__(self.describe())

    def describe(self) -> str:
        count = len(self.errors)
        head = f"{self.file}: {count} problem{'s' if count != 1 else ''} in budget file"
        return "\n".join([head, *("  " + e.describe() for e in self.errors)])


class InputError(SizeBudgetError):
    """An input that a budget names (manifest, blobs.json, blob, image) is missing or invalid."""


class MeasurementError(SizeBudgetError):
    """A blob or image could not be measured."""
