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
from typing import TYPE_CHECKING, Any, ClassVar, cast

from pytest_sizebudget.accounting import MissingBlob, ResourceInput, SetInput, Usage, account
from pytest_sizebudget.budget.fields import FieldReader, KeyPath, common_fields
from pytest_sizebudget.budget.model import Budget, BudgetFile, FileRef, ffx_owner
from pytest_sizebudget.errors import InputError, SizeBudgetError
from pytest_sizebudget.measure.formats import StorageFormat, format_parameters
from pytest_sizebudget.measure.memo import EvaluationMemo, MemoKey
from pytest_sizebudget.measure.sizer import SizeRequest
from pytest_sizebudget.packages.model import Package
from pytest_sizebudget.packages.rootfs_walk import SYMLINK_POLICIES, SymlinkPolicy
from pytest_sizebudget.report.breakdown import Breakdown, generic_breakdown
from pytest_sizebudget.report.diff import diff_packages
from pytest_sizebudget.report.failure import render_generic_failure
from pytest_sizebudget.report.model import MATCHED, BudgetResult, Details, NoDetails

from .base import BudgetKind, EntryParser, EvaluationContext
from .package_entries import LoadedSet, load_set, parse_packages
from .package_set_memo import answered_blobs, memo_key, recall, remember

if TYPE_CHECKING:  # imported when a set is evaluated: a remembered one needs none of it
    from pytest_sizebudget.packages.yocto import YoctoReader, YoctoSelection

_COMMON = ("name", "budget_bytes", "creep_budget_bytes", "owner")


@dataclass(frozen=True, slots=True, kw_only=True)
class PackageSetBudget(Budget):
    packages: tuple[FileRef, ...]
    merge: bool = False
    symlinks: SymlinkPolicy = "follow"  # how its directory packages read links
    link_policies: tuple[tuple[int, SymlinkPolicy], ...] = ()  # a package's own policy
    yocto: tuple[YoctoSelection, ...] = ()  # Yocto packages (package_entries.py)

    @property
    def kind(self) -> str:
        return "package_set"

    @property
    def default_owner(self) -> str | None:
        return ffx_owner(self.name)


@dataclass(frozen=True, slots=True, kw_only=True)
class ResourceBudget(Budget):
    paths: tuple[str, ...]

    @property
    def kind(self) -> str:
        return "resource"

    @property
    def default_owner(self) -> str | None:
        return ffx_owner(self.name)


@dataclass(frozen=True, slots=True)
class PackageSetDetails(Details):
    """``merged``: the set was accounted as one merged package (ffx's V2 ``merge``)."""

    merged: bool = False
    uncounted: tuple[tuple[str, str, str], ...] = ()  # (package, path, why): cost nothing
    largest_files: tuple[tuple[str, str, int], ...] = ()  # (package, path, bytes): Yocto
    rounded: tuple[str, ...] = ()  # Yocto packages whose size is only known in whole KiB

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"merged": True} if self.merged else {}
        if self.uncounted:
            out["uncounted"] = [
                {"package": p, "path": f, "reason": why} for p, f, why in self.uncounted
            ]
        if self.largest_files:
            out["largest_files"] = [
                {"package": p, "path": f, "bytes": n} for p, f, n in self.largest_files
            ]
        if self.rounded:
            out["rounded_packages"] = list(self.rounded)
        return out


def parse_package_set(
    r: FieldReader, entry: Mapping[str, Any], path: KeyPath, root: Path
) -> Budget | None:
    if r.object(entry, path, (*_COMMON, "packages", "merge", "symlinks")) is None:
        return None
    common = common_fields(r, entry, path)
    packages = parse_packages(r, entry, path, root)
    merge = r.boolean(entry, path, "merge")
    if merge and r.lenient:
        r.note(
            (*path, "merge"),
            "ffx V3 and current ffx (V4) ignore this key; this plugin applies ffx V2's merge "
            "(one instance per merkle, the meta.far charged as 32768 bytes)",
        )
    symlinks = r.string(entry, path, "symlinks", choices=SYMLINK_POLICIES) or "follow"
    if common is None or packages is None:
        return None
    return PackageSetBudget(
        **common,
        packages=packages.refs,
        merge=bool(merge),
        symlinks=cast(SymlinkPolicy, symlinks),
        link_policies=packages.policies,
        yocto=packages.yocto,
    )


