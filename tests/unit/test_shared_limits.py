"""``warn_at``, ``warn_bytes`` and ``creep_budget_percent``: limits every kind has, read and
judged by the core, never by a kind (a kind's parser does not even see the keys)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from pytest_sizebudget.budget.parse import load_budget_file
from pytest_sizebudget.errors import SizeBudgetError
from pytest_sizebudget.kinds.builtin import builtin_kinds
from pytest_sizebudget.report.gerrit import creep_budget, gerrit_report
from pytest_sizebudget.report.model import BudgetResult, Status

KINDS = builtin_kinds()
LIMITS = {"warn_at": 90, "warn_bytes": "900 B", "creep_budget_percent": 5}
# One entry of every built-in kind, with what it needs besides the shared keys.
ENTRIES: dict[str, dict[str, Any]] = {
    "package_set_budgets": {"budget_bytes": 1000, "packages": ["p.json"]},
    "resource_budgets": {"budget_bytes": 1000, "paths": ["data/x"]},
    "image_budgets": {"budget_bytes": 1000, "image": "boot.img"},
    "product_budgets": {"max_contents_bytes": 1000, "packages": ["p.json"]},
    "update_budgets": {
        "capacity_bytes": 1000,
        "from": {"packages": ["p.json"]},
        "to": {"packages": ["p.json"]},
    },
}


def load(tmp_path: Path, content: object) -> Any:
    path = tmp_path / "b.json5"
    path.write_text(json.dumps(content))
    return load_budget_file(path, display="b.json5")


def problems(tmp_path: Path, content: object) -> str:
    with pytest.raises(SizeBudgetError) as excinfo:
        load(tmp_path, content)
    return str(excinfo.value)


@pytest.mark.parametrize("section", sorted(ENTRIES))
def test_every_kind_takes_the_shared_keys(tmp_path: Path, section: str) -> None:
    entry = {"name": "X", **ENTRIES[section], **LIMITS}
    (budget,) = load(tmp_path, {section: [entry]}).budgets
    assert (budget.warn_at, budget.warn_bytes, budget.creep_budget_percent) == (90.0, 900, 5.0)
    # Not given: None, and the kind's other fields as they were.
    (plain,) = load(tmp_path, {section: [{"name": "X", **ENTRIES[section]}]}).budgets
    assert (plain.warn_at, plain.warn_bytes, plain.creep_budget_percent) == (None, None, None)
    assert replace(budget, warn_at=None, warn_bytes=None, creep_budget_percent=None) == plain


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"warn_at": 101}, "warn_at: must be a percentage between 0 and 100, got 101"),
        ({"warn_at": "95%"}, "warn_at: expected a percentage (a number such as 95), got a string"),
        ({"warn_at": True}, "expected a percentage (a number such as 95), got a boolean"),
        ({"warn_bytes": -1}, "warn_bytes: size must not be negative, got -1"),
        (
            {"warn_bytes": 1000},
            "warn_bytes (1,000) is not below the budget (1,000): it could never warn",
        ),
        (
            {"creep_budget_percent": -5},
            "creep_budget_percent: must be a percentage of at least 0, got -5",
        ),
        (
            {"creep_budget_percent": 5, "creep_budget_bytes": 0},
            "creep_budget_percent: creep_budget_bytes is 0, so no growth is allowed whatever the "
            "percentage (the stricter limit applies): remove one of them",
        ),
        ({"warn_att": 95}, "unknown key 'warn_att' (did you mean 'warn_at'?)"),
    ],
)
def test_bad_shared_keys_name_the_key(tmp_path: Path, fields: dict[str, Any], message: str) -> None:
    entry = {"name": "A", "budget_bytes": 1000, "packages": ["p"], **fields}
    text = problems(tmp_path, {"package_set_budgets": [entry]})
    assert "package_set_budgets[0]." in text
    assert message in text


def test_bad_shared_keys_are_reported_with_the_kinds_own_problems(tmp_path: Path) -> None:
    entry = {"name": "A", "budget_bytes": "lots", "packages": ["p"], "warn_at": 200}
    text = problems(tmp_path, {"package_set_budgets": [entry]})
    assert "warn_at: must be a percentage" in text
    assert "budget_bytes:" in text


BASE = BudgetResult(
    name="S",
    kind="package_set",
    file="b.json5",
    line=2,
    key="package_set_budgets[0]",
    budget_bytes=1000,
    used_bytes=500,
)


@pytest.mark.parametrize(
    ("used", "reserve", "warn_at", "warn_bytes", "warns"),
    [
        (900, 0, 90, None, False),  # at the threshold: not above it
        (901, 0, 90, None, True),
        (850, 60, 90, None, True),  # the reserve counts as used
        (800, 0, None, 800, False),
        (801, 0, None, 800, True),
        (801, 0, 95, 800, True),  # either limit
        (1001, 0, 10, 10, False),  # over budget: a failure, not a warning
        (500, 0, None, None, False),
    ],
)
def test_warnings_come_from_the_core_for_every_kind(
    used: int, reserve: int, warn_at: float | None, warn_bytes: int | None, warns: bool
) -> None:
    for kind in ("package_set", "resource", "image", "product", "update"):
        result = KINDS.with_warning(
            replace(
                BASE,
                kind=kind,
                used_bytes=used,
                reserve_bytes=reserve,
                warn_at=warn_at,
                warn_bytes=warn_bytes,
            )
        )
        assert (result.warning is not None) == warns, kind
        assert (result.status is Status.WARN) == warns
        assert result.passed == (used + reserve <= 1000)
    both = KINDS.with_warning(replace(BASE, used_bytes=950, warn_at=90, warn_bytes=900))
    assert both.warning == (
        "Package set 'S' is at 95.0% of its budget, above warn_at 90% and warn_bytes 900 B: "
        "used 950 B of 1,000 B (b.json5:2)"
    )


def test_warning_round_trips_and_is_recomputed() -> None:
    result = KINDS.with_warning(replace(BASE, used_bytes=950, warn_at=90))
    data = result.to_dict()
    assert (data["status"], data["warn_at"], data["remaining_bytes"]) == ("warn", 90, 50)
    assert "warn_bytes" not in data  # only the limits given
    assert KINDS.result_from_dict(data) == result
    # A report edited (or of another version) that says otherwise is not believed.
    assert KINDS.result_from_dict({**data, "warning": "stale"}) == result
    assert KINDS.result_from_dict({**data, "warn_at": 99}).warning is None


@pytest.mark.parametrize(
    ("creep_bytes", "percent", "baseline", "used", "limit", "exceeded"),
    [
        (0, None, 1000, 1001, 0, True),  # no creep budget: no growth
        (100, None, 1000, 1100, 100, False),
        (0, 5, 1000, 1050, 50, False),  # 5% of 1,000
        (0, 5, 1000, 1051, 50, True),
        (0, 5, 1999, 2099, 99, True),  # 99.95 rounds down: a limit never allows more
        (30, 5, 1000, 1031, 30, True),  # both: the stricter (bytes)
        (80, 5, 1000, 1051, 50, True),  # both: the stricter (percent)
        (80, 5, 1000, 1050, 50, False),
    ],
)
def test_creep_percent_and_bytes(
    creep_bytes: int,
    percent: float | None,
    baseline: int,
    used: int,
    limit: int,
    exceeded: bool,
) -> None:
    result = replace(
        BASE,
        budget_bytes=10_000,
        used_bytes=used,
        creep_budget_bytes=creep_bytes,
        creep_budget_percent=percent,
        baseline="matched",
        baseline_used_bytes=baseline,
        delta_bytes=used - baseline,
    )
    assert result.creep_limit_bytes == limit
    assert result.creep_exceeded == exceeded
    assert result.status is (Status.CREEP if exceeded else Status.OK)
    data = result.to_dict()
    if percent is not None:
        assert (data["creep_budget_percent"], data["creep_limit_bytes"]) == (percent, limit)
    assert "creep_limit_bytes" in data or percent is None
    assert KINDS.result_from_dict(data) == result
    # A budget that fails its creep check does not warn, however close to its budget.
    near = KINDS.with_warning(replace(result, warn_at=0))
    assert (near.warning is None) == exceeded
    # Gerrit's .creepBudget: the limit the check applied, in bytes.
    assert gerrit_report([result])["S.creepBudget"] == limit


def test_creep_percent_without_baseline() -> None:
    result = replace(BASE, used_bytes=1050, budget_bytes=2000, creep_budget_percent=5)
    assert result.creep_limit_bytes is None
    assert not result.creep_exceeded
    # Gerrit: growth above u * p / (100 + p) is more than p% of the base, whatever it was.
    assert creep_budget(result) == 50
    for base in range(900, 1100):
        for used in (base + base * 5 // 100, base + base * 5 // 100 + 1):
            grew = used - base
            over_percent = grew > base * 5 // 100
            over_gerrit = grew > creep_budget(replace(result, used_bytes=used))
            # Rounding may differ by a byte at the edge, never more.
            assert over_percent == over_gerrit or abs(grew - base * 5 / 100) <= 1
    assert creep_budget(replace(result, creep_budget_bytes=10)) == 10  # stricter bytes
