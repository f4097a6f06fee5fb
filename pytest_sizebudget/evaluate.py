"""Budget file in, one ``BudgetResult`` per budget out: loading, sizing and accounting.

Each budget file is evaluated once per process (items of the same file share it), so
share counts that span the file's package sets are computed from the whole file.
Sizes come from the file's blobs.json files first; blobs they do not cover go to the
``BlobSizer`` (the measurement engine), and a blob nobody can size fails its budget.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable
from urllib.parse import quote_plus

from .accounting import MissingBlob, ResourceInput, SetInput, Usage, account
from .budget.model import Budget, BudgetFile, Layout, PackageSetBudget, ResourceBudget
from .errors import InputError, SizeBudgetError
from .image_check import evaluate_images
from .measure.merkle import merkle_root_of_file
from .packages.blob_sizes import BlobSizeStore
from .packages.directory import Hasher, load_directory, load_directory_batch
from .packages.manifest import load_manifest
from .packages.model import Package
from .product import evaluate_systems
from .report.model import BudgetResult, FileProblem


@dataclass(frozen=True, slots=True)
class SizeRequest:
    """A blob that no blobs.json sizes: what is known about where its bytes are."""

    merkle: str
    source: Path | None
    manifest_size: int | None


class BlobSizer(Protocol):
    """Sizes blobs that no blobs.json covers: merkle -> on-disk bytes, or an error text."""

    def size_blobs(
        self, requests: Sequence[SizeRequest], layout: Layout
    ) -> Mapping[str, int | str]: ...


@runtime_checkable
class DirectoryHasher(Protocol):
    """A sizer that can also hash many files at once (directory packages)."""

    def hash_files(self, paths: Sequence[Path]) -> Mapping[Path, str | SizeBudgetError]: ...


@runtime_checkable
class BlobVerifier(Protocol):
    """A sizer that checks manifest blobs: merkle -> why its content is not as claimed."""

    verify: bool

    def verify_blobs(self, requests: Sequence[SizeRequest]) -> Mapping[str, str]: ...


class NoMeasurement:
    """The sizer used when blob measurement is not available: sizes nothing."""

    def size_blobs(
        self, requests: Sequence[SizeRequest], layout: Layout
    ) -> Mapping[str, int | str]:
        return {}


def owner_url(budget: Budget, template: str | None) -> str | None:
    """The budget's ``owner``, else the template with ``{name}`` filled in.

    ``{name}`` is query-encoded the way ffx encodes it (space -> ``+``, ``:`` -> ``%3A``);
    ``{raw_name}`` is the name as written.
    """
    if budget.owner:
        return budget.owner
    if not template:
        return None
    return template.replace("{name}", quote_plus(budget.name)).replace("{raw_name}", budget.name)


@dataclass(frozen=True, slots=True)
class FileEvaluation:
    results: Mapping[str, BudgetResult]  # by budget key


class BudgetEvaluator:
    def __init__(
        self,
        blob_sizes: BlobSizeStore,
        sizer: BlobSizer | None = None,
        hasher: Hasher = merkle_root_of_file,
        owner_template: str | None = None,
        display_root: Path | None = None,
    ) -> None:
        self.blob_sizes = blob_sizes
        self.sizer = sizer or NoMeasurement()
        self.hasher = hasher
        self.owner_template = owner_template
        self.display_root = display_root
        self._done: dict[Path, FileEvaluation] = {}
        self._lock = threading.Lock()

    def display(self, path: Path) -> str:
        """Paths in reports: relative to the display root when below it, POSIX style."""
        if self.display_root is not None:
            try:
                return path.absolute().relative_to(self.display_root).as_posix()
            except ValueError:
                pass
        return path.as_posix()

    def evaluate(self, bf: BudgetFile) -> FileEvaluation:
        with self._lock:
            if bf.path not in self._done:
                self._done[bf.path] = self._evaluate(bf)
            return self._done[bf.path]

    def result(self, bf: BudgetFile, key: str) -> BudgetResult:
        return self.evaluate(bf).results[key]

    def _base(self, bf: BudgetFile, b: Budget) -> BudgetResult:
        return BudgetResult(
            name=b.name,
            kind=b.kind,
            file=bf.display,
            line=b.line,
            key=b.key,
            budget_bytes=b.budget_bytes,
            creep_budget_bytes=b.creep_budget_bytes,
            owner=owner_url(b, self.owner_template),
            parameters={"sharing": bf.sharing, "blobfs_layout": bf.blobfs_layout},
        )

    def _evaluate(self, bf: BudgetFile) -> FileEvaluation:
        base = {b.key: self._base(bf, b) for b in bf.budgets}
        results = self._evaluate_packages(bf, base)
        results.update(evaluate_images(bf, base, self.display))
        results.update(evaluate_systems(self, bf, base))  # product, update budgets
        return FileEvaluation(results)

    def _evaluate_packages(
        self, bf: BudgetFile, base: dict[str, BudgetResult]
    ) -> dict[str, BudgetResult]:
        sets, resources = bf.package_sets, bf.resources
        if not sets and not resources:
            return base
        errors: dict[str, str] = {}
        loaded: dict[str, list[Package]] = {}
        cache: dict[Path, Package | InputError] = {}
        for s in sets:
            try:
                loaded[s.key] = [self._package(bf, ref.path, ref.key, cache) for ref in s.packages]
            except InputError as exc:
                errors[s.key] = str(exc)
        try:
            index = self.blob_sizes.index(
                [(ref.path, self.display(ref.path)) for ref in bf.blob_sizes]
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
        unverified = self._verify(inputs)
        sizes.update(self._measure_missing(inputs, {**sizes, **unverified}, bf.blobfs_layout))
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

    def _package(
        self, bf: BudgetFile, path: Path, key: str, cache: dict[Path, Package | InputError]
    ) -> Package:
        resolved = path.absolute()
        if resolved not in cache:
            try:
                if resolved.is_dir() and isinstance(self.sizer, DirectoryHasher):
                    cache[resolved] = load_directory_batch(
                        resolved, self.sizer.hash_files, display=self.display(path)
                    )
                elif resolved.is_dir():
                    cache[resolved] = load_directory(
                        resolved, self.hasher, display=self.display(path)
                    )
                elif not resolved.exists():
                    raise InputError(f"{self.display(path)}: does not exist")
                else:
                    cache[resolved] = load_manifest(
                        resolved,
                        working_dir=bf.root,
                        include_subpackages=bf.include_subpackages,
                        display=self.display(path),
                    )
            except InputError as exc:
                cache[resolved] = InputError(f"{key}: {exc}")
        got = cache[resolved]
        if isinstance(got, InputError):
            raise got
        return got

    def _verify(self, inputs: Sequence[SetInput]) -> Mapping[str, str]:
        """Every manifest blob checked against its content, when the sizer verifies."""
        if not isinstance(self.sizer, BlobVerifier) or not self.sizer.verify:
            return {}
        requests: dict[tuple[str, Path | None], SizeRequest] = {}
        for s in inputs:
            for p in s.packages:
                if p.kind != "manifest":
                    continue
                for b in p.blobs:
                    request = SizeRequest(b.merkle, b.source, b.size)
                    requests.setdefault((b.merkle, b.source), request)
        if not requests:
            return {}
        try:
            return self.sizer.verify_blobs(list(requests.values()))
        except SizeBudgetError as exc:
            return {m: str(exc) for m, _ in requests}

    def _measure_missing(
        self, inputs: Sequence[SetInput], sizes: Mapping[str, int | str], layout: Layout
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
            return self.sizer.size_blobs(list(requests.values()), layout)
        except SizeBudgetError as exc:
            return {m: str(exc) for m in requests}


def _with_usage(
    result: BudgetResult,
    budget: Budget,
    usage: Usage,
    sizes: Mapping[str, int | str],
    unverified: Mapping[str, str],
) -> BudgetResult:
    from dataclasses import replace

    result = replace(
        result, used_bytes=usage.used_bytes, packages=usage.packages, fixed_bytes=usage.fixed_bytes
    )
    if usage.missing:
        # A partial sum would be a guess: the budget is unmeasured, its breakdown stays.
        return replace(
            result, used_bytes=None, error=_missing_text(budget, usage.missing, sizes, unverified)
        )
    if isinstance(budget, PackageSetBudget) and budget.merge:
        return replace(result, extra={"merged": True})
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


def check_total(bf: BudgetFile) -> FileProblem | None:
    if bf.total is None:
        return None
    total = bf.total.total_bytes
    # Product and update budgets bound whole systems; they are not shares of this total.
    budgets = sum(b.budget_bytes for b in bf.budgets if b.kind not in ("product", "update"))
    if budgets == total:
        return None
    return FileProblem(
        file=bf.display,
        check="total_budget_bytes",
        message=(
            f"{bf.display}:{bf.total.line}: Sum of budgets doesn't match total budget bytes: "
            f"sum={budgets}, total={total}, diff=sum-total={budgets - total}"
        ),
    )
