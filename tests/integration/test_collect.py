"""Which files become budget items, how items are named and located."""

from __future__ import annotations

import pytest

from tests.conftest import Product, fake_merkle

A = fake_merkle("A")


def simple_budgets(
    product: Product, names: tuple[str, ...] = ("First", "Second")
) -> dict[str, object]:
    p = product.manifest("p", [("bin/a", A)])
    return {
        "blob_sizes": [product.blobs_json({A: 8192})],
        "package_set_budgets": [
            {"name": n, "budget_bytes": "1 MiB", "packages": [p]} for n in names
        ],
    }


def test_installed_but_not_enabled_changes_nothing(
    pytester: pytest.Pytester, pt_product: Product
) -> None:
    pt_product.budget_file(simple_budgets(pt_product))
    result = pytester.runpytest("--sizebudget-json=report.json")
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED
    assert not (pytester.path / "report.json").exists()
    result.stdout.no_fnmatch_line("*size budgets*")


def test_ini_switch_enables(pytester: pytest.Pytester, pt_product: Product) -> None:
    pt_product.budget_file(simple_budgets(pt_product))
    pytester.makeini("[pytest]\nsizebudget_enable = true\n")
    pytester.runpytest().assert_outcomes(passed=3)


def test_one_item_per_budget_named_after_it_in_file_order(
    pytester: pytest.Pytester, pt_product: Product
) -> None:
    pt_product.budget_file(simple_budgets(pt_product, ("Zeta", "Alpha", "Mid")))
    result = pytester.runpytest("--sizebudget", "--collect-only", "-q")
    result.stdout.fnmatch_lines(
        [
            "size.sizebudget.json5::Zeta",
            "size.sizebudget.json5::Alpha",
            "size.sizebudget.json5::Mid",
        ]
    )


def test_item_location_is_the_budget_entry_line(
    pytester: pytest.Pytester, pt_product: Product
) -> None:
    p = pt_product.manifest("p", [("bin/a", A)])
    pt_product.budget_file(
        f"{{\n  blob_sizes: ['{pt_product.blobs_json({A: 8192})}'],\n  package_set_budgets: [\n    {{name: 'A', budget_bytes: 1,\n"
        f"     packages: ['{p}']}},\n    {{name: 'B', budget_bytes: 1, packages: []}},\n  ],\n}}"
    )
    items, _ = pytester.inline_genitems("--sizebudget")
    assert [(i.name, i.location[1]) for i in items] == [
        ("(measurement)", 0),
        ("A", 3),
        ("B", 5),
    ]  # 0-based lines
    result = pytester.runpytest("--sizebudget")
    result.stdout.fnmatch_lines(
        ["  file          size.sizebudget.json5:4 (package_set_budgets[0])"]
    )


def test_default_patterns_and_explicit_files(
    pytester: pytest.Pytester, pt_product: Product
) -> None:
    budgets = simple_budgets(pt_product, ("Only",))
    pt_product.budget_file(budgets, "a.sizebudget.json")
    pt_product.budget_file(budgets, "b.sizebudget.json5")
    # Relative paths resolve from the budget file's directory unless "root" says otherwise.
    pt_product.budget_file({**budgets, "root": "../.."}, "out/default/size_budgets.json")
    pytester.runpytest("--sizebudget").assert_outcomes(passed=4)
    # Named on the command line, a budget file is collected whatever its name.
    pytester.runpytest("--sizebudget", "out/default/size_budgets.json").assert_outcomes(passed=2)


def test_ini_patterns(pytester: pytest.Pytester, pt_product: Product) -> None:
    budgets = {**simple_budgets(pt_product, ("Only",)), "root": "../.."}
    pt_product.budget_file(budgets, "out/default/size_budgets.json")
    pt_product.budget_file({**budgets, "root": ".."}, "other/size_budgets.json")
    pt_product.budget_file(simple_budgets(pt_product, ("Only",)), "x.sizebudget.json5")
    pytester.makeini(
        "[pytest]\nsizebudget_files =\n    out/*/size_budgets.json\n    *.sizebudget.json5\n"
    )
    result = pytester.runpytest("--sizebudget", "-v")
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines(["*out/default/size_budgets.json::Only PASSED*"])


def test_python_tests_still_run_beside_budgets(
    pytester: pytest.Pytester, pt_product: Product
) -> None:
    pt_product.budget_file(simple_budgets(pt_product, ("Only",)))
    pytester.makepyfile(test_product="def test_boots():\n    assert True\n")
    pytester.runpytest("--sizebudget").assert_outcomes(passed=3)
