"""Baselines: the JSON report of an earlier run, and comparing this run's budgets with it.

A budget is matched to the baseline by (file, name), else by name alone when exactly one
baseline budget has that name (a budget file that moved).  A matched budget gains
``baseline_used_bytes``, ``delta_bytes`` and a blob-level diff; one with no match is
*new*.  Baseline budgets that nothing matched are *gone*.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_sizebudget.budget.limits import first_problem
from pytest_sizebudget.budget.positions import LineIndex, dotted
from pytest_sizebudget.errors import InputError
from pytest_sizebudget.paths import PathProblem, check_path

from .baseline_schema import SchemaError, check_report
from .diff import diff_packages
from .model import MATCHED, NEW, BudgetResult

if TYPE_CHECKING:
    from pytest_sizebudget.kinds.registry import KindRegistry

# Tool parameters that say what the numbers mean but do not change them ("blobfs_layouts"
# lists the run's layouts; each budget's own "blobfs_layout" is compared).  Kinds name
# their own such parameters (``BudgetKind.descriptive_parameters``).
# Run-wide summaries of what each budget records itself (compared budget by budget).
_NOT_SIZE_DETERMINING = frozenset(
    {"blob_sizes", "blobfs_layouts", "sharing_modes", "sharing_default"}
)

# Strings of a report can be long (an error that lists many files); only huge is refused.
_MAX_STRING = 1 << 20


class BaselineParameterWarning(UserWarning):
    """The baseline was measured with other size-determining parameters than this run."""


class BaselineError(InputError):
    """The baseline file cannot be used (unreadable, not JSON, another schema)."""


@dataclass(frozen=True, slots=True)
class Baseline:
    display: str  # how messages name the file
    tool: Mapping[str, Any]
    budgets: tuple[BudgetResult, ...]

    def match(self, file: str, name: str) -> BudgetResult | None:
        for b in self.budgets:
            if (b.file, b.name) == (file, name):
                return b
        by_name = [b for b in self.budgets if b.name == name]
        return by_name[0] if len(by_name) == 1 else None

    def gone(self, results: Iterable[BudgetResult]) -> list[BudgetResult]:
        """Baseline budgets that no budget of this run matched."""
        matched = {id(m) for r in results if (m := self.match(r.file, r.name)) is not None}
        return [b for b in self.budgets if id(b) not in matched]


def load_baseline(
    path: Path, display: str | None = None, kinds: KindRegistry | None = None
) -> Baseline:
    """Read a JSON report; ``kinds`` decode each budget's details (default: built-in)."""
    if kinds is None:
        from pytest_sizebudget.kinds.builtin import builtin_kinds

        kinds = builtin_kinds()
    shown = display or path.as_posix()
    try:
        check_path(path, shown)  # a FIFO would block the read, /dev/zero never end it
    except PathProblem as exc:
        raise BaselineError(f"baseline {exc.shown}: {exc.problem}") from None
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise BaselineError(f"baseline {shown}: cannot read: {reason}") from None
    data = _parse(text, shown)
    if not isinstance(data, dict) or "schema_version" not in data:
        raise BaselineError(
            f"baseline {shown}: not a pytest-sizebudget JSON report (no schema_version); "
            "write one with --sizebudget-json"
        )
    try:
        check_report(data)
    except SchemaError as exc:
        raise BaselineError(f"baseline {shown}: {exc}") from None
    # Checked: from here nothing can fail on a field's type.
    budgets = tuple(kinds.result_from_dict(b) for b in data["budgets"])
    tool = dict(data.get("tool") or {})
    return Baseline(display=shown, tool=tool, budgets=budgets)


class _Duplicate(Exception):
    pass


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        raise _Duplicate
    return out


def _parse(text: str, shown: str) -> Any:
    """The JSON value of a baseline, within the budget-file limits, NaN refused."""
    try:
        data = json.loads(text, object_pairs_hook=_no_duplicates)
    except json.JSONDecodeError as exc:
        raise BaselineError(
            f"baseline {shown}:{exc.lineno}:{exc.colno}: not JSON: {exc.msg}"
        ) from None
    except (_Duplicate, ValueError, RecursionError):
        # A repeated key, an integer of more than 4300 digits, nesting deeper than json's
        # scanner goes: the JSON5 parser finds which, and where.
        raise _located(text, shown) from None
    problem = first_problem(data, max_string=_MAX_STRING, finite=True)
    if problem is not None:
        where, message = problem
        raise BaselineError(
            f"baseline {shown}: {dotted(where)}: {message}"
            if where
            else f"baseline {shown}: {message}"
        )
    return data


def _located(text: str, shown: str) -> BaselineError:
    # Only for a baseline json cannot read: the JSON5 parser says where it breaks.
    from pytest_sizebudget.budget.json5_parser import Json5SyntaxError, parse_json5

    try:
        parse_json5(text, max_string=_MAX_STRING)
    except Json5SyntaxError as exc:
        pos = LineIndex(text).position(exc.offset)
        where = f"baseline {shown}:{pos.line}:{pos.column}"
        if exc.path is not None:
            return BaselineError(f"{where}: {dotted(exc.path)}: {exc.message}")
        return BaselineError(f"{where}: invalid JSON: {exc.message}")
    return BaselineError(f"baseline {shown}: cannot be read as JSON")  # pragma: no cover


def compare(result: BudgetResult, baseline: Baseline) -> BudgetResult:
    """``result`` with its baseline fields filled in, unless its kind compared it already
    (a package set whose Yocto packages name an earlier buildhistory tree)."""
    if result.baseline is not None:
        return result
    old = baseline.match(result.file, result.name)
    if old is None:
        return replace(result, baseline=NEW)
    if result.used_bytes is None or old.used_bytes is None:
        return replace(result, baseline=MATCHED, baseline_used_bytes=old.used_bytes)
    return replace(
        result,
        baseline=MATCHED,
        baseline_used_bytes=old.used_bytes,
        delta_bytes=result.used_bytes - old.used_bytes,
        diff=diff_packages(old.packages, result.packages),
    )


def parameter_differences(
    baseline: Baseline,
    result: BudgetResult,
    tool_parameters: Mapping[str, Any],
    descriptive: frozenset[str] = frozenset(),
) -> list[str]:
    """Size-determining parameters that differ, as ``key: now (baseline: then)``.

    Compares the tool's parameters (zstd level, libzstd version, ... when the run records
    them) and the budget's own (sharing, blobfs layout); a key only one side has is not a
    difference, so baselines of older versions compare on what they recorded.
    """
    out: list[str] = []
    old = baseline.match(result.file, result.name)
    pairs: Sequence[tuple[Mapping[str, Any], Mapping[str, Any]]] = [
        (tool_parameters, baseline.tool.get("parameters") or {}),
        (result.parameters, old.parameters if old is not None else {}),
    ]
    for now, then in pairs:
        for key in sorted(set(now) & set(then) - _NOT_SIZE_DETERMINING - descriptive):
            if now[key] != then[key]:
                out.append(f"{key}: {now[key]} (baseline: {then[key]})")
    return out
