"""Product budgets: ``ffx assembly size-check product``, a whole product's blob contents.

``used_bytes`` is the sum of on-disk sizes over the product's distinct merkles; each
package is charged ``used_space_in_blobfs`` (its blobs in full) and
``proportional_size`` (each blob divided by its references), as ffx's breakdown does.

As ffx: the limit defaults to the images manifest's ``maximum_contents_size``; with
``platform_resources_budget_bytes`` the platform resources (``product_ffx.py``) are a
component of their own (budget, creep budget, Gerrit keys); with ``base`` (an earlier
images manifest or JSON report) the result carries ffx's diff against it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, ClassVar

from pytest_sizebudget.accounting import PackageCharge
from pytest_sizebudget.budget.fields import FieldReader, KeyPath, common_fields
from pytest_sizebudget.budget.model import Budget, BudgetFile, FileRef
from pytest_sizebudget.budget.system_spec import SystemForm, SystemSpec, parse_system
from pytest_sizebudget.errors import InputError
from pytest_sizebudget.input_json import read_json
from pytest_sizebudget.measure.formats import format_parameters
from pytest_sizebudget.packages.model import Package
from pytest_sizebudget.product_inputs import System
from pytest_sizebudget.report.breakdown import Breakdown, figures_breakdown, generic_breakdown
from pytest_sizebudget.report.failure import render_generic_failure
from pytest_sizebudget.report.model import BudgetResult, Details, HtmlPanel
from pytest_sizebudget.systems import (
    SystemLoader,
    account_product,
    evaluate_each,
    missing_text,
    size_systems,
    where_used,
)

from .base import BudgetKind, EntryParser, EvaluationContext
from .product_ffx import (
    PLATFORM_RESOURCES_NAME,
    RESOURCES_CREEP_BUDGET,
    PackageBlobs,
    ProductDiff,
    breakdown,
    breakdown_text,
    diff,
    diff_lines,
)


@dataclass(frozen=True, slots=True, kw_only=True)
class PlatformResources:
    """ffx's ``--platform-resources-budget``: the resources' own Gerrit component."""

    name: str
    budget_bytes: int
    creep_budget_bytes: int


@dataclass(frozen=True, slots=True, kw_only=True)
class ProductBudget(Budget):
    """``budget_bytes`` is ``max_contents_bytes`` (0 until measured when the images
    manifest gives it: ``max_from_manifest``)."""

    system: SystemSpec
    max_from_manifest: bool = False
    resources: PlatformResources | None = None
    base: FileRef | None = None

    @property
    def kind(self) -> str:
        return "product"


@dataclass(frozen=True, slots=True)
class ProductDetails(Details):
    distinct_blobs: int
    blob_references: int
    max_contents_bytes: int
    max_from_manifest: bool = False
    # With platform_resources_budget_bytes: what they use, and their component.
    resources_bytes: int | None = None
    resources: PlatformResources | None = None
    diff: ProductDiff | None = None  # against ``base``

    @property
    def failed_checks(self) -> tuple[str, ...]:
        """The platform resources over their own budget (the whole product is checked
        against the maximum, as ffx checks it)."""
        if self.resources is None or self.resources_bytes is None:
            return ()
        out = []
        if self.resources_bytes > self.resources.budget_bytes:
            out.append("platform_resources")
        return tuple(out)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "distinct_blobs": self.distinct_blobs,
            "blob_references": self.blob_references,
            "max_contents_bytes": self.max_contents_bytes,
        }
        if self.max_from_manifest:
            out["max_contents_bytes_from"] = "maximum_contents_size"
        if self.resources is not None:
            out["platform_resources"] = {
                "name": self.resources.name,
                "used_bytes": self.resources_bytes,
                "budget_bytes": self.resources.budget_bytes,
                "creep_budget_bytes": self.resources.creep_budget_bytes,
            }
        if self.diff is not None:
            out["base_diff"] = self.diff.to_dict()
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ProductDetails:
        res = data.get("platform_resources")
        diff = data.get("base_diff")
        return cls(
            int(data["distinct_blobs"]),
            int(data["blob_references"]),
            int(data["max_contents_bytes"]),
            max_from_manifest=data.get("max_contents_bytes_from") == "maximum_contents_size",
            resources_bytes=None if res is None else res["used_bytes"],
            resources=None
            if res is None
            else PlatformResources(
                name=res["name"],
                budget_bytes=res["budget_bytes"],
                creep_budget_bytes=res["creep_budget_bytes"],
            ),
            diff=None if diff is None else ProductDiff.from_dict(diff),
        )

    def gerrit_components(
        self, result: BudgetResult, name: str
    ) -> tuple[tuple[str, int, int, int], ...] | None:
        """ffx's split: ``<name>`` is the contents without the platform resources, with
        the maximum less their budget; the resources are a component of their own."""
        if self.resources is None or self.resources_bytes is None or result.used_bytes is None:
            return None
        res = self.resources
        return (
            (
                name,
                result.used_bytes - self.resources_bytes,
                result.budget_bytes - res.budget_bytes,
                result.creep_budget_bytes,
            ),
            (res.name, self.resources_bytes, res.budget_bytes, res.creep_budget_bytes),
        )


_KEYS = (
    "name",
    "creep_budget_bytes",
    "owner",
    "max_contents_bytes",
    "platform_resources_budget_bytes",
    "platform_resources_creep_budget_bytes",
    "platform_resources_name",
    "base",
)


def parse_product(
    r: FieldReader, entry: Mapping[str, Any], path: KeyPath, root: Path
) -> Budget | None:
    forms: tuple[SystemForm, ...] = ("packages", "images_manifest")
    if r.object(entry, path, (*_KEYS, *forms)) is None:
        return None
    # ffx takes the limit from the images manifest's maximum_contents_size.
    from_manifest = "max_contents_bytes" not in entry and "images_manifest" in entry
    common = common_fields(
        r,
        {**entry, "max_contents_bytes": 0} if from_manifest else entry,
        path,
        "max_contents_bytes",
    )
    system = parse_system(r, entry, path, root, forms)
    resources = None
    res_budget = r.size(entry, path, "platform_resources_budget_bytes")
    res_creep = r.size(entry, path, "platform_resources_creep_budget_bytes")
    res_name = r.string(entry, path, "platform_resources_name")
    if res_name is not None and not res_name.strip():
        r.error((*path, "platform_resources_name"), "must not be empty")
    if res_budget is not None:
        resources = PlatformResources(
            name=res_name or PLATFORM_RESOURCES_NAME,
            budget_bytes=res_budget,
            creep_budget_bytes=RESOURCES_CREEP_BUDGET if res_creep is None else res_creep,
        )
    else:
        for key in ("platform_resources_creep_budget_bytes", "platform_resources_name"):
            if key in entry:
                r.error((*path, key), "only applies with platform_resources_budget_bytes")
    base = None
    raw_base = r.string(entry, path, "base")
    if raw_base is not None:
        if not raw_base:
            r.error((*path, "base"), "must not be empty")
        else:
            base = FileRef(raw=raw_base, root=root, where=(*path, "base"))
    if common is None or system is None:
        return None
    return ProductBudget(
        **common,
        system=system,
        max_from_manifest=from_manifest,
        resources=resources,
        base=base,
    )


class ProductKind(BudgetKind):
    name = "product"
    titles: ClassVar[Mapping[str, str]] = {"product": "Product"}
    sections: ClassVar[Mapping[str, EntryParser]] = {"product_budgets": parse_product}

    def joins_total(self, budget: Budget) -> bool:
        return False  # a whole system is not a share of the file's package-set total

    def details_from_dict(self, data: Mapping[str, Any]) -> Details:
        return ProductDetails.from_dict(data)

    def failure_text(self, result: BudgetResult, top_n: int) -> str:
        text = render_generic_failure(result, self.title(result), top_n, breakdown=True)
        x = result.details
        if result.error is not None or not isinstance(x, ProductDetails):
            return text
        verdict = _resources_verdict(result, x)
        if verdict is not None and (result.over_by or 0) <= 0:
            # Over the resources' own budget only: the generic headline would say
            # "over budget by" a negative number.
            text = f"{self.title(result)} {verdict}" + text[text.index("\n") :]
        head, sep, rest = text.partition("\n  file ")
        extra = []
        if x.max_from_manifest:
            extra.append("  budget from   the images manifest's maximum_contents_size")
        if x.resources is not None and x.resources_bytes is not None:
            over = x.resources_bytes > x.resources.budget_bytes
            extra.append(
                f"  {x.resources.name}: {x.resources_bytes:,} B of its own budget "
                f"{x.resources.budget_bytes:,} B{' (OVER)' if over else ''}; contents without "
                f"them: {(result.used_bytes or 0) - x.resources_bytes:,} B"
            )
        if extra:
            text = "\n".join([head, *extra]) + sep + rest
        if x.diff is not None:
            text += "\n\n" + "\n".join(_diff_text(x.diff, top_n))
        return text

    def failure_line(self, result: BudgetResult) -> str:
        x = result.details
        if result.error is None and isinstance(x, ProductDetails):
            verdict = _resources_verdict(result, x)
            if verdict is not None and (result.over_by or 0) <= 0:
                return f"{self.title(result)} {verdict}"
        return super().failure_line(result)

    def junit_properties(self, result: BudgetResult) -> Sequence[tuple[str, int]]:
        x = result.details
        if not isinstance(x, ProductDetails) or x.resources_bytes is None or not x.resources:
            return ()
        return [
            ("platform_resources_bytes", x.resources_bytes),
            ("platform_resources_budget_bytes", x.resources.budget_bytes),
        ]

    def html_panel(self, result: BudgetResult) -> HtmlPanel:
        x = result.details
        if not isinstance(x, ProductDetails):
            return HtmlPanel.generic(result)
        figures: list[tuple[str, str]] = []
        if x.max_from_manifest:
            figures.append(("budget from", "images manifest maximum_contents_size"))
        if x.resources is not None and x.resources_bytes is not None:
            figures.append(
                (
                    x.resources.name,
                    f"{x.resources_bytes:,} B of {x.resources.budget_bytes:,} B "
                    f"(creep budget {x.resources.creep_budget_bytes:,} B)",
                )
            )
        if x.diff is not None:
            d = x.diff
            figures += [
                ("base", d.base),
                ("before / after", f"{d.before_bytes:,} B / {d.after_bytes:,} B"),
                ("diff", f"{d.after_bytes - d.before_bytes:+,} B"),
                (
                    "blobs",
                    f"{d.count('added')} added, {d.count('removed')} removed, "
                    f"{d.count('updated')} updated, {d.unchanged_blobs} unchanged",
                ),
            ]
            figures += [
                (f"{_MODE_WORD[p.mode]} package", f"{p.name}: {p.delta:+,} B")
                for p in d.packages[:_HTML_PACKAGES]
            ]
        return HtmlPanel(treemap=True, figures=tuple(figures))

    def breakdown_text(self, result: BudgetResult) -> str | None:
        if result.used_bytes is None or not result.packages:
            return None
        return breakdown_text(breakdown(_charged_blobs(result.packages)))

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


def _resources_verdict(result: BudgetResult, x: ProductDetails) -> str | None:
    if x.resources is None or x.resources_bytes is None:
        return None
    over = x.resources_bytes - x.resources.budget_bytes
    if over <= 0:
        return None
    return f"is over budget: {x.resources.name} over their own budget by {over:,} B"


_MODE_WORD = {"added": "added", "removed": "removed", "updated": "changed"}
_HTML_PACKAGES = 10


def _diff_text(d: ProductDiff, top_n: int) -> list[str]:
    """ffx's diff text; the blob lines cut to ``top_n`` blobs (0: all)."""
    lines = [f"Changes since the base {d.base} (as ffx size-check product prints them):"]
    if top_n and len(d.blobs) > top_n:
        shown = replace(d, blobs=d.blobs[:top_n])
        lines += diff_lines(shown)
        lines.append(f"... and {len(d.blobs) - top_n} more changed blobs (--sizebudget-top)")
    else:
        lines += diff_lines(d)
    return lines


