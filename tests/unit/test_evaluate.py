"""From budget file to results, without pytest: loading, sizing, accounting, errors."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from pytest_sizebudget.budget.parse import load_budget_file
from pytest_sizebudget.evaluate import BudgetEvaluator
from pytest_sizebudget.measure.formats import StorageFormat
from pytest_sizebudget.measure.sizer import EngineSizer, SizeRequest
from pytest_sizebudget.packages.blob_sizes import BlobSizeStore
from pytest_sizebudget.report.model import BudgetResult
from tests.conftest import Product, fake_merkle

A, B, X = fake_merkle("A"), fake_merkle("B"), fake_merkle("X")


class FakeBlobfs(EngineSizer):
    """Stands in for the measurement engine, like ffx's unit test fakes the blobfs tool."""

    def __init__(self, sizes: Mapping[str, int | str]) -> None:
        super().__init__(None, threads=1)
        self.sizes = sizes
        self.asked: list[tuple[list[str], StorageFormat]] = []

    def size_blobs(
        self, requests: Sequence[SizeRequest], layout: StorageFormat
    ) -> Mapping[str, int | str]:
        self.asked.append(([r.merkle for r in requests], layout))
        return {r.merkle: self.sizes[r.merkle] for r in requests if r.merkle in self.sizes}


def evaluate(
    product: Product, budgets: object, sizer: FakeBlobfs | None = None
) -> dict[str, BudgetResult]:
    bf = load_budget_file(product.budget_file(budgets), display="size.json5")
    results = (
        BudgetEvaluator(BlobSizeStore(), sizer, display_root=product.root).evaluate(bf).results
    )
    return {r.name: r for r in results.values()}


def test_missing_blob_sized_by_the_measurer_gives_110(product: Product) -> None:
    """ffx's vector: blobs1.json has A=37, B is missing and the (fake) blobfs run gives 73."""
    p = product.manifest("p", [("a", A), ("b", B)])
    sizer = FakeBlobfs({B: 73})
    results = evaluate(
        product,
        {
            "blob_sizes": [product.blobs_json({A: 37}, "blobs1.json")],
            "blobfs_layout": "deprecated_padded",
            "package_set_budgets": [{"name": "S", "budget_bytes": 200, "packages": [p]}],
        },
        sizer,
    )
    assert results["S"].used_bytes == 110
    assert sizer.asked == [([B], "deprecated_padded")]  # only the missing blob, with the layout


def test_unsized_blob_fails_its_budget_naming_package_path_and_merkle(product: Product) -> None:
    p1 = product.manifest("p1", [("bin/a", A)])
    p2 = product.manifest("p2", [("bin/b", B)])
    results = evaluate(
        product,
        {
            "blob_sizes": [product.blobs_json({A: 8192})],
            "package_set_budgets": [
                {"name": "Fine", "budget_bytes": 9000, "packages": [p1]},
                {"name": "Broken", "budget_bytes": 9000, "packages": [p2]},
            ],
        },
        FakeBlobfs({}),  # measures nothing
    )
    fine, broken = results["Fine"], results["Broken"]
    assert fine.passed
    assert fine.used_bytes == 8192
    assert broken.used_bytes is None
    assert broken.error == (
        "1 blob of budget 'Broken' has no known size (not in any blobs.json, and not measured):\n"
        f"  package 'p2' (p2/package_manifest.json) path 'bin/b' merkle {B}"
    )


def test_missing_manifest_names_path_budget_key_and_blocks_global_sharing(product: Product) -> None:
    p1 = product.manifest("p1", [("x", X)])
    budgets: dict[str, object] = {
        "blob_sizes": [product.blobs_json({X: 100})],
        "sharing": "global",
        "package_set_budgets": [
            {"name": "Good", "budget_bytes": 1000, "packages": [p1]},
            {"name": "Bad", "budget_bytes": 1000, "packages": ["gone/package_manifest.json"]},
        ],
    }
    results = evaluate(product, budgets)
    assert results["Bad"].error == (
        "package_set_budgets[1].packages[0]: gone/package_manifest.json: does not exist"
    )
    # Share counts span the file, so the other set cannot be accounted exactly either.
    assert "package set 'Bad' could not be read" in (results["Good"].error or "")
    budgets["sharing"] = "per_set"
    results = evaluate(product, budgets)
    assert results["Good"].passed


def test_broken_blobs_json_fails_every_budget_of_the_file(product: Product) -> None:
    p1 = product.manifest("p1", [("x", X)])
    results = evaluate(
        product,
        {
            "blob_sizes": ["nowhere/blobs.json"],
            "package_set_budgets": [{"name": "S", "budget_bytes": 1, "packages": [p1]}],
        },
    )
    assert results["S"].error == "blob_sizes: nowhere/blobs.json: does not exist"


def test_exactly_at_budget_passes(product: Product) -> None:
    p = product.manifest("p", [("a", A)])
    results = evaluate(
        product,
        {
            "blob_sizes": [product.blobs_json({A: 8192})],
            "package_set_budgets": [
                {"name": "At", "budget_bytes": 8192, "packages": [p]},
                {"name": "Under", "budget_bytes": 8191, "packages": [p]},
            ],
            "sharing": "per_set",
        },
    )
    assert results["At"].passed
    assert not results["Under"].passed


def test_directory_packages_are_hashed_and_shared_by_content(
    product: Product, tmp_path: Path
) -> None:
    from pytest_sizebudget.measure.merkle import merkle_root

    d = product.root / "assets"
    d.mkdir()
    (d / "one").write_bytes(b"hello world")
    (d / "copy").write_bytes(b"hello world")
    hw = merkle_root(b"hello world")
    results = evaluate(
        product,
        {
            "blob_sizes": [product.blobs_json({hw: 8192})],
            "package_set_budgets": [
                {"name": "Assets", "budget_bytes": "8 KiB", "packages": ["assets"]}
            ],
        },
    )
    r = results["Assets"]
    assert r.used_bytes == 8192
    assert [b.share_count for b in r.packages[0].blobs] == [2, 2]


def test_total_budget_bytes_messages_match_ffx(product: Product) -> None:
    from pytest_sizebudget.evaluate import check_total
    from pytest_sizebudget.kinds.builtin import builtin_kinds

    def total_problem(budgets: list[int], total: int) -> str | None:
        bf = load_budget_file(
            product.budget_file(
                {
                    "package_set_budgets": [
                        {"name": f"s{i}", "budget_bytes": b, "packages": []}
                        for i, b in enumerate(budgets)
                    ],
                    "total_budget_bytes": total,
                }
            ),
            display="size.json5",
        )
        problem = check_total(bf, builtin_kinds())
        return None if problem is None else problem.message

    assert total_problem([27, 51, 23], 100) == (
        "size.json5:19: Sum of budgets doesn't match total budget bytes: "
        "sum=101, total=100, diff=sum-total=1"
    )
    assert (total_problem([27, 51, 20], 100) or "").endswith("sum=98, total=100, diff=sum-total=-2")
    assert total_problem([50, 50], 100) is None