def parse_resource(
    r: FieldReader, entry: Mapping[str, Any], path: KeyPath, root: Path
) -> Budget | None:
    if r.object(entry, path, (*_COMMON, "paths")) is None:
        return None
    if r.lenient and path[-1] == 0:
        r.note(
            path[:-1],
            "current ffx (V4) ignores resource_budgets and charges their blobs to the package "
            'sets; this plugin applies them as ffx V3 did (sharing: "global" gives V3\'s '
            "numbers; without resource_budgets the sets get V4's)",
        )
    common = common_fields(r, entry, path)
    # ``paths: []`` is valid, as in ffx V3: the budget matches nothing and uses 0 bytes.
    paths = r.strings(entry, path, "paths", required=True)
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
        details = PackageSetDetails(
            merged=data.get("merged") is True,
            uncounted=tuple(
                (str(u.get("package")), str(u.get("path")), str(u.get("reason")))
                for u in _dicts(data.get("uncounted"))
            ),
            largest_files=tuple(
                (str(f.get("package")), str(f.get("path")), int(f.get("bytes") or 0))
                for f in _dicts(data.get("largest_files"))
            ),
            rounded=tuple(str(n) for n in data.get("rounded_packages") or ()),
        )
        return details if details != PackageSetDetails() else NoDetails()

    def breakdown(self, result: BudgetResult, top_n: int) -> Sequence[Breakdown]:
        # Packages by charged bytes, their largest blobs, and what changed since the
        # baseline: the same contributors as the failure text.
        return generic_breakdown(result, top_n)

    def failure_text(self, result: BudgetResult, top_n: int) -> str:
        text = render_generic_failure(result, self.title(result), top_n, breakdown=True)
        details = result.details
        if result.error is None and isinstance(details, PackageSetDetails):
            text += "".join("\n" + line for line in render_set_notes(details, top_n))
        return text

    def verbose_json(self, result: BudgetResult) -> dict[str, Any] | None:
        """ffx's ``--verbose-json-output`` entry (reference fuchsia_current.md §1.5): keys in
        ffx's order; ``package_breakdown`` by manifest path (as the reports name it),
        ordered by path components as Rust orders paths; blobs in manifest order."""
        if result.used_bytes is None:
            return None
        by_path = {
            p.origin: {
                "name": p.name,
                "used_space_in_blobfs": p.used_space_in_blobfs,
                "proportional_size": p.proportional_size,
                "blobs": [
                    {
                        "merkle": b.merkle,
                        "path_in_package": b.path,
                        "used_space_in_blobfs": b.size,
                        "share_count": b.share_count,
                        "absolute_share_count": b.share_count,
                    }
                    for b in p.blobs
                ],
            }
            for p in result.packages
        }
        return {
            "name": result.name,
            "budget_bytes": result.budget_bytes,
            "creep_budget_bytes": result.creep_budget_bytes,
            "used_bytes": result.used_bytes,
            "package_breakdown": {
                k: by_path[k] for k in sorted(by_path, key=lambda k: k.split("/"))
            },
        }

    def evaluate(
        self,
        context: EvaluationContext,
        budget_file: BudgetFile,
        budgets: Sequence[Budget],
        base: Mapping[str, BudgetResult],
    ) -> Mapping[str, BudgetResult]:
        bf = budget_file
        parameters = {"sharing": bf.sharing, **format_parameters(bf.storage_format)}
        base = {b.key: replace(base[b.key], parameters=dict(parameters)) for b in budgets}
        sets = [b for b in budgets if isinstance(b, PackageSetBudget)]
        resources = [b for b in budgets if isinstance(b, ResourceBudget)]
        memo = context.sizer.evaluation_memo()
        at = None
        if memo is not None and not bf.include_subpackages and not any(s.yocto for s in sets):
            manifests = {}
            for ref in (ref for s in sets for ref in s.packages):
                path = ref.path
                manifests[path if path.is_absolute() else path.absolute()] = context.display(path)
            at = memo_key(memo, context, bf, budgets, base, list(manifests.items()))
        if memo is not None and at is not None:
            remembered = recall(memo, at, bf, budgets)
            if remembered is not None:
                return {
                    b.key: _with_usage(base[b.key], b, remembered[b.key], {}, {}) for b in budgets
                }
        errors: dict[str, str] = {}
        loaded: dict[str, list[Package]] = {}
        notes: dict[str, LoadedSet] = {}
        from pytest_sizebudget.packages.yocto import YoctoReader

        reader = YoctoReader(context.display)
        for s in sets:
            try:
                notes[s.key] = _load(context, reader, s)
                loaded[s.key] = notes[s.key].packages
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
        for p in (p for s in inputs for p in s.packages):
            sizes.update(p.fixed_sizes)  # symbolic links, Yocto packages: nothing to measure
        unverified = _verify(context, inputs)
        requests = _unsized(inputs, {**sizes, **unverified})
        sizes.update(_measure(context, requests, bf.storage_format))
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
        for s in ok_sets:
            out[s.key] = _with_notes(out[s.key], notes[s.key])
        _compare_with_baseline_trees(context, reader, ok_sets, inputs, ok_resources, sizes, bf, out)
        if memo is not None and at is not None and not errors:
            _remember(
                memo, at, inputs, requests, ok_sets, set_usages, ok_resources, resource_usages, out
            )
        return out


