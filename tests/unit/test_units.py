from __future__ import annotations

import pytest

from pytest_sizebudget.units import SizeSyntaxError, describe, human, parse_size


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, 0),
        (12, 12),
        ("12", 12),
        ("12 B", 12),
        ("500 kB", 500_000),
        ("500 KB", 500_000),
        ("500kB", 500_000),
        ("  2 MB ", 2_000_000),
        ("1 GB", 10**9),
        ("1 TB", 10**12),
        ("12 MiB", 12 * 1024**2),
        ("1 KiB", 1024),
        ("1.5 KiB", 1536),
        (".5 MiB", 512 * 1024),
        ("3 GiB", 3 * 1024**3),
        ("1 TiB", 1024**4),
    ],
)
def test_sizes(value: object, expected: int) -> None:
    assert parse_size(value) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (-1, "must not be negative"),
        ("-1 MiB", "must not be negative"),
        (1.5, "whole number of bytes"),
        (1e6, "whole number of bytes"),
        (True, "boolean"),
        (None, "null"),
        ([1], "a list"),
        ("0.1 KiB", "not a whole number of bytes"),
        ("12 mib", "unknown unit 'mib' in '12 mib' (did you mean 'MiB'?)"),
        ("12 MiBs", "unknown unit 'MiBs'"),
        ("12 Mb", "did you mean 'MB'?"),
        ("twelve", "cannot read 'twelve' as a size"),
        ("1,000", "cannot read"),
        ("", "cannot read"),
    ],
)
def test_bad_sizes(value: object, message: str) -> None:
    with pytest.raises(SizeSyntaxError) as excinfo:
        parse_size(value)
    assert message in str(excinfo.value)


def test_human_units() -> None:
    assert human(1023) == "1023 B"
    assert human(1024) == "1.00 KiB"
    assert human(10 * 1024**2) == "10.00 MiB"
    assert human(-2048) == "-2.00 KiB"


def test_describe_never_lets_rounding_hide_a_difference() -> None:
    budget = 10 * 1024**2
    assert describe(budget + 1, budget) == "10,485,761 B"  # both would print 10.00 MiB
    assert describe(budget * 2, budget) == "20,971,520 B (20.00 MiB)"
    assert describe(5) == "5 B"
