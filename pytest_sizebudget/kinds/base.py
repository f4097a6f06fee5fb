"""The budget-kind protocol: everything the core needs to know about one kind of budget.

A kind is one object (an instance of a ``BudgetKind`` subclass) that owns, for the
budgets it parses:

- ``sections``: the top-level keys of a budget file it reads, each with its entry parser;
- ``evaluate``: all of a file's budgets of this kind at once, from an
  ``EvaluationContext`` (sizes, packages, display paths), into ``BudgetResult``s;
- ``details_from_dict``: its typed result details (a frozen ``Details`` dataclass) back
  from a JSON report, for baselines and for results carried from xdist workers;
- ``failure_text``/``failure_line``, ``warning``, ``junit_properties``, ``html_panel``,
  ``breakdown`` (top contributors as tables, for the Markdown report), ``joins_total``,
  ``descriptive_parameters``.

Every method but ``evaluate`` and the parsers has a default, so a small kind is a parser,
an evaluator and its ``Budget`` subclass.  The core (collection, items, the evaluation
loop, reports, baselines) only ever calls this protocol, through a ``KindRegistry``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from pytest_sizebudget.budget.fields import FieldReader, KeyPath
from pytest_sizebudget.budget.model import Budget, BudgetFile
from pytest_sizebudget.measure.sizer import BlobSizer
from pytest_sizebudget.packages.blob_sizes import BlobSizeStore
from pytest_sizebudget.packages.loader import PackageLoader
from pytest_sizebudget.report.breakdown import Breakdown, generic_breakdown
from pytest_sizebudget.report.failure import render_generic_failure, render_generic_line
from pytest_sizebudget.report.model import BudgetResult, Details, HtmlPanel, NoDetails

EntryParser = Callable[
    [FieldReader, Mapping[str, Any], KeyPath, Path], Budget | Sequence[Budget] | None
]
"""``(reader, entry, key path, root) -> Budget | None``: one entry of a section; problems
go to the reader (with their key and position), and None means the entry was invalid.
An entry that stands for several budgets (an ELF file's memory regions, each its own
item) returns them all, each with a key of its own."""


_B = TypeVar("_B", bound=Budget)


def entry_groups(
    budgets: Sequence[Budget], budget_type: type[_B], entry_key: Callable[[_B], str]
) -> list[list[_B]]:
    """The budgets of ``budget_type``, grouped by the entry that made them (an entry may
    stand for several budgets, measured together), in their order."""
    groups: dict[str, list[_B]] = {}
    for b in budgets:
        if isinstance(b, budget_type):
            groups.setdefault(entry_key(b), []).append(b)
    return list(groups.values())


@dataclass(frozen=True, slots=True)
class EvaluationContext:
    """What a kind may use to evaluate a file's budgets (never the evaluator itself)."""

    blob_sizes: BlobSizeStore  # blobs.json files, each parsed once per process
    sizer: BlobSizer  # measures, hashes and verifies blobs (the cache lives behind it)
    packages: PackageLoader  # reads each package of the file once
    display: Callable[[Path], str]  # how reports name a path


class BudgetKind:
    """Base class of every budget kind; subclasses set the class attributes below."""

    name: ClassVar[str]  # e.g. "image"; unique in a registry
    # Result kinds this kind produces (``Budget.kind``/``BudgetResult.kind``) and their
    # titles in failure text; most kinds produce one, named like the kind.
    titles: ClassVar[Mapping[str, str]]
    # The top-level keys of a budget file that it reads, in collection order.
    sections: ClassVar[Mapping[str, EntryParser]]
    # The section that a budget file which is a bare list means (ffx's V0 format).
    bare_list_section: ClassVar[str | None] = None
    # Parameters that say what the numbers mean without changing them: a baseline that
    # differs in these is not measured differently.
    descriptive_parameters: ClassVar[frozenset[str]] = frozenset()

    def evaluate(
        self,
        context: EvaluationContext,
        budget_file: BudgetFile,
        budgets: Sequence[Budget],
        base: Mapping[str, BudgetResult],
    ) -> Mapping[str, BudgetResult]:
        """Results of ``budgets`` (this kind's, in file order), by budget key.

        ``base`` holds each budget's result before measurement (name, file, line, limits,
        owner).  A ``SizeBudgetError`` raised here fails every budget of this call with
        its message; a budget missing from the answer fails as unevaluated.
        """
        raise NotImplementedError

    def with_baseline(self, result: BudgetResult, old: BudgetResult) -> BudgetResult:
        """``result``, compared with its entry ``old`` in the baseline, with the kind's
        own comparison in its details (an ELF region's sections and objects, a super
        partition's partitions and groups); called
        after the core filled in the common baseline fields.  Default: nothing more."""
        return result

    def joins_total(self, budget: Budget) -> bool:
        """Whether ``budget_bytes`` counts towards the file's ``total_budget_bytes``."""
        return True

    def details_from_dict(self, data: Mapping[str, Any]) -> Details:
        """The typed details of a result from the JSON keys ``Details.to_dict`` wrote."""
        return NoDetails()

    def failure_text(self, result: BudgetResult, top_n: int) -> str:
        """What a failed budget shows (``--tb=long``); ``top_n`` limits every listing."""
        return render_generic_failure(result, self.title(result), top_n)

    def failure_line(self, result: BudgetResult) -> str:
        """The one line of ``--tb=line``: the verdict, without the location."""
        return render_generic_line(result, self.title(result))

    def warning(self, result: BudgetResult) -> str | None:
        """A warning for a budget that passes but is close to its limit, if any."""
        return None

    def junit_properties(self, result: BudgetResult) -> Sequence[tuple[str, int]]:
        """Properties besides the common ones (``used_bytes``, ``budget_bytes``, ...)."""
        return ()

    def html_panel(self, result: BudgetResult) -> HtmlPanel:
        """How the HTML report draws the budget: a treemap of its packages when it has
        any, else its key figures and a bar of what it uses."""
        return HtmlPanel.generic(result)

    def breakdown_text(self, result: BudgetResult) -> str | None:
        """Its text for ``--sizebudget-breakdown`` (ffx's size breakdown), if the kind has one."""
        return None

    def verbose_json(self, result: BudgetResult) -> dict[str, Any] | None:
        """Its entry in ``--sizebudget-verbose-json`` (ffx's verbose JSON), if any."""
        return None

    def breakdown(self, result: BudgetResult, top_n: int) -> Sequence[Breakdown]:
        """The top contributors of a failing budget, as tables (``top_n`` rows each, 0:
        all): by default what changed since the baseline, then its largest packages and
        blobs, as far as the result has them."""
        return generic_breakdown(result, top_n)

    def title(self, result: BudgetResult) -> str:
        kind = self.titles.get(result.kind, result.kind.replace("_", " ").capitalize())
        return f"{kind} {result.name!r}"
