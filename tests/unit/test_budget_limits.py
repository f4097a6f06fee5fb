"""Bounds on budget files: hostile input is an error that names the place, never a crash."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from pytest_sizebudget.budget.parse import load_budget_file
from pytest_sizebudget.errors import BudgetFileError, SizeBudgetError
from pytest_sizebudget.units import SizeSyntaxError, parse_size

# The documented limits (docs/budget-files.md, "Limits"), written out: a change of a
# limit is a change of the documentation.
MAX_DEPTH = 64
MAX_STRING = 4096
MAX_SIZE = 2**63 - 1


def problems(tmp_path: Path, text: str, name: str = "b.json5") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SizeBudgetError) as excinfo:
        load_budget_file(path, display=name)
    return str(excinfo.value)


def one_set(**fields: object) -> str:
    entry = {"name": "A", "budget_bytes": 1, "packages": ["p"], **fields}
    return json.dumps({"package_set_budgets": [entry]})


@pytest.mark.parametrize("name", ["b.json", "b.json5"])
@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 800, 100_000])
def test_deep_nesting_is_an_error_at_the_first_level_too_deep(
    tmp_path: Path, name: str, depth: int
) -> None:
    # Valid JSON: strict JSON goes through json, and then the limit walk; 100,000 levels
    # exceed the C scanner's own limit and go to the JSON5 parser.  Before: RecursionError.
    text = '{"package_set_budgets": [' + "[" * depth + "]" * depth + "]}"
    path_in_file = "package_set_budgets[0]" + "[0]" * (MAX_DEPTH - 2)
    column = 26 + MAX_DEPTH - 2
    assert problems(tmp_path, text, name) == (
        f"{name}:1:{column}: {path_in_file}: objects and lists are nested deeper than the "
        f"limit of {MAX_DEPTH} levels"
    )


def test_nesting_up_to_the_limit_is_read(tmp_path: Path) -> None:
    depth = MAX_DEPTH - 2  # the file's object and the section's list are two levels
    text = '{"package_set_budgets": [' + "[" * depth + "]" * depth + "]}"
    message = problems(tmp_path, text)
    assert "expected an object, got a list" in message


@pytest.mark.parametrize("name", ["b.json", "b.json5"])
def test_an_integer_of_thousands_of_digits_is_an_error(tmp_path: Path, name: str) -> None:
    # Before: json and json5 raised Python's ValueError for more than 4300 digits.
    text = '{"package_set_budgets": [{"name": "A",\n "budget_bytes": ' + "9" * 5000 + "}]}"
    assert problems(tmp_path, text, name) == (
        f"{name}:2:2: package_set_budgets[0].budget_bytes: an integer of more than 64 digits "
        "is longer than the limit"
    )


def test_a_size_string_of_thousands_of_digits_is_an_error(tmp_path: Path) -> None:
    # Before: Fraction() raised Python's ValueError (the int max-str-digits limit).
    message = problems(tmp_path, one_set(budget_bytes="1" * 4000 + " KiB"))
    assert message == (
        "b.json5:1:40: package_set_budgets[0].budget_bytes: a size string of 4,004 characters "
        "is longer than the limit of 64"
    )


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (MAX_SIZE + 1, "size 9,223,372,036,854,775,808 is larger than the largest size, "),
        (
            10**60,
            "size 1,000,000,000,000,000,000,000,000,000,000,000,000,000,000,000,000,000,000,000,000 is larger",
        ),
        ("8 EiB", "unknown unit 'EiB'"),
        ("10000000 TB", "size 10,000,000,000,000,000,000 is larger than the largest size, "),
        (True, "expected a size, got the boolean true"),
        (math.nan, "expected a size, got NaN"),
        (math.inf, "expected a size, got Infinity"),
        (-math.inf, "expected a size, got -Infinity"),
    ],
)
def test_sizes_are_bounded(value: object, message: str) -> None:
    with pytest.raises(SizeSyntaxError) as excinfo:
        parse_size(value)
    assert message in str(excinfo.value)


def test_the_largest_size_is_accepted() -> None:
    assert parse_size(MAX_SIZE) == MAX_SIZE
    assert parse_size("8 TiB") == 8 * 1024**4


@pytest.mark.parametrize("name", ["b.json", "b.json5"])
def test_a_huge_string_is_an_error(tmp_path: Path, name: str) -> None:
    text = one_set(owner="x" * (MAX_STRING + 1))
    assert problems(tmp_path, text, name) == (
        f"{name}:1:78: package_set_budgets[0].owner: a string of 4,097 characters is longer "
        "than the limit of 4,096"
    )


@pytest.mark.parametrize("name", ["b.json", "b.json5"])
def test_a_huge_key_is_an_error(tmp_path: Path, name: str) -> None:
    text = '{"package_set_budgets": [], "' + "k" * 5000 + '": 1}'
    message = problems(tmp_path, text, name)
    assert message.startswith(f"{name}:1:29: ")
    assert message.endswith(": key: a string of 5,000 characters is longer than the limit of 4,096")


@pytest.mark.parametrize("name", ["b.json", "b.json5"])
def test_a_lone_surrogate_in_a_name_is_an_error(tmp_path: Path, name: str) -> None:
    # Before: accepted, and writing the JSON report or printing the summary crashed.
    text = '{"package_set_budgets": [{"name": "bad \\ud800 name", "budget_bytes": 1, "packages": ["p"]}]}'
    assert problems(tmp_path, text, name) == (
        f"{name}:1:27: package_set_budgets[0].name: the string has a lone surrogate \\ud800 at "
        "character 5, which is not a Unicode character"
    )


@pytest.mark.parametrize("name", ["b.json", "b.json5"])
def test_a_surrogate_pair_is_one_character(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_text(
        '{"package_set_budgets": [{"name": "\\ud83d\\ude00", "budget_bytes": 1, "packages": ["p"]}]}'
    )
    assert load_budget_file(path).budgets[0].name == "\U0001f600"


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (
            {"budget_bytes": True},
            "package_set_budgets[0].budget_bytes: expected a size, got the boolean true",
        ),
        (
            {"creep_budget_bytes": False},
            "package_set_budgets[0].creep_budget_bytes: expected a size, got the boolean false",
        ),
    ],
)
def test_booleans_are_not_sizes(tmp_path: Path, entry: dict[str, object], message: str) -> None:
    assert message in problems(tmp_path, one_set(**entry))


SYSTEM = {"packages": ["p"]}


@pytest.mark.parametrize(
    ("section", "entry", "message"),
    [
        (
            "update_budgets",
            {"name": "U", "capacity_bytes": 10, "from": SYSTEM, "to": SYSTEM, "slots": True},
            "update_budgets[0].slots: expected a positive integer (1, or 2 for A/B), got true",
        ),
        (
            "update_budgets",
            {
                "name": "U",
                "capacity_bytes": 10,
                "from": SYSTEM,
                "to": SYSTEM,
                "download_budget_bytes": True,
            },
            "update_budgets[0].download_budget_bytes: expected a size, got the boolean true",
        ),
        (
            "update_budgets",
            {"name": "U", "capacity_bytes": True, "from": SYSTEM, "to": SYSTEM},
            "update_budgets[0].capacity_bytes: expected a size, got the boolean true",
        ),
        (
            "image_budgets",
            {"name": "I", "image": "i", "budget_bytes": 10, "reserve_bytes": True},
            "image_budgets[0].reserve_bytes: expected a size, got the boolean true",
        ),
        (
            "image_budgets",
            {"name": "I", "image": "i", "budget_bytes": 10, "warn_at": True},
            "image_budgets[0].warn_at: expected a percentage (a number such as 95), got a boolean",
        ),
        (
            "product_budgets",
            {"name": "P", "max_contents_bytes": False, "packages": ["p"]},
            "product_budgets[0].max_contents_bytes: expected a size, got the boolean false",
        ),
        ("total_budget_bytes", True, "total_budget_bytes: expected a size, got the boolean true"),
    ],
)
def test_booleans_are_never_numbers(
    tmp_path: Path, section: str, entry: object, message: str
) -> None:
    doc: dict[str, object] = {
        "resource_budgets": [{"name": "R", "budget_bytes": 1, "paths": ["x"]}]
    }
    doc[section] = entry if section == "total_budget_bytes" else [entry]
    assert message in problems(tmp_path, json.dumps(doc))


@pytest.mark.parametrize(
    ("literal", "shown"), [("NaN", "NaN"), ("Infinity", "Infinity"), ("-Infinity", "-Infinity")]
)
@pytest.mark.parametrize(
    ("section", "entry"),
    [
        ("package_set_budgets", "{name: 'A', packages: ['p'], budget_bytes: %s}"),
        ("image_budgets", "{name: 'I', image: 'i', budget_bytes: 10, reserve_bytes: %s}"),
        (
            "update_budgets",
            "{name: 'U', capacity_bytes: 9, from: {packages: ['p']}, to: {packages: ['p']},"
            " download_budget_bytes: %s}",
        ),
    ],
)
def test_nan_and_infinity_are_not_sizes(
    tmp_path: Path, literal: str, shown: str, section: str, entry: str
) -> None:
    message = problems(tmp_path, f"{{{section}: [{entry % literal}]}}")
    assert f"expected a size, got {shown}" in message


def test_nan_is_not_a_percentage(tmp_path: Path) -> None:
    text = "{image_budgets: [{name: 'I', image: 'i', budget_bytes: 10, warn_at: NaN}]}"
    assert "image_budgets[0].warn_at: must be a percentage between 0 and 100, got nan" in problems(
        tmp_path, text
    )


@pytest.mark.parametrize("name", ["b.json", "b.json5"])
def test_errors_of_limits_are_budget_file_errors(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_text("[" * 5000 + "]" * 5000)
    with pytest.raises(BudgetFileError):
        load_budget_file(path)
