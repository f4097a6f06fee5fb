"""Items take session fixtures like user tests do, so a conftest.py can override them."""

from __future__ import annotations

import pytest

from tests.conftest import Product, fake_merkle

A = fake_merkle("A")


def test_conftest_can_supply_sizes_through_the_sizer_fixture(
    pytester: pytest.Pytester, pt_product: Product
) -> None:
    p = pt_product.manifest("p", [("bin/a", A)])
    pt_product.budget_file(
        {"package_set_budgets": [{"name": "S", "budget_bytes": 100, "packages": [p]}]}
    )
    pytester.makeconftest(f"""
        import pytest

        from pytest_sizebudget.measure.sizer import EngineSizer

        class FixedSizes(EngineSizer):
            def size_blobs(self, requests, layout):
                return {{r.merkle: 42 for r in requests if r.merkle == "{A}"}}

        @pytest.fixture(scope="session")
        def sizebudget_sizer():
            return FixedSizes(None)
    """)
    result = pytester.runpytest("--sizebudget", "--sizebudget-json=r.json")
    result.assert_outcomes(passed=2)
    assert '"used_bytes": 42' in (pytester.path / "r.json").read_text()


def test_user_tests_can_use_the_evaluator(pytester: pytest.Pytester, pt_product: Product) -> None:
    p = pt_product.manifest("p", [("bin/a", A)])
    pt_product.blobs_json({A: 8192})
    pt_product.budget_file(
        {
            "blob_sizes": ["blobs.json"],
            "package_set_budgets": [{"name": "S", "budget_bytes": 1, "packages": [p]}],
        },
        "budgets/product.json",
    )
    pytester.makepyfile(
        test_sizes="""
        from pathlib import Path
        from pytest_sizebudget.budget.parse import load_budget_file

        def test_used(sizebudget_evaluator):
            bf = load_budget_file(Path("budgets/product.json"), root_override=Path.cwd())
            (result,) = sizebudget_evaluator.evaluate(bf).results.values()
            assert result.used_bytes == 8192
    """
    )
    pytester.runpytest().assert_outcomes(passed=1)
