"""Byte sizes: parsing ``"12 MiB"`` and friends, and printing sizes for people.

Grammar (whole string, surrounding blanks ignored)::

    size   := number [blanks] [unit]
    number := digits ["." digits] | "." digits
    unit   := "B" | "kB" | "KB" | "MB" | "GB" | "TB" | "KiB" | "MiB" | "GiB" | "TiB"

Decimal units are powers of 1000, binary units powers of 1024.  A number without a
unit is bytes.  The value must come out as a whole number of bytes (``"1.5 KiB"`` is
1536, ``"0.1 KiB"`` is an error); arithmetic is exact (no floating point).
"""

from __future__ import annotations

import difflib
import math
import re
from fractions import Fraction

from pytest_sizebudget.errors import kind_of

UNITS: dict[str, int] = {
    "B": 1,
    "kB": 1000,
    "KB": 1000,
    "MB": 1000**2,
    "GB": 1000**3,
    "TB": 1000**4,
    "KiB": 1024,
    "MiB": 1024**2,
    "GiB": 1024**3,
    "TiB": 1024**4,
}

_SIZE = re.compile(r"(?P<num>[0-9]+(?:\.[0-9]+)?|\.[0-9]+)\s*(?P<unit>[A-Za-z]*)")


MAX_SIZE = 2**63 - 1
"""The largest size: what a signed 64-bit integer holds, so every report reader can."""

MAX_SIZE_STRING = 64
"""Characters in a size string; ``int()`` refuses more than 4300 digits, and no size
needs more than a few."""


class SizeSyntaxError(ValueError):
    """A size value that is not a non-negative whole number of bytes."""


def parse_size(value: object) -> int:
    """Bytes from a JSON value: a non-negative integer or a string with a unit."""
    if isinstance(value, bool):
        raise SizeSyntaxError(f"expected a size, got the boolean {str(value).lower()}")
    if isinstance(value, int):
        if value < 0:
            raise SizeSyntaxError(f"size must not be negative, got {_digits(value)}")
        return _at_most_max(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            # JSON5's NaN and Infinity
            name = "NaN" if math.isnan(value) else ("-" if value < 0 else "") + "Infinity"
            raise SizeSyntaxError(f"expected a size, got {name}")
        raise SizeSyntaxError(
            f"size must be a whole number of bytes or a string with a unit, got {value!r}"
        )
    if isinstance(value, str):
        return _parse_size_string(value)
    raise SizeSyntaxError(
        f'expected a size (integer bytes or a string such as "12 MiB"), got {kind_of(value)}'
    )


def _digits(n: int) -> str:
    """``n`` with thousands separators, or how many digits it has when that is too many."""
    if n.bit_length() > 256:
        return f"an integer of {len(str(n)) if n.bit_length() < 14_000 else 'thousands of'} digits"
    return f"{n:,}"


def _at_most_max(n: int) -> int:
    if n > MAX_SIZE:
        raise SizeSyntaxError(
            f"size {_digits(n)} is larger than the largest size, {MAX_SIZE:,} bytes (2^63 - 1)"
        )
    return n


def _parse_size_string(text: str) -> int:
    if len(text) > MAX_SIZE_STRING:
        raise SizeSyntaxError(
            f"a size string of {len(text):,} characters is longer than the limit of "
            f"{MAX_SIZE_STRING}"
        )
    stripped = text.strip()
    if stripped.startswith("-"):
        raise SizeSyntaxError(f"size must not be negative, got {text!r}")
    match = _SIZE.fullmatch(stripped)
    if match is None:
        raise SizeSyntaxError(
            f"cannot read {text!r} as a size: expected a number and an optional unit, "
            'such as "12 MiB" or "500 kB"'
        )
    unit = match["unit"] or "B"
    if unit not in UNITS:
        hint = _closest_unit(unit)
        raise SizeSyntaxError(
            f"unknown unit {unit!r} in {text!r}"
            + (f" (did you mean {hint!r}?)" if hint else "")
            + f"; known units: {', '.join(UNITS)}"
        )
    number = match["num"]
    if "." not in number:  # the usual case, without a Fraction
        return _at_most_max(int(number) * UNITS[unit])
    amount = Fraction(number) * UNITS[unit]
    if amount.denominator != 1:
        raise SizeSyntaxError(f"{text!r} is not a whole number of bytes ({float(amount)} B)")
    return _at_most_max(int(amount))


def _closest_unit(unit: str) -> str | None:
    for known in UNITS:
        if known.lower() == unit.lower():
            return known
    close = difflib.get_close_matches(unit, list(UNITS), n=1)
    return close[0] if close else None


def format_bytes(n: int) -> str:
    """Exact bytes with thousands separators: ``"10,485,761 B"``."""
    return f"{n:,} B"


def human(n: int) -> str:
    """Binary units with two decimals: ``"10.00 MiB"``; small values stay in bytes."""
    sign = "-" if n < 0 else ""
    m = abs(n)
    if m < 1024:
        return f"{sign}{m} B"
    for unit in ("KiB", "MiB", "GiB", "TiB"):
        scaled = m / UNITS[unit]
        if scaled < 1024 or unit == "TiB":
            return f"{sign}{scaled:.2f} {unit}"
    raise AssertionError("unreachable")  # pragma: no cover


def describe(n: int, *others: int) -> str:
    """Exact bytes, plus human units when they tell ``n`` apart from every one of ``others``.

    Rounding must never hide a difference: when ``human(n)`` prints the same as the
    human form of a value it is compared with, only the exact bytes are shown.
    """
    exact = format_bytes(n)
    if abs(n) < 1024:
        return exact
    rounded = human(n)
    if any(human(o) == rounded and o != n for o in others):
        return exact
    return f"{exact} ({rounded})"
