"""``KindRegistry``: the budget kinds of a run, by name, by section and by result kind.

The plugin fills one registry per run through the ``pytest_sizebudget_register_kinds``
hook (the built-in kinds register themselves the same way a ``conftest.py`` or another
plugin does).  Everything the core does with a budget or a result goes through here.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from typing import Any

from pytest_sizebudget.budget.model import Budget
from pytest_sizebudget.errors import SizeBudgetError
from pytest_sizebudget.report.breakdown import Breakdown, generic_breakdown
from pytest_sizebudget.report.failure import (
    render_error,
    render_generic_failure,
    render_generic_line,
)
from pytest_sizebudget.report.model import BudgetResult, Details, NoDetails, RawDetails

from .base import BudgetKind, EntryParser

_NAME = re.compile(r"[a-z][a-z0-9_]*\Z")


class KindError(SizeBudgetError):
    """A kind cannot be registered (a name or section that another kind has)."""


class KindRegistry:
    def __init__(self) -> None:
        self._kinds: dict[str, BudgetKind] = {}
        self._sections: dict[str, tuple[BudgetKind, EntryParser]] = {}
        self._results: dict[str, BudgetKind] = {}

    def register(self, kind: BudgetKind) -> None:
        """Add ``kind``; registering the same kind (same class) again changes nothing."""
        known = self._kinds.get(kind.name)
        if known is not None:
            if type(known) is type(kind):
                return
            raise KindError(f"budget kind {kind.name!r} is registered twice ({known!r}, {kind!r})")
        for name in (kind.name, *kind.titles):
            if not _NAME.match(name):
                raise KindError(f"budget kind name {name!r}: use lower case, digits and '_'")
        for result_kind in kind.titles:
            if result_kind in self._results:
                raise KindError(
                    f"result kind {result_kind!r} of {kind.name!r} belongs to "
                    f"{self._results[result_kind].name!r}"
                )
        if not kind.sections:
            raise KindError(f"budget kind {kind.name!r} reads no section of a budget file")
        for section in kind.sections:
            if section in self._sections:
                raise KindError(
                    f"section {section!r} of budget kind {kind.name!r} is read by "
                    f"{self._sections[section][0].name!r}"
                )
        self._kinds[kind.name] = kind
        for section, parser in kind.sections.items():
            self._sections[section] = (kind, parser)
        for result_kind in kind.titles:
            self._results[result_kind] = kind

    def __iter__(self) -> Iterator[BudgetKind]:
        """The kinds in registration order (the order their budgets are evaluated)."""
        return iter(self._kinds.values())

    @property
    def sections(self) -> Mapping[str, EntryParser]:
        """Top-level budget-file keys with their entry parsers, in collection order."""
        return {section: parser for section, (_, parser) in self._sections.items()}

    @property
    def list_section(self) -> str | None:
        """The section a bare-list budget file stands for, if a kind claims one."""
        return next((k.bare_list_section for k in self if k.bare_list_section), None)

    def of_budget(self, budget: Budget) -> BudgetKind:
        return self.of_result_kind(budget.kind)

    def of_result_kind(self, result_kind: str) -> BudgetKind:
        try:
            return self._results[result_kind]
        except KeyError:
            raise KindError(f"no budget kind produces {result_kind!r}") from None

    def find(self, result_kind: str) -> BudgetKind | None:
        return self._results.get(result_kind)

    # -- what the core asks of results ----------------------------------------------

    def decode_details(self, result_kind: str, data: Mapping[str, Any]) -> Details:
        """A result's details from its JSON keys; as read when no kind knows them."""
        kind = self._results.get(result_kind)
        if kind is None:
            return RawDetails(dict(data))
        if not data:  # a budget that could not be checked has no details of its kind
            return NoDetails()
        try:
            return kind.details_from_dict(data)
        except (KeyError, TypeError, ValueError, AttributeError):
            # Not what this kind writes (another version's report): keep it as read.
            return RawDetails(dict(data))

    def result_from_dict(self, data: Mapping[str, Any]) -> BudgetResult:
        """A result read back from a report (xdist, baselines), with its kind's warning."""
        return self.with_warning(BudgetResult.from_dict(data, self.decode_details))

    def with_warning(self, result: BudgetResult) -> BudgetResult:
        """``result`` with its warning: the shared limits' (``warn_at``, ``warn_bytes``),
        computed here for every kind alike, then the kind's own, if it passes."""
        warning = None
        if result.passed:
            kind = self._results.get(result.kind)
            found = [result.limit_warning(_title(kind, result))]
            if kind is not None:
                found.append(kind.warning(result))
            warning = "; ".join(w for w in found if w) or None
        return result if warning == result.warning else replace(result, warning=warning)

    def with_baseline(self, result: BudgetResult, old: BudgetResult | None) -> BudgetResult:
        """The kind's own comparison of a measured result with its baseline entry."""
        kind = self._results.get(result.kind)
        if kind is None or old is None or old.kind != result.kind:
            return result
        if result.used_bytes is None or old.used_bytes is None:
            return result
        return kind.with_baseline(result, old)

    def failure_text(self, result: BudgetResult, top_n: int) -> str:
        kind = self._results.get(result.kind)
        title = _title(kind, result)
        if result.error is not None:
            return render_error(result, title)
        if kind is None:  # pragma: no cover - a result of this run always has a kind
            return render_generic_failure(result, title, top_n)
        return kind.failure_text(result, top_n)

    def failure_line(self, result: BudgetResult) -> str:
        kind = self._results.get(result.kind)
        if kind is None or result.error is not None:
            return render_generic_line(result, _title(kind, result))
        return kind.failure_line(result)

    def breakdown(self, result: BudgetResult, top_n: int) -> Sequence[Breakdown]:
        """The top contributors of ``result`` as its kind gives them (a result of a kind
        no longer registered, read from a baseline: the generic ones)."""
        kind = self._results.get(result.kind)
        return generic_breakdown(result, top_n) if kind is None else kind.breakdown(result, top_n)

    @property
    def descriptive_parameters(self) -> frozenset[str]:
        out: frozenset[str] = frozenset()
        for kind in self:
            out |= kind.descriptive_parameters
        return out


def _title(kind: BudgetKind | None, result: BudgetResult) -> str:
    if kind is not None:
        return kind.title(result)
    return f"{result.kind.replace('_', ' ').capitalize()} {result.name!r}"