def _load(context: EvaluationContext, reader: YoctoReader, s: PackageSetBudget) -> LoadedSet:
    return load_set(context.packages.load, reader, s.packages, s.symlinks, s.link_policies, s.yocto)


def _dicts(value: object) -> list[Mapping[str, Any]]:
    """A list of objects, or nothing; anything else is not what this kind writes."""
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, Mapping) for v in value):
        raise ValueError("expected a list of objects")
    return value


def _with_notes(result: BudgetResult, loaded: LoadedSet) -> BudgetResult:
    if not (loaded.uncounted or loaded.largest_files or loaded.rounded):
        return result
    merged = isinstance(result.details, PackageSetDetails) and result.details.merged
    return replace(
        result,
        details=PackageSetDetails(
            merged=merged,
            uncounted=loaded.uncounted,
            largest_files=loaded.largest_files,
            rounded=loaded.rounded,
        ),
    )


def render_set_notes(details: PackageSetDetails, top_n: int) -> list[str]:
    """What a package set's breakdown cannot show: files, uncounted entries, rounding."""
    lines: list[str] = []
    limit = top_n if top_n > 0 else None
    if details.largest_files:
        lines += ["", "Largest files (Yocto packages):"]
        for package, path, size in details.largest_files[:limit]:
            lines.append(f"  {size:>14,} B  /{path}  ({package})")
    if details.uncounted:
        lines += ["", f"Not counted ({len(details.uncounted)}: they hold no bytes here):"]
        for package, path, why in details.uncounted[:limit]:
            lines.append(f"  {package}/{path}: {why}")
        if limit is not None and len(details.uncounted) > limit:
            lines.append(f"  ... {len(details.uncounted) - limit} more")
    if details.rounded:
        lines += [
            "",
            "Only known in whole KiB (installed-package-sizes.txt; no PKGSIZE found): "
            + ", ".join(details.rounded),
        ]
    return lines


