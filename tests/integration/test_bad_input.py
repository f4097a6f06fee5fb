"""A broken budget file is an error of that file only; everything else still runs."""

from __future__ import annotations

import json

import pytest

from tests.conftest import Product, fake_merkle

A = fake_merkle("A")


def good_file(product: Product) -> None:
    p = product.manifest("p", [("bin/a", A)])
    product.budget_file(
        {
            "blob_sizes": [product.blobs_json({A: 8192})],
            "package_set_budgets": [{"name": "Good", "budget_bytes": "8 KiB", "packages": [p]}],
        },
        "good.sizebudget.json5",
    )


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            "{\n  package_set_budgets: [\n    {name: 'x',, }\n  ]\n}",
            "broken.sizebudget.json5:3:16: invalid JSON5: *",
        ),
        (
            '{package_set_budgets: [{name: "x", budget_bytes: 1, packages: [], ownr: "o"}]}',
            "broken.sizebudget.json5:1:67: package_set_budgets[[]0[]].ownr: unknown key 'ownr' "
            "(did you mean 'owner'?)*",
        ),
        (
            '{package_set_budgets: [{name: "x", budget_bytes: "2 parsecs", packages: []}]}',
            "*budget_bytes: unknown unit 'parsecs' in '2 parsecs'*",
        ),
        (
            '{package_set_budgets: [{name: "x", budget_bytes: -3, packages: []}]}',
            "*budget_bytes: size must not be negative, got -3",
        ),
        (
            '{package_set_budgets: [{name: "x", budget_bytes: 1.5, packages: []}]}',
            "*budget_bytes: size must be a whole number of bytes*",
        ),
        (
            '{package_set_budgets: [{name: 7, budget_bytes: 1, packages: "p"}]}',
            "broken.sizebudget.json5: 2 problems in budget file",
        ),
    ],
)
def test_broken_budget_file_fails_alone(
    pytester: pytest.Pytester, pt_product: Product, content: str, message: str
) -> None:
    good_file(pt_product)
    pt_product.budget_file(content, "broken.sizebudget.json5")
    result = pytester.runpytest("--sizebudget", "--sizebudget-json=r.json", "-v")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(
        [
            "broken.sizebudget.json5::budget file FAILED*",
            "good.sizebudget.json5::Good PASSED*",
            "*_ size budget: budget file _*",
            message,
        ]
    )
    result.stdout.no_fnmatch_line("*Traceback*")
    result.stdout.no_fnmatch_line("*Error:*")
    report = json.loads((pytester.path / "r.json").read_text())
    assert [b["name"] for b in report["budgets"]] == ["Good"]
    (problem,) = report["problems"]
    assert problem["file"] == "broken.sizebudget.json5"
    assert problem["check"] == "budget file"


def test_missing_manifest_names_path_and_budget(
    pytester: pytest.Pytester, pt_product: Product
) -> None:
    pt_product.budget_file(
        {
            "sharing": "per_set",
            "package_set_budgets": [
                {"name": "Lost", "budget_bytes": 1, "packages": ["out/gone/package_manifest.json"]},
            ],
        }
    )
    result = pytester.runpytest("--sizebudget")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "Package set 'Lost' could not be checked",
            "  file    size.sizebudget.json5:4 (package_set_budgets[0])",
            "package_set_budgets[[]0[]].packages[[]0[]]: out/gone/package_manifest.json: does not exist",
        ]
    )


def test_missing_blobs_json_names_path(pytester: pytest.Pytester, pt_product: Product) -> None:
    p = pt_product.manifest("p", [("bin/a", A)])
    pt_product.budget_file(
        {
            "blob_sizes": ["gen/blobs.json"],
            "package_set_budgets": [{"name": "S", "budget_bytes": 1, "packages": [p]}],
        }
    )
    result = pytester.runpytest("--sizebudget")
    result.stdout.fnmatch_lines(["blob_sizes: gen/blobs.json: does not exist"])


def test_wrong_manifest_version(pytester: pytest.Pytester, pt_product: Product) -> None:
    p = pt_product.manifest("p", [("bin/a", A)], extra={"version": "2"})
    pt_product.budget_file(
        {"package_set_budgets": [{"name": "S", "budget_bytes": 1, "packages": [p]}]}
    )
    result = pytester.runpytest("--sizebudget")
    result.stdout.fnmatch_lines(
        [
            "package_set_budgets[[]0[]].packages[[]0[]]: p/package_manifest.json: version: "
            'unsupported manifest version "2"; expected "1"',
        ]
    )


def test_conflicting_blob_sizes(pytester: pytest.Pytester, pt_product: Product) -> None:
    p = pt_product.manifest("p", [("bin/a", A)])
    pt_product.budget_file(
        {
            "blob_sizes": [
                pt_product.blobs_json({A: 8192}, "one.json"),
                pt_product.blobs_json({A: 16384}, "two.json"),
            ],
            "package_set_budgets": [{"name": "S", "budget_bytes": 1, "packages": [p]}],
        }
    )
    result = pytester.runpytest("--sizebudget")
    result.stdout.fnmatch_lines(
        [
            f"blob_sizes: two blobs with the same hash {A} but different sizes: "
            "8192 in one.json[[]0[]] and 16384 in two.json[[]0[]]",
        ]
    )


def test_total_budget_mismatch_is_its_own_item(
    pytester: pytest.Pytester, pt_product: Product
) -> None:
    p = pt_product.manifest("p", [("bin/a", A)])
    pt_product.budget_file(
        {
            "blob_sizes": [pt_product.blobs_json({A: 1})],
            "package_set_budgets": [
                {"name": n, "budget_bytes": b, "packages": [p]} for n, b in (("a", 27), ("b", 51))
            ],
            "resource_budgets": [{"name": "r", "budget_bytes": 23, "paths": ["x"]}],
            "total_budget_bytes": 100,
        }
    )
    result = pytester.runpytest("--sizebudget", "-v", "--sizebudget-json=r.json")
    result.assert_outcomes(passed=4, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*::total_budget_bytes FAILED*",
            "size.sizebudget.json5:*: Sum of budgets doesn't match total budget bytes: "
            "sum=101, total=100, diff=sum-total=1",
        ]
    )
    problems = json.loads((pytester.path / "r.json").read_text())["problems"]
    assert [p["check"] for p in problems] == ["total_budget_bytes"]


def test_bad_option_values(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--sizebudget", "--sizebudget-top=-1")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--sizebudget-top: must be 0 (show all) or more, got -1"])
