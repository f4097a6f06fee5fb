"""Budget files as pytest collectors, budgets as items.

Items are ``pytest.Function`` objects built with a ``callobj`` so that they take
fixtures exactly as user tests do: a ``conftest.py`` can override the session
fixtures (``sizebudget_evaluator``, ``sizebudget_blob_sizes``, ...) and the items use
the overrides.  A budget file that cannot be read becomes one failing item of its own
(pytest would otherwise stop the whole session on a collection error), so the other
files' budgets still run and reach the reports.

Each valid file first yields its measurement item, which evaluates the whole file
(measures its blobs, reads its images, does the accounting); its budget items then only
read the answers.  So ``--durations``, JUnit ``time`` and ``--timeout`` charge
measurement to the item that does it, not to whichever budget happens to come first.
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
from .evaluate import BudgetEvaluator, base_result, check_total
from .internal_error import unexpected_reason
from .keys import BUDGET, ITEM_REPORT, KINDS, SETTINGS
from .kinds.registry import KindRegistry
from .node_ids import FILE_ITEM_NAME, MEASURE_ITEM_NAME, TOTAL_ITEM_NAME, item_names, problem_check
from .report.baseline import Baseline, BaselineParameterWarning, compare, parameter_differences
from .report.model import BudgetResult, FileProblem

# Listings in --tb=short failure text are cut to this many entries.
SHORT_TOP = 3

_LINE = pytest.StashKey[int]()


class BudgetCheckFailed(SizeBudgetError):
    """A budget is over or could not be checked.

    The message is the whole failure text (``--tb=long``); ``short`` and ``line`` are the
    shorter forms.  All three are plain strings, rendered where the item ran.
    """

    def __init__(self, text: str, short: str | None = None, line: str | None = None) -> None:
        super().__init__(text)
        self.short = text if short is None else short
        self.line = (line if line is not None else text.splitlines()[0]) if text else ""


class SizeBudgetWarning(pytest.PytestWarning):
    """A budget passes but is close to its limit (an image budget above its ``warn_at``).

    Turn it into a failure with ``-W error::pytest_sizebudget.plugin.SizeBudgetWarning``.
    """


class BudgetFileCollector(pytest.File):
    def collect(self) -> Iterator[pytest.Item]:
        settings = self.config.stash[SETTINGS]
        display = settings.display(self.path)
        try:
            bf = load_budget_file(
                self.path,
                display=display,
                root_override=settings.root,
                kinds=self.config.stash[KINDS],
            )
        except SizeBudgetError as exc:
            problem = FileProblem(file=display, message=str(exc))
            yield self._item(FILE_ITEM_NAME, _problem_check(problem), 1)
            return
        yield self._item(MEASURE_ITEM_NAME, _measure(bf), 1)
        names = item_names(bf)
        for budget in bf.budgets:
            item = self._item(names[budget.key], _budget_check(bf, budget.key), budget.line)
            item.stash[BUDGET] = (bf, budget)
            yield item
        if bf.total is not None:
            yield self._item(TOTAL_ITEM_NAME, _total_check(bf), bf.total.line)

    def _item(self, name: str, check: Callable[..., None], line: int) -> BudgetItem:
        item = BudgetItem.from_parent(self, name=name, callobj=check)
        item.stash[_LINE] = line
        return item


class BudgetItem(pytest.Function):
    def reportinfo(self) -> tuple[Path, int, str]:
        what = "measurement" if self.name == MEASURE_ITEM_NAME else f"size budget: {self.name}"
        return self.path, max(self.stash.get(_LINE, 1) - 1, 0), what

    def unexpected_failure(
        self, excinfo: pytest.ExceptionInfo[BaseException]
    ) -> tuple[dict[str, Any], Any]:
        """What a report gets when this item failed without a verdict of its own.

        Anything raised while the item was set up or run that is not our verdict (a bug
        in the plugin or a kind, a ``conftest.py`` fixture that raises, a timeout
        plugin's ``pytest.fail``): a budget gets an error result and a file's other
        items a problem, so that every report keeps them; the failure text is one short
        message with what was raised and where, not a traceback of our internals.
        Returns the report's data and its ``longrepr``.
        """
        settings = self.config.stash[SETTINGS]
        exc = excinfo.value
        if isinstance(exc, SizeBudgetError):
            reason = str(exc)
        else:
            reason = unexpected_reason(exc, settings.display)
        budget = self.stash.get(BUDGET, None)
        if budget is None:
            problem = FileProblem(
                file=settings.display(self.path),
                check=problem_check(self.name),
                message=f"{settings.display(self.path)}: {self.name}: {reason}",
            )
            return {"problem": problem.to_dict()}, self._failure_repr(
                excinfo, BudgetCheckFailed(problem.message)
            )
        bf, b = budget
        kinds = self.config.stash[KINDS]
        result = base_result(bf, b, settings.owner_template).with_error(reason)
        failed = BudgetCheckFailed(
            kinds.failure_text(result, settings.top_n),
            line=kinds.failure_line(result),
        )
        return {"result": result.to_dict()}, self._failure_repr(excinfo, failed)

    def _failure_repr(
        self, excinfo: pytest.ExceptionInfo[BaseException], failed: BudgetCheckFailed
    ) -> Any:
        tb = self.config.getoption("tbstyle", "auto")
        if tb == "no":
            return ""
        if tb == "line":
            return _line_repr(excinfo, self, failed.line)
        return failed.short if tb == "short" else str(failed)

    def repr_failure(
        self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None
    ) -> str | Any:
        exc = excinfo.value
        if isinstance(exc, BudgetCheckFailed):
            return self._failure_repr(excinfo, exc)
        if isinstance(exc, SizeBudgetError | SizeBudgetWarning):  # -W error::...
            return str(exc)
        return super().repr_failure(excinfo)


def _line_repr(excinfo: pytest.ExceptionInfo[BaseException], item: BudgetItem, text: str) -> Any:
    """``--tb=line`` prints a report's crash location and message, which a plain string
    does not have: pytest's own representation with the budget's line as the crash, and
    no traceback (it also survives xdist's serialisation)."""
    path = item.config.stash[SETTINGS].display(item.path)
    lineno = item.stash.get(_LINE, 1)
    try:
        native: Any = excinfo.getrepr(style="native", chain=False)
        traceback, crash = native.reprtraceback, native.reprcrash
        traceback.reprentries = []  # pytest prints the crash line itself: no second copy
        return type(native)(reprtraceback=traceback, reprcrash=type(crash)(path, lineno, text))
    except (AttributeError, TypeError, ValueError, IndexError):  # pragma: no cover
        return f"{path}:{lineno}: {text}"  # another pytest's internals: the line as text


def _measure(bf: BudgetFile) -> Callable[..., None]:
    def measure(request: pytest.FixtureRequest, sizebudget_evaluator: BudgetEvaluator) -> None:
        __tracebackhide__ = True
        sizebudget_evaluator.evaluate(bf)
        # The file's notes travel with this item (one per file, also under xdist) to the
        # controller, which prints them with the summary.
        notes = {"notes": {"file": bf.display, "lines": list(bf.notes)}} if bf.notes else {}
        _record_stats(request, sizebudget_evaluator, notes)

    return measure


def _record_stats(
    request: pytest.FixtureRequest, evaluator: BudgetEvaluator, data: dict[str, Any]
) -> None:
    """What this item measured, carried to the controller in its report, so that the
    totals are the same with -n."""
    stats = evaluator.sizer.take_stats().to_dict()
    if any(stats.values()):
        data["engine"] = stats
    take_problem = getattr(evaluator.sizer, "take_remote_problem", None)
    problem = take_problem() if take_problem is not None else None
    if problem:
        data["remote_problem"] = problem
    if data:
        request.node.stash[ITEM_REPORT] = data


def _budget_check(bf: BudgetFile, key: str) -> Callable[..., None]:
    def check(
        request: pytest.FixtureRequest,
        sizebudget_evaluator: BudgetEvaluator,
        sizebudget_baseline: Baseline | None,
    ) -> None:
        __tracebackhide__ = True
        kinds = request.config.stash[KINDS]
        result = sizebudget_evaluator.result(bf, key)
        if sizebudget_baseline is not None:
            old = sizebudget_baseline.match(result.file, result.name)
            result = kinds.with_baseline(compare(result, sizebudget_baseline), old)
            # Creep may fail it now, and a failing budget does not warn.
            result = kinds.with_warning(result)
            _warn_parameters(request, sizebudget_baseline, result, kinds)
        _record(request, result, kinds)
        _record_stats(request, sizebudget_evaluator, request.node.stash[ITEM_REPORT])
        if not result.passed:
            top_n = request.config.stash[SETTINGS].top_n
            short_n = min(top_n, SHORT_TOP) if top_n > 0 else SHORT_TOP
            raise BudgetCheckFailed(
                kinds.failure_text(result, top_n),
                kinds.failure_text(result, short_n),
                kinds.failure_line(result),
            )
        if result.warning is not None:
            # Attributed to the budget's line, which the warnings summary then shows.
            warnings.warn_explicit(
                SizeBudgetWarning(result.warning), None, str(request.node.path), result.line
            )

    return check


def _record(request: pytest.FixtureRequest, result: BudgetResult, kinds: KindRegistry) -> None:
    node = request.node
    # The result itself: the report hook turns it into a dict only when it has to cross
    # to another process (an xdist worker's report).
    node.stash[ITEM_REPORT] = {"result": result}
    if request.config.stash[SETTINGS].junit_properties:
        if result.used_bytes is not None:
            node.user_properties.append(("sizebudget.used_bytes", result.used_bytes))
        node.user_properties.append(("sizebudget.budget_bytes", result.budget_bytes))
        node.user_properties.append(("sizebudget.creep_budget_bytes", result.creep_budget_bytes))
        # ok, warn, over, creep or error: the verdict every report shows.
        node.user_properties.append(("sizebudget.status", result.status.value))
        for key, value in kinds.of_result_kind(result.kind).junit_properties(result):
            node.user_properties.append((f"sizebudget.{key}", value))
        if result.baseline_used_bytes is not None:
            node.user_properties.append(
                ("sizebudget.baseline_used_bytes", result.baseline_used_bytes)
            )
        if result.delta_bytes is not None:
            node.user_properties.append(("sizebudget.delta_bytes", result.delta_bytes))
        if result.reserve_bytes:
            node.user_properties.append(("sizebudget.reserve_bytes", result.reserve_bytes))


def _warn_parameters(
    request: pytest.FixtureRequest, baseline: Baseline, result: BudgetResult, kinds: KindRegistry
) -> None:
    from .session import SizeBudgetSession  # the run's tool parameters, as the report has them

    tool = SizeBudgetSession(request.config.stash[SETTINGS], kinds).tool().get("parameters", {})
    differ = parameter_differences(baseline, result, tool, kinds.descriptive_parameters)
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
        problem = check_total(bf, request.config.stash[KINDS])
        if problem is not None:
            request.node.stash[ITEM_REPORT] = {"problem": problem.to_dict()}
            raise BudgetCheckFailed(problem.message)

    return check
