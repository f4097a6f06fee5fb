"""Package-set and resource budgets: Fuchsia's ``ffx assembly size-check package``.

``package_set_budgets`` bound the blobs of groups of packages, each blob charged by how
many package instances share it (``accounting.py``); ``resource_budgets`` take named
in-package paths out of every set and bound them on their own.  Both need the whole
file's packages at once (share counts span the file), so this one kind evaluates both.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, ClassVar

from pytest_sizebudget.accounting import MissingBlob, ResourceInput, SetInput, Usage, account
from pytest_sizebudget.budget.fields import FieldReader, KeyPath, common_fields
from pytest_sizebudget.budget.model import Budget, BudgetFile, FileRef, Layout
from pytest_sizebudget.errors import InputError, SizeBudgetError
from pytest_sizebudget.measure.sizer import SizeRequest
from pytest_sizebudget.packages.model import Package
from pytest_sizebudget.report.breakdown import Breakdown, generic_breakdown
from pytest_sizebudget.report.failure import render_generic_failure
from pytest_sizebudget.report.model import BudgetResult, Details, NoDetails

from .base import BudgetKind, EntryParser, EvaluationContext

_COMMON = ("name", "budget_bytes", "creep_budget_bytes", "owner")


@dataclass(frozen=True, slots=True, kw_only=True)
class PackageSetBudget(Budget):
    packages: tuple[FileRef, ...]
    merge: bool = False

    @property
    def kind(self) -> str:
        return "package_set"


@dataclass(frozen=True, slots=True, kw_only=True)
class ResourceBudget(Budget):
    paths: tuple[str, ...]

    @property
    def kind(self) -> str:
        return "resource"


@dataclass(frozen=True, slots=True)
class PackageSetDetails(Details):
    """``merged``: the set was accounted as one merged package (ffx's V2 ``merge``)."""

    merged: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"merged": True} if self.merged else {}


def parse_package_set(
    r: FieldReader, entry: Mapping[str, Any], path: KeyPath, root: Path
) -> Budget | None:
    if r.object(entry, path, (*_COMMON, "packages", "merge")) is None:
        return None
    common = common_fields(r, entry, path)
    packages = r.file_refs(entry, path, "packages", root, required=True)
    merge = r.boolean(entry, path, "merge")
    if common is None or packages is None:
        return None
    return PackageSetBudget(**common, packages=packages, merge=bool(merge))


def parse_resource(
    r: FieldReader, entry: Mapping[str, Any], path: KeyPath, root: Path
) -> Budget | None:
    if r.object(entry, path, (*_COMMON, "paths")) is None:
        return None
    common = common_fields(r, entry, path)
    paths = r.strings(entry, path, "paths", required=True)
    if paths is not None and not paths:
        r.error((*path, "paths"), "must name at least one in-package path")
        return None
    if common is None or paths is None:
        return None
    return ResourceBudget(**common, paths=tuple(v for _, v in paths))


class PackageSetKind(BudgetKind):
    name = "package_set"
    titles: ClassVar[Mapping[str, str]] = {
        "package_set": "Package set",
        "resource": "Resource budget",
    }
    sections: ClassVar[Mapping[str, EntryParser]] = {
        "package_set_budgets": parse_package_set,
        "resource_budgets": parse_resource,
    }
    bare_list_section = "package_set_budgets"

    def details_from_dict(self, data: Mapping[str, Any]) -> Details:
        return PackageSetDetails(merged=True) if data.get("merged") is True else NoDetails()

    def breakdown(self, result: BudgetResult, top_n: int) -> Sequence[Breakdown]:
        # Packages by charged bytes, their largest blobs, and what changed since the
        # baseline: the same contributors as the failure text.
        return generic_breakdown(result, top_n)

    def failure_text(self, result: BudgetResult, top_n: int) -> str:
        return render_generic_failure(result, self.title(result), top_n, breakdown=True)

    def evaluate(
        self,
        context: EvaluationContext,
        budget_file: BudgetFile,
        budgets: Sequence[Budget],
        base: Mapping[str, BudgetResult],
    ) -> Mapping[str, BudgetResult]:
        bf = budget_file
        parameters = {"sharing": bf.sharing, "blobfs_layout": bf.blobfs_layout}
        base = {b.key: replace(base[b.key], parameters=dict(parameters)) for b in budgets}
        sets = [b for b in budgets if isinstance(b, PackageSetBudget)]
        resources = [b for b in budgets if isinstance(b, ResourceBudget)]
        errors: dict[str, str] = {}
        loaded: dict[str, list[Package]] = {}
        for s in sets:
            try:
                loaded[s.key] = [context.packages.load(ref) for ref in s.packages]
            except InputError as exc:
                errors[s.key] = str(exc)
        try:
            index = context.blob_sizes.index(
                [(ref.path, context.display(ref.path)) for ref in bf.blob_sizes]
            )
        except InputError as exc:
            msg = f"blob_sizes: {exc}"
            return {k: r.with_error(msg) for k, r in base.items()}

        unreadable = [s for s in sets if s.key in errors]
        for b in (*sets, *resources):
            if b.key in errors:
                continue
            spans_file = bf.sharing == "global" or isinstance(b, ResourceBudget)
            if unreadable and spans_file:
                names = ", ".join(repr(s.name) for s in unreadable)
                errors[b.key] = (
                    f"cannot account: package set {names} could not be read, and share "
                    f"counts span every package set in {bf.display} "
                    f"({'resource budget' if isinstance(b, ResourceBudget) else 'sharing: global'})"
                )
        ok_sets = [s for s in sets if s.key not in errors]
        inputs = [SetInput(s.name, loaded[s.key], s.merge) for s in ok_sets]
        ok_resources = [r for r in resources if r.key not in errors]
        sizes: dict[str, int | str] = dict(index.sizes)
        unverified = _verify(context, inputs)
        sizes.update(_measure_missing(context, inputs, {**sizes, **unverified}, bf.blobfs_layout))
        sizes.update(unverified)  # a blob that is not what its manifest claims has no size
        set_usages, resource_usages = account(
            inputs,
            [ResourceInput(r.name, frozenset(r.paths)) for r in ok_resources],
            {m: s for m, s in sizes.items() if isinstance(s, int)},
            bf.sharing,
        )
        out = dict(base)
        for key, msg in errors.items():
            out[key] = base[key].with_error(msg)
        for budget, usage in (
            *zip(ok_sets, set_usages, strict=True),
            *zip(ok_resources, resource_usages, strict=True),
        ):
            out[budget.key] = _with_usage(base[budget.key], budget, usage, sizes, unverified)
        return out


