"""Budget file in, one ``BudgetResult`` per budget out, through the file's budget kinds.

Each budget file is evaluated once per process (items of the same file share it), so
kinds that need the whole file at once (share counts that span its package sets) get it.
The evaluator knows no kind: it gives each kind its budgets and an
``EvaluationContext``, and fills in what every result has (name, file, line, limits,
owner, the shared limits, the warning).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from .budget.model import Budget, BudgetFile, form_urlencode
from .errors import SizeBudgetError
from .internal_error import unexpected_reason
from .kinds.base import BudgetKind, EvaluationContext
from .kinds.registry import KindRegistry
from .measure.sizer import BlobSizer, EngineSizer
from .packages.blob_sizes import BlobSizeStore
from .packages.loader import PackageLoader
from .report.model import BudgetResult, FileProblem


def base_result(bf: BudgetFile, b: Budget, owner_template: str | None) -> BudgetResult:
    """A budget's result before measurement: what the budget file alone says."""
    return BudgetResult(
        name=b.name,
        kind=b.kind,
        file=bf.display,
        line=b.line,
        key=b.key,
        budget_bytes=b.budget_bytes,
        creep_budget_bytes=b.creep_budget_bytes,
        owner=owner_url(b, owner_template),
        warn_at=b.warn_at,
        warn_bytes=b.warn_bytes,
        creep_budget_percent=b.creep_budget_percent,
    )


def owner_url(budget: Budget, template: str | None) -> str | None:
    """The budget's ``owner``, else the template with ``{name}`` filled in, else the
    owner its kind gives (ffx's go/ link for package sets and resource budgets).

    ``{name}`` is form-encoded the way ffx encodes it (``form_urlencode``); ``{raw_name}``
    is the name as written.
    """
    if budget.owner:
        return budget.owner
    if template:
        return template.replace("{name}", form_urlencode(budget.name)).replace(
            "{raw_name}", budget.name
        )
    return budget.default_owner


@dataclass(frozen=True, slots=True)
class FileEvaluation:
    results: Mapping[str, BudgetResult]  # by budget key


class BudgetEvaluator:
    def __init__(
        self,
        blob_sizes: BlobSizeStore,
        sizer: BlobSizer | None = None,
        owner_template: str | None = None,
        display_root: Path | None = None,
        kinds: KindRegistry | None = None,
    ) -> None:
        if kinds is None:
            from .kinds.builtin import builtin_kinds

            kinds = builtin_kinds()
        self.blob_sizes = blob_sizes
        # Without a sizer of its own, measure without a persistent cache.
        self.sizer: BlobSizer = sizer if sizer is not None else EngineSizer(None)
        self.owner_template = owner_template
        self.display_root = display_root
        # The root as a string prefix ("/a/b/"), where paths are POSIX and it is absolute.
        self._root_prefix = (
            str(display_root).rstrip("/") + "/"
            if display_root is not None and os.sep == "/" and display_root.is_absolute()
            else None
        )
        self.kinds = kinds
        self._done: dict[Path, FileEvaluation] = {}
        self._lock = threading.Lock()

    def display(self, path: Path) -> str:
        """Paths in reports: relative to the display root when below it, POSIX style."""
        if self._root_prefix is not None and not str(path).startswith("//"):
            # What the Path code below gives, as string operations: a large product
            # names a thousand manifests, and Path.absolute().relative_to() costs ~30 µs.
            text = str(path)
            if not text.startswith("/"):
                text = os.getcwd() + "/" + text if text != "." else os.getcwd()
            if text.startswith(self._root_prefix):
                return text[len(self._root_prefix) :] or "."
            if text + "/" == self._root_prefix:
                return "."
            return path.as_posix()
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

    def _evaluate(self, bf: BudgetFile) -> FileEvaluation:
        base = {b.key: base_result(bf, b, self.owner_template) for b in bf.budgets}
        try:
            context = EvaluationContext(
                blob_sizes=self.blob_sizes,
                sizer=self.sizer,
                packages=PackageLoader(bf, self.sizer.hash_files, self.display),
                display=self.display,
            )
        except Exception as exc:  # a bug: every budget of the file says so, the run goes on
            reason = unexpected_reason(exc, self.display)
            return FileEvaluation({k: r.with_error(reason) for k, r in base.items()})
        by_kind: dict[str, list[Budget]] = {}
        for b in bf.budgets:
            by_kind.setdefault(self.kinds.of_budget(b).name, []).append(b)
        results: dict[str, BudgetResult] = {}
        for name in self.kinds.names():
            budgets = by_kind.get(name)
            if not budgets:
                continue
            kind = self.kinds.get(name)
            try:
                results.update(self._evaluate_kind(kind, context, bf, budgets, base))
            except Exception as exc:
                # A bug in a kind (ours or a conftest's): its budgets fail with what was
                # raised and where, and the file's other kinds are still evaluated.
                reason = unexpected_reason(exc, self.display)
                results.update({b.key: base[b.key].with_error(reason) for b in budgets})
        return FileEvaluation({b.key: results[b.key] for b in bf.budgets})

    def _evaluate_kind(
        self,
        kind: BudgetKind,
        context: EvaluationContext,
        bf: BudgetFile,
        budgets: list[Budget],
        base: Mapping[str, BudgetResult],
    ) -> dict[str, BudgetResult]:
        try:
            got = kind.evaluate(context, bf, budgets, {b.key: base[b.key] for b in budgets})
        except SizeBudgetError as exc:
            got = {b.key: base[b.key].with_error(str(exc)) for b in budgets}
        results: dict[str, BudgetResult] = {}
        for b in budgets:
            found = got.get(b.key)
            if found is None:
                found = base[b.key].with_error(
                    f"budget kind {kind.name!r} gave no result for {b.key}"
                )
            results[b.key] = self.kinds.with_warning(found)
        return results


def check_total(bf: BudgetFile, kinds: KindRegistry) -> FileProblem | None:
    if bf.total is None:
        return None
    total = bf.total.total_bytes
    # Only budgets whose kind says they are shares of the file's total count towards it.
    budgets = sum(b.budget_bytes for b in bf.budgets if kinds.of_budget(b).joins_total(b))
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
