"""Baselines are validated as strictly as budget files: every field the comparison reads.

Each case writes a valid JSON report, breaks one field and expects the usage error that
names the key path.  Before the validation these were accepted (a string, NaN or a
negative number in ``used_bytes`` crashed the summary, was copied into the new report
as NaN, or failed a budget's creep check), or failed with a Python exception's repr.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pytest_sizebudget.accounting import BlobCharge, PackageCharge
from pytest_sizebudget.report.baseline import BaselineError, compare, load_baseline
from pytest_sizebudget.report.json_report import build_json_report, render_json
from pytest_sizebudget.report.model import BudgetResult
from tests.conftest import fake_merkle

Report = dict[str, Any]


def report() -> Report:
    blob = BlobCharge(fake_merkle("A"), "bin/a", 8192, 1, 8192)
    package = PackageCharge("a", "a.json", 8192, 8192, (blob,))
    results = [
        BudgetResult(
            name=f"B{i}",
            kind="package_set",
            file="b.json5",
            line=i + 1,
            key=f"package_set_budgets[{i}]",
            budget_bytes=100_000,
            used_bytes=8192,
            packages=(package,),
            parameters={"sharing": "global", "blobfs_layout": "compact"},
        )
        for i in range(4)
    ]
    tool = {"name": "pytest-sizebudget", "parameters": {"zstd_level": 14}}
    data = build_json_report(results, [], tool)
    return json.loads(render_json(data))  # type: ignore[no-any-return]


def load(tmp_path: Path, text: str) -> str:
    path = tmp_path / "base.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(BaselineError) as excinfo:
        load_baseline(path, "base.json")
    return str(excinfo.value)


def setter(path: str, value: Any) -> Callable[[Report], None]:
    """Sets the value at a dotted path such as ``budgets[3].used_bytes``."""

    def change(data: Report) -> None:
        steps: list[str | int] = []
        for part in path.replace("[", ".[").split("."):
            steps.append(int(part[1:-1]) if part.startswith("[") else part)
        node: Any = data
        for step in steps[:-1]:
            node = node[step]
        node[steps[-1]] = value

    return change


def remover(path: str, key: str) -> Callable[[Report], None]:
    def change(data: Report) -> None:
        node: Any = data
        for part in path.replace("[", ".[").split(".") if path else ():
            node = node[int(part[1:-1])] if part.startswith("[") else node[part]
        del node[key]

    return change


NNI_OR_NULL = "expected a non-negative integer or null"
NNI = "expected a non-negative integer"

CASES = [
    (setter("budgets[3].used_bytes", "abc"), f"budgets[3].used_bytes: {NNI_OR_NULL}, got 'abc'"),
    (setter("budgets[3].used_bytes", -5), f"budgets[3].used_bytes: {NNI_OR_NULL}, got -5"),
    (setter("budgets[3].used_bytes", True), f"budgets[3].used_bytes: {NNI_OR_NULL}, got true"),
    (setter("budgets[3].used_bytes", 1.5), f"budgets[3].used_bytes: {NNI_OR_NULL}, got 1.5"),
    (setter("budgets[0].budget_bytes", None), f"budgets[0].budget_bytes: {NNI}, got null"),
    (
        setter("budgets[0].creep_budget_bytes", "1 KiB"),
        f"budgets[0].creep_budget_bytes: {NNI}, got '1 KiB'",
    ),
    (setter("budgets[0].fixed_bytes", -1), f"budgets[0].fixed_bytes: {NNI}, got -1"),
    (setter("budgets[0].line", "1"), f"budgets[0].line: {NNI}, got '1'"),
    (setter("budgets[0].reserve_bytes", False), f"budgets[0].reserve_bytes: {NNI}, got false"),
    (setter("budgets[1].name", 5), "budgets[1].name: expected a string, got 5"),
    (setter("budgets[1].kind", None), "budgets[1].kind: expected a string, got null"),
    (setter("budgets[1].file", ["b.json5"]), "budgets[1].file: expected a string, got a list"),
    (setter("budgets[1].key", {}), "budgets[1].key: expected a string, got an object"),
    (setter("budgets[1].owner", 1), "budgets[1].owner: expected a string or null, got 1"),
    (setter("budgets[1].error", True), "budgets[1].error: expected a string or null, got true"),
    (setter("budgets[1].parameters", []), "budgets[1].parameters: expected an object, got a list"),
    (remover("budgets[2]", "used_bytes"), "budgets[2]: missing key 'used_bytes'"),
    (remover("budgets[2]", "name"), "budgets[2]: missing key 'name'"),
    (setter("budgets[2].packages", {}), "budgets[2].packages: expected a list, got an object"),
    (setter("budgets[2].packages[0]", "a"), "budgets[2].packages[0]: expected an object, got 'a'"),
    (
        setter("budgets[2].packages[0].name", 1),
        "budgets[2].packages[0].name: expected a string, got 1",
    ),
    (
        setter("budgets[2].packages[0].used_space_in_blobfs", -8192),
        f"budgets[2].packages[0].used_space_in_blobfs: {NNI}, got -8192",
    ),
    (
        setter("budgets[2].packages[0].blobs", None),
        "budgets[2].packages[0].blobs: expected a list, got null",
    ),
    (
        setter("budgets[2].packages[0].blobs[0].size", "8 KiB"),
        f"budgets[2].packages[0].blobs[0].size: {NNI_OR_NULL}, got '8 KiB'",
    ),
    (
        setter("budgets[2].packages[0].blobs[0].charged_bytes", None),
        f"budgets[2].packages[0].blobs[0].charged_bytes: {NNI}, got null",
    ),
    (
        setter("budgets[2].packages[0].blobs[0].merkle", 7),
        "budgets[2].packages[0].blobs[0].merkle: expected a string, got 7",
    ),
    (
        setter("budgets[2].packages[0].blobs[0].excluded_by", 0),
        "budgets[2].packages[0].blobs[0].excluded_by: expected a string or null, got 0",
    ),
    (
        setter("budgets[0].baseline_used_bytes", "x"),
        f"budgets[0].baseline_used_bytes: {NNI_OR_NULL}, got 'x'",
    ),
    (
        setter("budgets[0].delta_bytes", "x"),
        "budgets[0].delta_bytes: expected an integer or null, got 'x'",
    ),
    (setter("budgets[0].diff", "x"), "budgets[0].diff: expected a list or null, got 'x'"),
    (setter("budgets[0].diff", [{"kind": "added"}]), "budgets[0].diff[0]: missing key 'package'"),
    (setter("budgets", {}), "budgets: expected a list, got an object"),
    (setter("budgets[0]", "B0"), "budgets[0]: expected an object, got 'B0'"),
    (remover("", "budgets"), "missing key 'budgets'"),
    (setter("tool", []), "tool: expected an object, got a list"),
    (setter("tool.parameters", [1]), "tool.parameters: expected an object or null, got a list"),
    (
        setter("schema_version", True),
        "schema_version true is not supported (this version reads schema_version 1)",
    ),
    (
        setter("schema_version", "1"),
        "schema_version '1' is not supported (this version reads schema_version 1)",
    ),
    (
        setter("schema_version", 1.0),
        "schema_version 1.0 is not supported (this version reads schema_version 1)",
    ),
    (
        setter("budgets[1].name", "x\ud800"),
        "budgets[1].name: the string has a lone surrogate \\ud800 at character 2, which is not a Unicode character",
    ),
    (
        setter("budgets[1].parameters", {"deep": json.loads("[" * 70 + "]" * 70)}),
        "budgets[1].parameters.deep"
        + "[0]" * 60
        + ": objects and lists are nested deeper than the limit of 64 levels",
    ),
]


@pytest.mark.parametrize(
    ("change", "message"), CASES, ids=[m.split(":")[0] + f"-{i}" for i, (_, m) in enumerate(CASES)]
)
def test_a_malformed_field_is_a_usage_error_naming_its_key(
    tmp_path: Path, change: Callable[[Report], None], message: str
) -> None:
    data = report()
    change(data)
    text = json.dumps(data)  # json writes a lone surrogate as \ud800: valid JSON text
    assert load(tmp_path, text) == f"baseline base.json: {message}"


@pytest.mark.parametrize(
    ("literal", "shown"), [("NaN", "NaN"), ("Infinity", "Infinity"), ("-Infinity", "-Infinity")]
)
def test_nan_and_infinity_are_not_json(tmp_path: Path, literal: str, shown: str) -> None:
    # Python's json reads them; before, NaN was copied into the new report.
    text = json.dumps(report()).replace('"used_bytes": 8192', f'"used_bytes": {literal}', 1)
    assert load(tmp_path, text) == (
        f"baseline base.json: budgets[0].used_bytes: {shown} is not JSON (write numbers as "
        "numbers; a size that is not known is null)"
    )


def test_nan_anywhere_is_an_error(tmp_path: Path) -> None:
    text = json.dumps(report()).replace('"zstd_level": 14', '"zstd_level": NaN')
    assert load(tmp_path, text).startswith(
        "baseline base.json: tool.parameters.zstd_level: NaN is not JSON"
    )


def test_a_duplicate_key_is_located(tmp_path: Path) -> None:
    text = '{"schema_version": 1,\n "budgets": [],\n "budgets": []}'
    assert load(tmp_path, text) == (
        "baseline base.json:3:2: invalid JSON: key 'budgets' appears twice in one object"
    )


def test_an_integer_of_thousands_of_digits_is_an_error(tmp_path: Path) -> None:
    text = json.dumps(report()).replace('"used_bytes": 8192', '"used_bytes": ' + "9" * 5000, 1)
    message = load(tmp_path, text)
    assert message.startswith("baseline base.json:1:")
    assert message.endswith(
        "budgets[0].used_bytes: an integer of more than 64 digits is longer than the limit"
    )


def test_deep_nesting_beyond_the_c_scanner_is_an_error(tmp_path: Path) -> None:
    text = '{"schema_version": 1, "budgets": ' + "[" * 100_000 + "]" * 100_000 + "}"
    message = load(tmp_path, text)
    assert message.startswith("baseline base.json:1:")
    assert message.endswith("objects and lists are nested deeper than the limit of 64 levels")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '{"schema_version": 1, "budgets": [',
            "baseline base.json:1:35: not JSON: Expecting value",
        ),
        ("", "baseline base.json:1:1: not JSON: Expecting value"),
        (
            "[]",
            "baseline base.json: not a pytest-sizebudget JSON report (no schema_version); write one with --sizebudget-json",
        ),
        (
            '"report"',
            "baseline base.json: not a pytest-sizebudget JSON report (no schema_version); write one with --sizebudget-json",
        ),
    ],
)
def test_truncated_and_wrong_top_level(tmp_path: Path, text: str, message: str) -> None:
    assert load(tmp_path, text) == message


def test_a_valid_report_loads(tmp_path: Path) -> None:
    path = tmp_path / "base.json"
    path.write_text(json.dumps(report()))
    baseline = load_baseline(path, "base.json")
    assert [b.used_bytes for b in baseline.budgets] == [8192] * 4


def test_malformed_details_of_a_builtin_kind_are_kept_as_read(tmp_path: Path) -> None:
    """Kind details are not compared: a baseline of another version still compares."""
    data = report()
    data["budgets"][0]["kind"] = "image"
    data["budgets"][0]["image"] = {"format": 3}  # not what the image kind writes
    path = tmp_path / "base.json"
    path.write_text(json.dumps(data))
    baseline = load_baseline(path, "base.json")
    now = BudgetResult(
        name="B0",
        kind="image",
        file="b.json5",
        line=1,
        key="k",
        budget_bytes=10**6,
        used_bytes=9000,
    )
    assert compare(now, baseline).delta_bytes == 9000 - 8192
