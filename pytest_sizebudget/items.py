"""Budget files as pytest collectors, budgets as items.

Items are ``pytest.Function`` objects built with a ``callobj`` so that they take
fixtures exactly as user tests do: a ``conftest.py`` can override the session
fixtures (``sizebudget_evaluator``, ``sizebudget_blob_sizes``, ...) and the items use
the overrides.  A budget file that cannot be read becomes one failing item of its own
(pytest would otherwise stop the whole session on a collection error), so the other
files' budgets still run and reach the reports.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from .budget.model import BudgetFile
from .budget.parse import load_budget_file
from .errors import SizeBudgetError
from .evaluate import BudgetEvaluator, check_total
from .image_check import warning_text
from .keys import ITEM_REPORT, SETTINGS
from .report.baseline import Baseline, BaselineParameterWarning, compare, parameter_differences
from .report.failure import render_failure
from .report.model import BudgetResult, FileProblem

FILE_ITEM_NAME = "budget file"
TOTAL_ITEM_NAME = "total_budget_bytes"

_LINE = pytest.StashKey[int]()


class BudgetCheckFailed(SizeBudgetError):
    """A budget is over or could not be checked; the message is the whole failure text."""


class SizeBudgetWarning(pytest.PytestWarning):
    """A budget passes but is close to its limit (an image budget above its ``warn_at``).

    Turn it into a failure with ``-W error::pytest_sizebudget.plugin.SizeBudgetWarning``.
    """


class BudgetFileCollector(pytest.File):
    def collect(self) -> Iterator[pytest.Item]:
        settings = self.config.stash[SETTINGS]
        display = settings.display(self.path)
        try:
            bf = load_budget_file(self.path, display=display, root_override=settings.root)
        except SizeBudgetError as exc:
            problem = FileProblem(file=display, message=str(exc))
            yield self._item(FILE_ITEM_NAME, _problem_check(problem), 1)
            return
        for budget in bf.budgets:
            yield self._item(budget.name, _budget_check(bf, budget.key), budget.line)
        if bf.total is not None:
            yield self._item(TOTAL_ITEM_NAME, _total_check(bf), bf.total.line)

    def _item(self, name: str, check: Callable[..., None], line: int) -> BudgetItem:
        item = BudgetItem.from_parent(self, name=name, callobj=check)
        item.stash[_LINE] = line
        return item


class BudgetItem(pytest.Function):
    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, max(self.stash.get(_LINE, 1) - 1, 0), f"size budget: {self.name}"

    def repr_failure(
        self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None
    ) -> str | Any:
        if isinstance(excinfo.value, SizeBudgetError | SizeBudgetWarning):  # -W error::...
            return str(excinfo.value)
        return super().repr_failure(excinfo)


def _budget_check(bf: BudgetFile, key: str) -> Callable[..., None]:
    def check(
        request: pytest.FixtureRequest,
        sizebudget_evaluator: BudgetEvaluator,
        sizebudget_baseline: Baseline | None,
    ) -> None:
        __tracebackhide__ = True
        result = sizebudget_evaluator.result(bf, key)
        if sizebudget_baseline is not None:
            result = compare(result, sizebudget_baseline)
            _warn_parameters(request, sizebudget_baseline, result)
        _record(request, result)
        take_stats = getattr(sizebudget_evaluator.sizer, "take_stats", None)
        if callable(take_stats):
            # What this item's evaluation measured (only the first item of a file has any),
            # carried to the controller in the report so the totals are the same with -n.
            stats = take_stats().to_dict()
            if any(stats.values()):
                request.node.stash[ITEM_REPORT]["engine"] = stats
        if not result.passed:
            top_n = request.config.stash[SETTINGS].top_n
            raise BudgetCheckFailed(render_failure(result, top_n))
        warning = warning_text(result)
        if warning is not None:
            # Attributed to the budget's line, which the warnings summary then shows.
            warnings.warn_explicit(
                SizeBudgetWarning(warning), None, str(request.node.path), result.line
            )

    return check


def _record(request: pytest.FixtureRequest, result: BudgetResult) -> None:
    node = request.node
    node.stash[ITEM_REPORT] = {"result": result.to_dict()}
    if request.config.stash[SETTINGS].junit_properties:
        if result.used_bytes is not None:
            node.user_properties.append(("sizebudget.used_bytes", result.used_bytes))
        node.user_properties.append(("sizebudget.budget_bytes", result.budget_bytes))
        node.user_properties.append(("sizebudget.creep_budget_bytes", result.creep_budget_bytes))
        for key in ("download_bytes", "download_budget_bytes", "peak_bytes"):  # updates
            if isinstance(result.extra.get(key), int):
                node.user_properties.append((f"sizebudget.{key}", result.extra[key]))
        if result.baseline_used_bytes is not None:
            node.user_properties.append(
                ("sizebudget.baseline_used_bytes", result.baseline_used_bytes)
            )
        if result.delta_bytes is not None:
            node.user_properties.append(("sizebudget.delta_bytes", result.delta_bytes))
        if result.reserve_bytes:
            node.user_properties.append(("sizebudget.reserve_bytes", result.reserve_bytes))


def _warn_parameters(
    request: pytest.FixtureRequest, baseline: Baseline, result: BudgetResult
) -> None:
    from .session import SizeBudgetSession  # the run's tool parameters, as the report has them

    tool = SizeBudgetSession(request.config.stash[SETTINGS]).tool().get("parameters", {})
    differ = parameter_differences(baseline, result, tool)
    if differ:
        warnings.warn(
            BaselineParameterWarning(
                f"baseline {baseline.display} was measured with different size-determining "
                f"parameters than budget {result.name!r}: {'; '.join(differ)}"
            ),
            stacklevel=1,
        )


def _problem_check(problem: FileProblem) -> Callable[..., None]:
    def check(request: pytest.FixtureRequest) -> None:
        __tracebackhide__ = True
        request.node.stash[ITEM_REPORT] = {"problem": problem.to_dict()}
        raise BudgetCheckFailed(problem.message)

    return check


def _total_check(bf: BudgetFile) -> Callable[..., None]:
    def check(request: pytest.FixtureRequest) -> None:
        __tracebackhide__ = True
        problem = check_total(bf)
        if problem is not None:
            request.node.stash[ITEM_REPORT] = {"problem": problem.to_dict()}
            raise BudgetCheckFailed(problem.message)

    return check
