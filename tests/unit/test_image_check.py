"""Image budget results without pytest: the reserve in the verdict, warn_at, round trips."""

from __future__ import annotations

from dataclasses import replace

import pytest

from pytest_sizebudget.images import ImageSizes
from pytest_sizebudget.kinds.builtin import builtin_kinds
from pytest_sizebudget.kinds.image import ImageDetails
from pytest_sizebudget.report.gerrit import gerrit_report
from pytest_sizebudget.report.model import BudgetResult

KINDS = builtin_kinds()
IMAGE = ImageSizes(format="raw", file_bytes=900, expanded_bytes=900, data_bytes=900)
BASE = BudgetResult(
    name="boot",
    kind="image",
    file="i.json5",
    line=3,
    key="image_budgets[0]",
    budget_bytes=1000,
    used_bytes=900,
    reserve_bytes=50,
    parameters={"format": "auto", "images": ["boot.img"]},
    warn_at=90,
    details=ImageDetails(IMAGE, reserve_bytes=50),
)


def test_reserve_counts_against_the_budget() -> None:
    assert BASE.passed
    assert BASE.over_by == -50
    over = replace(BASE, used_bytes=951)
    assert not over.passed
    assert over.over_by == 1
    assert replace(BASE, used_bytes=950).passed


def test_round_trip_keeps_the_reserve() -> None:
    d = BASE.to_dict()
    assert d["reserve_bytes"] == 50
    assert d["image"] == {**IMAGE.to_dict(), "reserve_bytes": 50}
    assert d["image"]["format"] == "raw"
    assert BudgetResult.from_dict(d, KINDS.decode_details) == BASE
    plain = replace(BASE, reserve_bytes=0)
    assert "reserve_bytes" not in plain.to_dict()
    assert BudgetResult.from_dict(plain.to_dict(), KINDS.decode_details) == plain


@pytest.mark.parametrize(
    ("used", "warn_at", "warns"),
    [(850, 90, False), (851, 90, True), (950, 90, True), (951, 90, False), (900, None, False)],
)
def test_warn_at_is_strictly_above_and_only_when_passing(
    used: int, warn_at: float | None, warns: bool
) -> None:
    result = KINDS.with_warning(replace(BASE, used_bytes=used, warn_at=warn_at))
    text = result.warning
    assert (text is not None) == warns
    assert result.status.value == ("warn" if warns else "ok" if result.passed else "over")
    if text is not None:
        assert text.startswith(f"Image budget 'boot' is at {100 * (used + 50) / 1000:.1f}%")
        assert f"used {used:,} B + reserve 50 B of 1,000 B (i.json5:3)" in text


def test_every_kind_warns_alike() -> None:
    # warn_at is the core's: a package set with the same numbers warns the same way.
    image = KINDS.with_warning(replace(BASE, used_bytes=940)).warning
    package_set = KINDS.with_warning(replace(BASE, kind="package_set", used_bytes=940)).warning
    assert image is not None
    assert package_set is not None
    assert package_set == image.replace("Image budget", "Package set")


def test_gerrit_budget_leaves_the_reserve_out() -> None:
    assert gerrit_report([BASE]) == {"boot": 900, "boot.budget": 950, "boot.creepBudget": 0}