def _verify(context: EvaluationContext, inputs: Sequence[SetInput]) -> Mapping[str, str]:
    """Every manifest blob checked against its content, when the sizer verifies."""
    if not context.sizer.verify:
        return {}
    requests: dict[tuple[str, Path | None], SizeRequest] = {}
    for s in inputs:
        for p in s.packages:
            if p.kind != "manifest":
                continue
            for b in p.blobs:
                requests.setdefault((b.merkle, b.source), SizeRequest(b.merkle, b.source, b.size))
    if not requests:
        return {}
    try:
        return context.sizer.verify_blobs(list(requests.values()))
    except SizeBudgetError as exc:
        return {m: str(exc) for m, _ in requests}


def _measure_missing(
    context: EvaluationContext,
    inputs: Sequence[SetInput],
    sizes: Mapping[str, int | str],
    layout: Layout,
) -> Mapping[str, int | str]:
    requests: dict[str, SizeRequest] = {}
    for s in inputs:
        for p in s.packages:
            for b in p.blobs:
                if b.merkle not in sizes and b.merkle not in requests:
                    requests[b.merkle] = SizeRequest(b.merkle, b.source, b.size)
    if not requests:
        return {}
    try:
        return context.sizer.size_blobs(list(requests.values()), layout)
    except SizeBudgetError as exc:
        return {m: str(exc) for m in requests}


def _with_usage(
    result: BudgetResult,
    budget: Budget,
    usage: Usage,
    sizes: Mapping[str, int | str],
    unverified: Mapping[str, str],
) -> BudgetResult:
    result = replace(
        result, used_bytes=usage.used_bytes, packages=usage.packages, fixed_bytes=usage.fixed_bytes
    )
    if usage.missing:
        # A partial sum would be a guess: the budget is unmeasured, its breakdown stays.
        return replace(
            result, used_bytes=None, error=_missing_text(budget, usage.missing, sizes, unverified)
        )
    if isinstance(budget, PackageSetBudget) and budget.merge:
        return replace(result, details=PackageSetDetails(merged=True))
    return result


def _missing_text(
    budget: Budget,
    missing: Sequence[MissingBlob],
    sizes: Mapping[str, int | str],
    unverified: Mapping[str, str],
) -> str:
    lines = []
    bad = [m for m in missing if m.merkle in unverified]
    if bad:
        one = len(bad) == 1
        lines.append(
            f"{len(bad)} blob{'' if one else 's'} of budget {budget.name!r} "
            f"{'does' if one else 'do'} not match the merkle root the manifest claims "
            "(--sizebudget-verify):"
        )
        for m in bad:
            lines.append(
                f"  package {m.package!r} ({m.origin}) path {m.path!r} claimed merkle "
                f"{m.merkle}: {unverified[m.merkle]}"
            )
    missing = [m for m in missing if m.merkle not in unverified]
    if not missing:
        return "\n".join(lines)
    one = len(missing) == 1
    lines.append(
        f"{len(missing)} blob{'' if one else 's'} of budget {budget.name!r} "
        f"{'has' if one else 'have'} no known size (not in any blobs.json, and not measured):"
    )
    for m in missing:
        why = sizes.get(m.merkle)
        lines.append(
            f"  package {m.package!r} ({m.origin}) path {m.path!r} merkle {m.merkle}"
            + (f": {why}" if isinstance(why, str) else "")
        )
    return "\n".join(lines)
