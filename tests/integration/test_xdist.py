"""The same verdicts and byte-identical reports with and without pytest-xdist."""

from __future__ import annotations

import pytest

from tests.conftest import Product, fake_merkle


def product_with_many_budgets(product: Product) -> None:
    merkles = [fake_merkle(f"m{i}") for i in range(12)]
    manifests = [
        product.manifest(f"pkg{i}", [(f"bin/{j}", merkles[(i + j) % 12]) for j in range(4)])
        for i in range(8)
    ]
    sizes = {m: 8192 * (i + 1) for i, m in enumerate(merkles)}
    for f in range(3):
        product.budget_file(
            {
                "blob_sizes": [product.blobs_json(sizes)],
                "package_set_budgets": [
                    {
                        "name": f"set{f}-{i}",
                        "budget_bytes": 40_000 + 30_000 * i,
                        "packages": manifests[i : i + 3],
                    }
                    for i in range(5)
                ],
            },
            f"f{f}.sizebudget.json5",
        )
    product.budget_file("{ broken", "z.sizebudget.json5")


@pytest.mark.parametrize("xdist_args", [["-n", "2"], ["-p", "no:xdist"]], ids=["n2", "no-xdist"])
def test_same_results_and_reports_with_and_without_xdist(
    pytester: pytest.Pytester, pt_product: Product, xdist_args: list[str]
) -> None:
    product_with_many_budgets(pt_product)
    common = ["--sizebudget", "--sizebudget-gerrit=g.json", "--junitxml=j.xml"]
    base = pytester.runpytest(
        *common, *(f"--sizebudget-{r}=base.{r}" for r in ("json", "markdown", "metrics"))
    )
    other = pytester.runpytest(
        *common,
        *(f"--sizebudget-{r}=other.{r}" for r in ("json", "markdown", "metrics")),
        *xdist_args,
    )
    assert base.parseoutcomes() == other.parseoutcomes()
    assert base.parseoutcomes()["failed"] > 0
    assert base.parseoutcomes()["passed"] > 0
    for report in ("json", "markdown", "metrics"):
        assert (pytester.path / f"base.{report}").read_bytes() == (
            pytester.path / f"other.{report}"
        ).read_bytes()
    summary = [line for line in base.outlines if "set" in line and "%" in line]
    assert summary
    assert all(line in other.outlines for line in summary)
