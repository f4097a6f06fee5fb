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

from pytest_sizebudget.errors import InputError
from pytest_sizebudget.paths import PathProblem, check_path

from .diff import diff_packages
from .json_report import SCHEMA_VERSION
from .model import MATCHED, NEW, BudgetResult

if TYPE_CHECKING:
    from pytest_sizebudget.kinds.registry import KindRegistry

# Tool parameters that say what the numbers mean but do not change them ("blobfs_layouts"
# lists the run's layouts; each budget's own "blobfs_layout" is compared).  Kinds name
# their own such parameters (``BudgetKind.descriptive_parameters``).
_NOT_SIZE_DETERMINING = frozenset({"blob_sizes", "blobfs_layouts"})


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
        raise BaselineError(f"baseline {exc.shown}: cannot read: {exc.problem}") from None
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise BaselineError(f"baseline {shown}: cannot read: {reason}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BaselineError(
            f"baseline {shown}:{exc.lineno}:{exc.colno}: not JSON: {exc.msg}"
        ) from None
    if not isinstance(data, dict) or "schema_version" not in data:
        raise BaselineError(
            f"baseline {shown}: not a pytest-sizebudget JSON report (no schema_version); "
            "write one with --sizebudget-json"
        )
    version = data["schema_version"]
    if version != SCHEMA_VERSION:
        raise BaselineError(
            f"baseline {shown}: schema_version {version!r} is not supported "
            f"(this version reads schema_version {SCHEMA_VERSION})"
        )
    try:
        budgets = tuple(kinds.result_from_dict(b) for b in data["budgets"])
        tool = dict(data.get("tool") or {})
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise BaselineError(f"baseline {shown}: malformed budget entry: {exc!r}") from None
    return Baseline(display=shown, tool=tool, budgets=budgets)


def compare(result: BudgetResult, baseline: Baseline) -> BudgetResult:
    """``result`` with its baseline fields filled in."""
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