def _compare_with_baseline_trees(
    context: EvaluationContext,
    reader: YoctoReader,
    sets: Sequence[PackageSetBudget],
    inputs: Sequence[SetInput],
    resources: Sequence[ResourceBudget],
    sizes: Mapping[str, int | str],
    bf: BudgetFile,
    out: dict[str, BudgetResult],
) -> None:
    """Sets with a Yocto ``baseline`` tree: the same accounting over the earlier tree
    gives their baseline (the run's ``--sizebudget-baseline`` report is then not used)."""
    with_trees = {s.key for s in sets if any(sel.baseline is not None for sel in s.yocto)}
    if not with_trees:
        return
    old_inputs = []
    failed: dict[str, str] = {}
    for s, now in zip(sets, inputs, strict=True):
        if s.key not in with_trees:
            old_inputs.append(now)
            continue
        try:
            old = load_set(
                context.packages.load,
                reader,
                s.packages,
                s.symlinks,
                s.link_policies,
                s.yocto,
                baseline=True,
            )
        except InputError as exc:
            failed[s.key] = f"baseline tree: {exc}"
            old_inputs.append(now)
            continue
        old_inputs.append(SetInput(s.name, old.packages, s.merge))
    old_sizes = dict(sizes)
    for p in (p for i in old_inputs for p in i.packages):
        old_sizes.update(p.fixed_sizes)
    usages, _ = account(
        old_inputs,
        [ResourceInput(r.name, frozenset(r.paths)) for r in resources],
        {m: v for m, v in old_sizes.items() if isinstance(v, int)},
        bf.sharing,
    )
    for s, usage in zip(sets, usages, strict=True):
        result = out[s.key]
        if s.key not in with_trees or result.error is not None:
            continue
        if s.key in failed:
            out[s.key] = result.with_error(failed[s.key])
        elif result.used_bytes is not None and not usage.missing:
            out[s.key] = replace(
                result,
                baseline=MATCHED,
                baseline_used_bytes=usage.used_bytes,
                delta_bytes=result.used_bytes - usage.used_bytes,
                diff=diff_packages(usage.packages, result.packages),
            )


def _verify(context: EvaluationContext, inputs: Sequence[SetInput]) -> Mapping[str, str]:
    """Every manifest blob checked against its content, when the sizer verifies."""
    if not context.sizer.verify:
        return {}
    requests: dict[tuple[str, Path | str | None], SizeRequest] = {}
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


def _unsized(inputs: Sequence[SetInput], sizes: Mapping[str, int | str]) -> list[SizeRequest]:
    """The blobs that no blobs.json sizes, each once (at its first instance's file)."""
    requests: dict[str, SizeRequest] = {}
    for s in inputs:
        for p in s.packages:
            for b in p.blobs:
                if b.merkle not in sizes and b.merkle not in requests:
                    requests[b.merkle] = SizeRequest(b.merkle, b.source, b.size)
    return list(requests.values())


def _measure(
    context: EvaluationContext, requests: Sequence[SizeRequest], layout: StorageFormat
) -> Mapping[str, int | str]:
    if not requests:
        return {}
    try:
        return context.sizer.size_blobs(requests, layout)
    except SizeBudgetError as exc:
        return {r.merkle: str(exc) for r in requests}


def _remember(
    memo: EvaluationMemo,
    at: MemoKey,
    inputs: Sequence[SetInput],
    requests: Sequence[SizeRequest],
    sets: Sequence[PackageSetBudget],
    set_usages: Sequence[Usage],
    resources: Sequence[ResourceBudget],
    resource_usages: Sequence[Usage],
    out: Mapping[str, BudgetResult],
) -> None:
    """Keep a clean evaluation of plain manifests for the next run (package_set_memo)."""
    if any(p.kind != "manifest" for s in inputs for p in s.packages):
        return
    if any(r.error is not None for r in out.values()):
        return
    answered = answered_blobs(requests)
    if answered is None:
        return
    usages = {
        b.key: u
        for b, u in (
            *zip(sets, set_usages, strict=True),
            *zip(resources, resource_usages, strict=True),
        )
    }
    remember(memo, at, usages, answered)


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
