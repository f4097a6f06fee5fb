"""``KindRegistry``: the budget kinds of a run, by name, by section and by result kind.

The plugin fills one registry per run through the ``pytest_sizebudget_register_kinds``
hook (the built-in kinds register themselves the same way a ``conftest.py`` or another
plugin does).  Everything the core does with a budget or a result goes through here.

A kind may be registered as a ``KindSpec``: its name, sections and result kinds, and
where its class is.  The module is imported when a budget file has one of its sections
or a report has one of its results, so a run of package sets does not import the ELF,
Android and product kinds (about 60 ms of every run's start).
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
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


@dataclass(frozen=True, slots=True)
class KindSpec:
    """A kind known by what the registry needs of it until it is used; ``attribute`` of
    ``module`` is its class (made with no arguments).  Loading it checks that the class
    says the same."""

    name: str
    module: str
    attribute: str
    sections: tuple[str, ...]
    result_kinds: tuple[str, ...]
    bare_list_section: str | None = None
    descriptive_parameters: frozenset[str] = frozenset()

    def load(self) -> BudgetKind:
        kind = getattr(importlib.import_module(self.module), self.attribute)()
        if not isinstance(kind, BudgetKind) or _spec_of(kind, self) != self:
            raise KindError(f"budget kind {self.name!r}: {self.module}.{self.attribute} differs")
        return kind


def _same(a: BudgetKind | KindSpec, b: BudgetKind | KindSpec) -> bool:
    """Whether two registrations are one kind: equal specs, instances of one class, or
    an instance of the class a spec names."""

    def cls(k: BudgetKind | KindSpec) -> tuple[str, str]:
        if isinstance(k, KindSpec):
            return (k.module, k.attribute)
        return (type(k).__module__, type(k).__qualname__)

    return a == b or cls(a) == cls(b)


def _spec_of(kind: BudgetKind, like: KindSpec) -> KindSpec:
    return replace(
        like,
        name=kind.name,
        sections=tuple(kind.sections),
        result_kinds=tuple(kind.titles),
        bare_list_section=kind.bare_list_section,
        descriptive_parameters=kind.descriptive_parameters,
    )


class KindRegistry:
    def __init__(self) -> None:
        self._kinds: dict[str, BudgetKind | KindSpec] = {}
        self._sections: dict[str, str] = {}  # section -> kind name
        self._results: dict[str, str] = {}  # result kind -> kind name

    def register(self, kind: BudgetKind | KindSpec) -> None:
        """Add ``kind``; registering the same kind (same class) again changes nothing."""
        name = kind.name
        if isinstance(kind, KindSpec):
            sections, results = kind.sections, kind.result_kinds
        else:
            sections, results = tuple(kind.sections), tuple(kind.titles)
        known = self._kinds.get(name)
        if known is not None:
            if _same(known, kind):
                if isinstance(known, KindSpec) and not isinstance(kind, KindSpec):
                    self._kinds[name] = kind  # loaded already: no need to import it again
                return
            raise KindError(f"budget kind {name!r} is registered twice ({known!r}, {kind!r})")
        for text in (name, *results):
            if not _NAME.match(text):
                raise KindError(f"budget kind name {text!r}: use lower case, digits and '_'")
        for result_kind in results:
            if result_kind in self._results:
                raise KindError(
                    f"result kind {result_kind!r} of {name!r} belongs to "
                    f"{self._results[result_kind]!r}"
                )
        if not sections:
            raise KindError(f"budget kind {name!r} reads no section of a budget file")
        for section in sections:
            if section in self._sections:
                raise KindError(
                    f"section {section!r} of budget kind {name!r} is read by "
                    f"{self._sections[section]!r}"
                )
        self._kinds[name] = kind
        for section in sections:
            self._sections[section] = name
        for result_kind in results:
            self._results[result_kind] = name

    def get(self, name: str) -> BudgetKind:
        """The kind registered as ``name``, its module imported if it was not yet."""
        found = self._kinds[name]
        if isinstance(found, KindSpec):
            found = self._kinds[name] = found.load()
        return found

    def names(self) -> list[str]:
        """The kinds' names in registration order (the order budgets are evaluated)."""
        return list(self._kinds)

    def __iter__(self) -> Iterator[BudgetKind]:
        """Every kind in registration order (importing those not yet loaded)."""
        return (self.get(name) for name in self.names())

    @property
    def sections(self) -> Mapping[str, EntryParser]:
        """Top-level budget-file keys with their entry parsers, in collection order (a
        kind not yet loaded is loaded when its parser is first called)."""
        return {section: self._parser(section) for section in self._sections}

    def _parser(self, section: str) -> EntryParser:
        name = self._sections[section]
        found = self._kinds[name]
        if not isinstance(found, KindSpec):
            return found.sections[section]

        def parse(*args: Any) -> Budget | Sequence[Budget] | None:
            return self.get(name).sections[section](*args)

        return parse

    @property
    def list_section(self) -> str | None:
        """The section a bare-list budget file stands for, if a kind claims one."""
        return next(
            (k.bare_list_section for k in self._kinds.values() if k.bare_list_section), None
        )

    def of_budget(self, budget: Budget) -> BudgetKind:
        return self.of_result_kind(budget.kind)

    def of_result_kind(self, result_kind: str) -> BudgetKind:
        found = self.find(result_kind)
        if found is None:
            raise KindError(f"no budget kind produces {result_kind!r}")
        return found

    def find(self, result_kind: str) -> BudgetKind | None:
        name = self._results.get(result_kind)
        return None if name is None else self.get(name)

    # -- what the core asks of results ----------------------------------------------

    def decode_details(self, result_kind: str, data: Mapping[str, Any]) -> Details:
        """A result's details from its JSON keys; as read when no kind knows them."""
        kind = self.find(result_kind)
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
            kind = self.find(result.kind)
            found = [result.limit_warning(_title(kind, result))]
            if kind is not None:
                found.append(kind.warning(result))
            warning = "; ".join(w for w in found if w) or None
        return result if warning == result.warning else replace(result, warning=warning)

    def with_baseline(self, result: BudgetResult, old: BudgetResult | None) -> BudgetResult:
        """The kind's own comparison of a measured result with its baseline entry."""
        kind = self.find(result.kind)
        if kind is None or old is None or old.kind != result.kind:
            return result
        if result.used_bytes is None or old.used_bytes is None:
            return result
        return kind.with_baseline(result, old)

    def failure_text(self, result: BudgetResult, top_n: int) -> str:
        kind = self.find(result.kind)
        title = _title(kind, result)
        if result.error is not None:
            return render_error(result, title)
        if kind is None:  # pragma: no cover - a result of this run always has a kind
            return render_generic_failure(result, title, top_n)
        return kind.failure_text(result, top_n)

    def failure_line(self, result: BudgetResult) -> str:
        kind = self.find(result.kind)
        if kind is None or result.error is not None:
            return render_generic_line(result, _title(kind, result))
        return kind.failure_line(result)

    def breakdown(self, result: BudgetResult, top_n: int) -> Sequence[Breakdown]:
        """The top contributors of ``result`` as its kind gives them (a result of a kind
        no longer registered, read from a baseline: the generic ones)."""
        kind = self.find(result.kind)
        return generic_breakdown(result, top_n) if kind is None else kind.breakdown(result, top_n)

    @property
    def descriptive_parameters(self) -> frozenset[str]:
        out: frozenset[str] = frozenset()
        for kind in self._kinds.values():
            out |= kind.descriptive_parameters
        return out


def _title(kind: BudgetKind | None, result: BudgetResult) -> str:
    if kind is not None:
        return kind.title(result)
    return f"{result.kind.replace('_', ' ').capitalize()} {result.name!r}"
