"""Warnings and relative creep limits as a user meets them: one budget file, two runs."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from typing import Any

import pytest

from tests.conftest import Product, fake_merkle

APP, LIB, NEW = (fake_merkle(x) for x in ("A", "L", "N"))
WARNING = "pytest_sizebudget.plugin.SizeBudgetWarning"


def build(product: Product, *, grown: bool) -> None:
    """'Near' uses 9,500 of 10,000 B; the change adds 600 B to 'Relative' (10,000 B)."""
    product.manifest("near", [("bin/app", APP)], filename="near.json")
    blobs = [("lib/lib.so", LIB)] + ([("lib/new.so", NEW)] if grown else [])
    product.manifest("rel", blobs, filename="rel.json")
    budgets: list[dict[str, Any]] = [
        {
            "name": "Near",
            "budget_bytes": 10_000,
            "warn_at": 90,
            "warn_bytes": 9_000,
            "packages": ["near.json"],
        },
        {
            "name": "Relative",
            "budget_bytes": "1 MiB",
            "creep_budget_percent": 5,
            "packages": ["rel.json"],
        },
        {
            "name": "Both",
            "budget_bytes": "1 MiB",
            "creep_budget_percent": 10,
            "creep_budget_bytes": 500,
            "packages": ["rel.json"],
        },
    ]
    product.budget_file(
        {
            "blob_sizes": [product.blobs_json({APP: 9_500, LIB: 10_000, NEW: 600})],
            "sharing": "per_set",
            "package_set_budgets": budgets,
        }
    )


@pytest.mark.filterwarnings(f"default::{WARNING}")
@pytest.mark.parametrize("xdist_args", [[], ["-n", "2"]], ids=["no-xdist", "n2"])
def test_warn_and_relative_creep_in_every_report(
    pytester: pytest.Pytester, pt_product: Product, xdist_args: list[str]
) -> None:
    build(pt_product, grown=False)
    base = pytester.runpytest(
        "--sizebudget", "--sizebudget-json=base.json", "-W", f"default::{WARNING}", *xdist_args
    )
    base.assert_outcomes(passed=4, warnings=1)
    base.stdout.fnmatch_lines(
        [
            "*SizeBudgetWarning: Package set 'Near' is at 95.0% of its budget, above warn_at 90% "
            "and warn_bytes 9,000 B: used 9,500 B of 10,000 B*",
        ]
    )
    (line,) = [x for x in base.outlines if x.startswith("Near ")]
    assert line.split()[-1] == "WARN"
    assert "3 budgets checked: 0 over budget, 0 could not be checked, 1 with a warning" in (
        base.outlines
    )

    build(pt_product, grown=True)
    result = pytester.runpytest(
        "--sizebudget",
        "--sizebudget-baseline=base.json",
        "--sizebudget-json=new.json",
        "--sizebudget-gerrit=gerrit.json",
        "--junitxml=j.xml",
        "-o",
        "junit_family=legacy",
        "-W",
        f"default::{WARNING}",
        *xdist_args,
    )
    # Relative: +600 B > 5% of 10,000 B.  Both: 10% would allow 1,000 B, but 500 B is stricter.
    result.assert_outcomes(passed=2, failed=2, warnings=1)
    result.stdout.fnmatch_lines(
        [
            "Package set 'Relative' grew by 600 B since the baseline, over its creep budget of "
            "500 B (5% of the baseline) by 100 B",
            "Package set 'Both' grew by 600 B since the baseline, over its creep budget of "
            "500 B (10% of the baseline is 1,000 B; creep_budget_bytes is stricter) by 100 B",
        ]
    )
    report = {b["name"]: b for b in json.loads((pytester.path / "new.json").read_text())["budgets"]}
    assert {n: b["status"] for n, b in report.items()} == {
        "Near": "warn",
        "Relative": "creep",
        "Both": "creep",
    }
    assert report["Relative"]["creep_budget_percent"] == 5
    assert report["Relative"]["creep_limit_bytes"] == 500
    assert report["Both"]["creep_limit_bytes"] == 500
    assert report["Near"]["warning"].startswith("Package set 'Near' is at 95.0%")
    assert (report["Near"]["warn_at"], report["Near"]["warn_bytes"]) == (90, 9_000)
    gerrit = json.loads((pytester.path / "gerrit.json").read_text())
    assert gerrit["Relative.creepBudget"] == 500
    assert gerrit["Both.creepBudget"] == 500
    assert gerrit["Near"] == 9_500  # ffx's keys only: no status, no warning
    # ffx's keys only; package sets always have ffx's owner link.
    keys = ("", ".budget", ".creepBudget", ".owner")
    assert set(gerrit) == {f"{n}{s}" for n in report for s in keys}
    statuses = {
        case.get("name"): {p.get("name"): p.get("value") for p in case.iter("property")}.get(
            "sizebudget.status"
        )
        for case in ET.parse(pytester.path / "j.xml").getroot().iter("testcase")
    }
    assert {k: v for k, v in statuses.items() if v} == {
        "Near": "warn",
        "Relative": "creep",
        "Both": "creep",
    }
