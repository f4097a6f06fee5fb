"""Product budgets: ``ffx assembly size-check product``, a whole product's blob contents.

``used_bytes`` is the sum of on-disk sizes over the product's distinct merkles; each
package is charged ``used_space_in_blobfs`` (its blobs in full) and
``proportional_size`` (each blob divided by its references), as ffx's breakdown does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, ClassVar

from pytest_sizebudget.budget.fields import FieldReader, KeyPath, common_fields
from pytest_sizebudget.budget.model import Budget, BudgetFile
from pytest_sizebudget.budget.system_spec import SystemForm, SystemSpec, parse_system
from pytest_sizebudget.report.breakdown import Breakdown, figures_breakdown, generic_breakdown
from pytest_sizebudget.report.failure import render_generic_failure
from pytest_sizebudget.report.model import BudgetResult, Details
from pytest_sizebudget.systems import (
    SystemLoader,
    account_product,
    evaluate_each,
    missing_text,
    size_systems,
    where_used,
)

from .base import BudgetKind, EntryParser, EvaluationContext


@dataclass(frozen=True, slots=True, kw_only=True)
class ProductBudget(Budget):
    """``budget_bytes`` is ``max_contents_bytes``."""

    system: SystemSpec

    @property
    def kind(self) -> str:
        return "product"


@dataclass(frozen=True, slots=True)
class ProductDetails(Details):
    distinct_blobs: int
    blob_references: int
    max_contents_bytes: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "distinct_blobs": self.distinct_blobs,
            "blob_references": self.blob_references,
            "max_contents_bytes": self.max_contents_bytes,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ProductDetails:
        return cls(
            int(data["distinct_blobs"]),
            int(data["blob_references"]),
            int(data["max_contents_bytes"]),
        )


def parse_product(
    r: FieldReader, entry: Mapping[str, Any], path: KeyPath, root: Path
) -> Budget | None:
    forms: tuple[SystemForm, ...] = ("packages", "images_manifest")
    if (
        r.object(entry, path, ("name", "creep_budget_bytes", "owner", "max_contents_bytes", *forms))
        is None
    ):
        return None
    common = common_fields(r, entry, path, "max_contents_bytes")
    system = parse_system(r, entry, path, root, forms)
    if common is None or system is None:
        return None
    return ProductBudget(**common, system=system)


class ProductKind(BudgetKind):
    name = "product"
    titles: ClassVar[Mapping[str, str]] = {"product": "Product"}
    sections: ClassVar[Mapping[str, EntryParser]] = {"product_budgets": parse_product}

    def joins_total(self, budget: Budget) -> bool:
        return False  # a whole system is not a share of the file's package-set total

    def details_from_dict(self, data: Mapping[str, Any]) -> Details:
        return ProductDetails.from_dict(data)

    def failure_text(self, result: BudgetResult, top_n: int) -> str:
        return render_generic_failure(result, self.title(result), top_n, breakdown=True)

    def breakdown(self, result: BudgetResult, top_n: int) -> Sequence[Breakdown]:
        tables = generic_breakdown(result, top_n)
        x = result.details
        if result.error is not None or not isinstance(x, ProductDetails):
            return tables
        figures = (
            ("distinct blobs", f"{x.distinct_blobs:,}"),
            ("blob references", f"{x.blob_references:,}"),
            ("max_contents_bytes", f"{x.max_contents_bytes:,} B"),
        )
        return (figures_breakdown("Contents", figures), *tables)

    def evaluate(
        self,
        context: EvaluationContext,
        budget_file: BudgetFile,
        budgets: Sequence[Budget],
        base: Mapping[str, BudgetResult],
    ) -> Mapping[str, BudgetResult]:
        mine = [b for b in budgets if isinstance(b, ProductBudget)]
        return evaluate_each(context, budget_file, mine, base, _product)


def _product(loader: SystemLoader, b: ProductBudget, base: BudgetResult) -> BudgetResult:
    system = loader.system(b.name, b.system)
    index, compressed = loader.index(())
    layout = loader.bf.blobfs_layout
    table = size_systems([system], index, compressed, loader.context.sizer, layout)
    usage = account_product(system.packages, table.on_disk)
    result = replace(
        base,
        parameters={"blobfs_layout": layout, "input": system.description},
        packages=usage.packages,
        used_bytes=usage.total_bytes,
        details=ProductDetails(usage.distinct_blobs, usage.references, b.budget_bytes),
    )
    if table.why_no_size:
        text = missing_text(
            f"product {b.name!r}", "no known size", table.why_no_size, where_used([system])
        )
        return replace(result, used_bytes=None, error=text)
    return result
