"""Budget files: every ffx version's shape, our keys, and every kind of bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_sizebudget.budget.parse import load_budget_file
from pytest_sizebudget.errors import BudgetFileError, BudgetFileErrors, SizeBudgetError
from pytest_sizebudget.kinds.package_set import PackageSetBudget, ResourceBudget


def write(tmp_path: Path, text: str, name: str = "b.json5") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def problems(tmp_path: Path, text: str) -> str:
    with pytest.raises(SizeBudgetError) as excinfo:
        load_budget_file(write(tmp_path, text), display="b.json5")
    return str(excinfo.value)


def test_ffx_v4_file_works_unchanged(tmp_path: Path) -> None:
    bf = load_budget_file(
        write(
            tmp_path,
            '{"package_set_budgets": [{"name": "Software Deliver", "budget_bytes": 100,'
            ' "creep_budget_bytes": 2, "packages": ["obj/p1.json", "obj/p2.json"]}]}',
        )
    )
    (b,) = bf.budgets
    assert isinstance(b, PackageSetBudget)
    assert (b.name, b.budget_bytes, b.creep_budget_bytes, b.merge) == (
        "Software Deliver",
        100,
        2,
        False,
    )
    assert [p.path for p in b.packages] == [tmp_path / "obj/p1.json", tmp_path / "obj/p2.json"]
    assert (bf.sharing, bf.blobfs_layout, bf.include_subpackages) == ("global", "compact", False)


def test_ffx_v2_v3_keys(tmp_path: Path) -> None:
    bf = load_budget_file(
        write(
            tmp_path,
            """{
              "package_set_budgets": [
                {"name": "S", "budget_bytes": 27, "creep_budget_bytes": 1, "merge": true,
                 "packages": ["p"]}],
              "resource_budgets": [
                {"name": "ICU", "budget_bytes": 51, "creep_budget_bytes": 0,
                 "paths": ["icudtl.dat"]}],
              "total_budget_bytes": 78
            }""",
        )
    )
    s, r = bf.budgets
    assert isinstance(s, PackageSetBudget)
    assert s.merge
    assert isinstance(r, ResourceBudget)
    assert r.paths == ("icudtl.dat",)
    assert bf.total is not None
    assert bf.total.total_bytes == 78


def test_v0_top_level_list(tmp_path: Path) -> None:
    bf = load_budget_file(write(tmp_path, '[{"name": "A", "budget_bytes": 1, "packages": []}]'))
    assert [b.name for b in bf.budgets] == ["A"]


def test_our_keys_and_json5_syntax(tmp_path: Path) -> None:
    bf = load_budget_file(
        write(
            tmp_path,
            """// comment
            {
              blob_sizes: 'gen/blobs.json',   // a single path is accepted too
              sharing: "per_set", blobfs_layout: "deprecated_padded",
              root: "out", include_subpackages: true,
              package_set_budgets: [
                {name: "A", budget_bytes: "1.5 MiB", packages: ["p"], owner: "https://o",},
              ],
            }""",
        )
    )
    assert bf.root == tmp_path / "out"
    assert [r.path for r in bf.blob_sizes] == [tmp_path / "out/gen/blobs.json"]
    assert (bf.sharing, bf.blobfs_layout, bf.include_subpackages) == (
        "per_set",
        "deprecated_padded",
        True,
    )
    (b,) = bf.budgets
    assert (b.budget_bytes, b.owner, b.line) == (1572864, "https://o", 7)


def test_root_override_wins(tmp_path: Path) -> None:
    path = write(
        tmp_path, '{root: "x", resource_budgets: [{name: "r", budget_bytes: 1, paths: ["a"]}]}'
    )
    assert load_budget_file(path, root_override=Path("/elsewhere")).root == Path("/elsewhere")


def test_malformed_json5_names_file_line_and_column(tmp_path: Path) -> None:
    text = problems(tmp_path, '{\n  package_set_budgets: [\n    {name: "a",, }\n  ]\n}')
    # The second comma, where a key belongs (the json5 package said column 17).
    assert text == "b.json5:3:16: invalid JSON5: expected a key (a name or a string) or '}', got ','"


def test_duplicate_key_is_located(tmp_path: Path) -> None:
    text = problems(tmp_path, "{\n package_set_budgets: [],\n package_set_budgets: []\n}")
    assert (
        text == "b.json5:3:2: invalid JSON5: key 'package_set_budgets' appears twice in one object"
    )


def test_every_problem_is_reported_at_once_in_file_order(tmp_path: Path) -> None:
    text = problems(
        tmp_path,
        """{
          package_set_budget: [],
          package_set_budgets: [
            {name: "A", budget_bytes: -5, packages: ["p"]},
            {name: "B", budget_bytes: "3 mib", pakages: ["p"], creep_budget_bytes: 1.5},
            {budget_bytes: 3, packages: "p"},
            {name: "A", budget_bytes: 1, packages: [1], merge: "yes"},
          ],
          sharing: "shared",
        }""",
    )
    lines = text.splitlines()
    assert lines[0] == "b.json5: 11 problems in budget file"
    expected = [
        "b.json5:2:11: package_set_budget: unknown key 'package_set_budget' (did you mean 'package_set_budgets'?)",
        "b.json5:4:25: package_set_budgets[0].budget_bytes: size must not be negative, got -5",
        "b.json5:5:13: package_set_budgets[1]: missing required key 'packages'",
        "b.json5:5:25: package_set_budgets[1].budget_bytes: unknown unit 'mib'",
        "b.json5:5:48: package_set_budgets[1].pakages: unknown key 'pakages' (did you mean 'packages'?)",
        "b.json5:5:64: package_set_budgets[1].creep_budget_bytes: size must be a whole number of bytes",
        "b.json5:6:13: package_set_budgets[2]: missing required key 'name'",
        "b.json5:6:31: package_set_budgets[2].packages: expected a list, got a string",
        "b.json5:7:53: package_set_budgets[3].packages[0]: expected a non-empty string, got an integer",
        "b.json5:7:57: package_set_budgets[3].merge: expected true or false, got a string",
        "b.json5:9:11: sharing: must be one of 'global', 'per_set', got 'shared'",
    ]
    for line, start in zip(lines[1:], expected, strict=True):
        assert line.strip().startswith(start), (line, start)


def test_duplicate_budget_names(tmp_path: Path) -> None:
    text = problems(
        tmp_path,
        '{package_set_budgets: [{name: "A", budget_bytes: 1, packages: []},\n'
        '{name: "A", budget_bytes: 1, packages: []}]}',
    )
    assert text == (
        "b.json5:2:2: package_set_budgets[1].name: budget name 'A' is already used by "
        "package_set_budgets[0] on line 1; names must be unique because reports are keyed by them"
    )


@pytest.mark.parametrize(
    "text",
    ["{}", "{package_set_budgets: []}", "[]", "{package_set_budgets: [], resource_budgets: []}"],
)
def test_a_file_with_no_budgets_is_an_error(tmp_path: Path, text: str) -> None:
    assert problems(tmp_path, text) == (
        "b.json5:1:1: no budgets: package_set_budgets, resource_budgets, product_budgets, "
        "update_budgets and image_budgets are missing or empty"
    )


def test_wrong_top_level_type(tmp_path: Path) -> None:
    assert problems(tmp_path, '"text"') == "b.json5:1:1: expected an object, got a string"


def test_missing_and_undecodable_files(tmp_path: Path) -> None:
    with pytest.raises(BudgetFileError, match=r"nope\.json5: does not exist"):
        load_budget_file(tmp_path / "nope.json5")
    bad = tmp_path / "latin1.json5"
    bad.write_bytes(b'{"name": "\xe9"}')
    with pytest.raises(BudgetFileError, match=r"not UTF-8 text \(byte offset 10\)"):
        load_budget_file(bad)


def test_resource_budget_needs_paths(tmp_path: Path) -> None:
    text = problems(tmp_path, '{resource_budgets: [{name: "R", budget_bytes: 1, paths: []}]}')
    assert "resource_budgets[0].paths: must name at least one in-package path" in text


def test_single_problem_is_not_wrapped(tmp_path: Path) -> None:
    with pytest.raises(BudgetFileError) as excinfo:
        load_budget_file(
            write(
                tmp_path,
                '{package_set_budgets: [{name: "a", budget_bytes: 1, packages: []}], oops: 1}',
            ),
            display="b.json5",
        )
    assert not isinstance(excinfo.value, BudgetFileErrors)
    assert excinfo.value.key == "oops"