def _charged_blobs(packages: Sequence[PackageCharge]) -> list[PackageBlobs]:
    return [(p.name, [(b.merkle, b.path, b.size or 0) for b in p.blobs]) for p in packages]


def _sized_blobs(packages: Sequence[Package], sizes: Mapping[str, int]) -> list[PackageBlobs]:
    return [(p.name, [(b.merkle, b.path, sizes[b.merkle]) for b in p.blobs]) for p in packages]


def _base_system(loader: SystemLoader, b: ProductBudget, ref: FileRef) -> System:
    """The base: an images manifest, or a JSON report (its budget of this name, if any)."""
    try:
        data = read_json(ref.path, loader.context.display(ref.path))
    except InputError as exc:
        raise InputError(f"{ref.key}: {exc}") from None
    form: SystemForm = "images_manifest"
    names: tuple[str, ...] = ()
    if isinstance(data, dict) and isinstance(data.get("budgets"), list):
        form = "report"
        if any(isinstance(x, dict) and x.get("name") == b.name for x in data["budgets"]):
            names = (b.name,)
    spec = SystemSpec(key=ref.key, form=form, files=(ref,), budgets=names)
    return loader.system("base", spec)


def _product(loader: SystemLoader, b: ProductBudget, base: BudgetResult) -> BudgetResult:
    system = loader.system(b.name, b.system)
    maximum = b.budget_bytes
    if b.max_from_manifest:
        if system.maximum_contents_size is None:
            raise InputError(
                f"{b.key}: no limit: {system.description} has no maximum_contents_size, "
                "and the budget no max_contents_bytes"
            )
        maximum = system.maximum_contents_size
        base = replace(base, budget_bytes=maximum)
    index, compressed = loader.index(())
    layout = loader.storage_format([system])
    table = size_systems([system], index, compressed, loader.context.sizer, layout)
    usage = account_product(system.packages, table.on_disk)
    details = ProductDetails(
        usage.distinct_blobs, usage.references, maximum, max_from_manifest=b.max_from_manifest
    )
    result = replace(
        base,
        parameters={**format_parameters(layout), "input": system.description},
        packages=usage.packages,
        used_bytes=usage.total_bytes,
        details=details,
    )
    if table.why_no_size:
        text = missing_text(
            f"product {b.name!r}", "no known size", table.why_no_size, where_used([system])
        )
        return replace(result, used_bytes=None, error=text)
    if b.resources is None and b.base is None:
        return result
    now = breakdown(_sized_blobs(system.packages, table.on_disk))
    if b.resources is not None:
        if b.resources.budget_bytes > maximum:
            return result.with_error(
                f"{b.key}.platform_resources_budget_bytes: {b.resources.budget_bytes:,} B is "
                f"more than the product's maximum {maximum:,} B"
            )
        details = replace(details, resources_bytes=now.resources_bytes, resources=b.resources)
    if b.base is not None:
        old = _base_system(loader, b, b.base)
        before = breakdown(_sized_blobs(old.packages, old.given))
        details = replace(details, diff=diff(before, now, old.description))
    return replace(result, details=details)
