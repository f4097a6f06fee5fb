"""What a baseline must hold: every field that reading and comparing it uses, typed.

A baseline is user input (an artifact downloaded from another job, perhaps edited), so it
is checked as strictly as a budget file before anything reads it: a string, NaN or a
negative number where bytes belong crashed the summary, was copied into the new report,
or failed a creep check.  Errors name the key path (``budgets[3].used_bytes``).

Checked: ``schema_version``; ``tool`` and ``tool.parameters`` (objects); each budget's
common fields, ``packages`` with their ``blobs``, and the fields an earlier comparison
wrote (``baseline_used_bytes``, ``delta_bytes``, ``diff``).  Not checked: keys nothing
reads (``totals``, ``problems``, ``passed``), and the details a kind writes beside the
common fields: the comparison never reads them, and the kind registry keeps details it
cannot decode as they are (``RawDetails``), so that a report of another version of a kind
still compares.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

from pytest_sizebudget.budget.positions import KeyPath, dotted
from pytest_sizebudget.errors import shown

from .json_report import SCHEMA_VERSION


class SchemaError(Exception):
    def __init__(self, path: KeyPath, message: str) -> None:
        super().__init__(f"{dotted(path)}: {message}" if path else message)


Check = tuple[Callable[[Any], bool], str]


def _nni(v: Any) -> bool:
    return type(v) is int and v >= 0  # type() excludes booleans: true is not 1


STRING: Check = (lambda v: type(v) is str, "a string")
STRING_OR_NULL: Check = (lambda v: v is None or type(v) is str, "a string or null")
NNI: Check = (_nni, "a non-negative integer")
NNI_OR_NULL: Check = (lambda v: v is None or _nni(v), "a non-negative integer or null")
INT_OR_NULL: Check = (lambda v: v is None or type(v) is int, "an integer or null")
OBJECT: Check = (lambda v: type(v) is dict, "an object")
OBJECT_OR_NULL: Check = (lambda v: v is None or type(v) is dict, "an object or null")
LIST: Check = (lambda v: type(v) is list, "a list")
LIST_OR_NULL: Check = (lambda v: v is None or type(v) is list, "a list or null")

PERCENT: Check = (
    lambda v: type(v) in (int, float) and math.isfinite(v) and v >= 0,
    "a non-negative number",
)

_BUDGET: Mapping[str, Check] = {
    "name": STRING,
    "kind": STRING,
    "file": STRING,
    "line": NNI,
    "key": STRING,
    "budget_bytes": NNI,
    "creep_budget_bytes": NNI,
    "owner": STRING_OR_NULL,
    "used_bytes": NNI_OR_NULL,
    "error": STRING_OR_NULL,
    "fixed_bytes": NNI,
    "parameters": OBJECT,
    "packages": LIST,
}
_BUDGET_OPTIONAL: Mapping[str, Check] = {
    "reserve_bytes": NNI,
    "baseline": STRING_OR_NULL,
    "baseline_used_bytes": NNI_OR_NULL,
    "delta_bytes": INT_OR_NULL,  # a budget that shrank has a negative delta
    "diff": LIST_OR_NULL,
    # The limits every kind has: read back with the result, and its warning recomputed.
    "warn_at": PERCENT,
    "warn_bytes": NNI,
    "creep_budget_percent": PERCENT,
    "warning": STRING_OR_NULL,
}
_PACKAGE: Mapping[str, Check] = {
    "name": STRING,
    "manifest": STRING,
    "used_space_in_blobfs": NNI,
    "proportional_size": NNI,
    "blobs": LIST,
}
_BLOB: Mapping[str, Check] = {
    "merkle": STRING,
    "path": STRING,
    "size": NNI_OR_NULL,
    "share_count": NNI,
    "charged_bytes": NNI,
    "excluded_by": STRING_OR_NULL,
}
_CHANGE: Mapping[str, Check] = {
    "kind": STRING,
    "package": STRING,
    "path": STRING,
    "old_merkle": STRING_OR_NULL,
    "new_merkle": STRING_OR_NULL,
    "old_size": NNI_OR_NULL,
    "new_size": NNI_OR_NULL,
    "old_charged_bytes": NNI,
    "new_charged_bytes": NNI,
}


def check_report(data: dict[str, Any]) -> None:
    """Raises ``SchemaError`` at the first field (in key order) that is not as written."""
    version = data.get("schema_version")
    if type(version) is not int or version != SCHEMA_VERSION:
        raise SchemaError(
            (),
            f"schema_version {shown(version)} is not supported "
            f"(this version reads schema_version {SCHEMA_VERSION})",
        )
    tool = data.get("tool", {})
    if tool is not None:
        _check(tool, ("tool",), OBJECT)
        _check(tool.get("parameters"), ("tool", "parameters"), OBJECT_OR_NULL)
    if "budgets" not in data:
        raise SchemaError((), "missing key 'budgets'")
    budgets = _check(data["budgets"], ("budgets",), LIST)
    for i, budget in enumerate(budgets):
        path = ("budgets", i)
        _fields(budget, path, _BUDGET, _BUDGET_OPTIONAL)
        for j, package in enumerate(budget["packages"]):
            _fields(package, (*path, "packages", j), _PACKAGE)
            for k, blob in enumerate(package["blobs"]):
                _fields(blob, (*path, "packages", j, "blobs", k), _BLOB)
        for j, change in enumerate(budget.get("diff") or ()):
            _fields(change, (*path, "diff", j), _CHANGE)


def _check(value: Any, path: KeyPath, check: Check) -> Any:
    accepts, description = check
    if not accepts(value):
        raise SchemaError(path, f"expected {description}, got {shown(value)}")
    return value


def _fields(
    value: Any,
    path: KeyPath,
    required: Mapping[str, Check],
    optional: Mapping[str, Check] | None = None,
) -> None:
    obj = _check(value, path, OBJECT)
    for key, check in required.items():
        if key not in obj:
            raise SchemaError(path, f"missing key {key!r}")
        _check(obj[key], (*path, key), check)
    for key, check in (optional or {}).items():
        if key in obj:
            _check(obj[key], (*path, key), check)
