"""Two runs: a base build writes its JSON report, a change that adds blobs is compared with it."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from typing import Any

import pytest

from tests.conftest import Product, fake_merkle

LIB, BIN, ICU, NEW_LIB, NEW_FONT = (fake_merkle(x) for x in ("L", "B", "I", "N", "F"))


def build(product: Product, *, change: bool, layout: str = "compact") -> None:
    """Three budgets; the change adds a 20,000 B library to 'Grows' and a 100 B font to 'Small'."""
    grows = [("lib/libc.so", LIB), ("bin/app", BIN)]
    small = [("data/icu.dat", ICU)]
    if change:
        grows.append(("lib/libnew.so", NEW_LIB))
        small.append(("fonts/new.ttf", NEW_FONT))
    product.manifest("app", grows, filename="app.json")
    product.manifest("fonts", small, filename="fonts.json")
    product.manifest("tool", [("bin/tool", BIN)], filename="tool.json")
    sizes = {LIB: 40_000, BIN: 8_000, ICU: 1_000, NEW_LIB: 20_000, NEW_FONT: 100}
    budgets: list[dict[str, Any]] = [
        {
            "name": "Grows",
            "budget_bytes": "1 MiB",
            "creep_budget_bytes": "16 KiB",
            "packages": ["app.json"],
        },
        {
            "name": "Small",
            "budget_bytes": "1 MiB",
            "creep_budget_bytes": 200,
            "packages": ["fonts.json"],
        },
        {"name": "Tool", "budget_bytes": "1 MiB", "packages": ["tool.json"]},
    ]
    if not change:
        budgets.append({"name": "Retired", "budget_bytes": 10, "packages": []})
    else:
        budgets.append({"name": "Brand new", "budget_bytes": 10, "packages": []})
    product.budget_file(
        {
            "blob_sizes": [product.blobs_json(sizes)],
            "blobfs_layout": layout,
            "sharing": "global",  # bin/app is shared with 'Tool': Grows is 40,000 + 4,000
            "package_set_budgets": budgets,
        }
    )


@pytest.mark.parametrize("xdist_args", [[], ["-n", "2"]], ids=["no-xdist", "n2"])
def test_change_fails_exactly_the_budgets_over_their_creep(
    pytester: pytest.Pytester, pt_product: Product, xdist_args: list[str]
) -> None:
    build(pt_product, change=False)
    base = pytester.runpytest("--sizebudget", "--sizebudget-json=base.json", *xdist_args)
    base.assert_outcomes(passed=5)
    build(pt_product, change=True)
    result = pytester.runpytest(
        "--sizebudget",
        "--sizebudget-baseline=base.json",
        "--sizebudget-json=new.json",
        "--junitxml=j.xml",
        "-o",
        "junit_family=xunit1",
        *xdist_args,
    )
    result.assert_outcomes(passed=4, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*_ size budget: Grows _*",
            "Package set 'Grows' grew by 20,000 B (19.53 KiB) since the baseline, over its creep "
            "budget of 16,384 B (16.00 KiB) by 3,616 B (3.53 KiB)",
            "  baseline      44,000 B (42.97 KiB)",
            "  delta         +20,000 B",
            "Largest blob changes since the baseline (1 of 1):",
            "  CHANGE * PACKAGE * PATH * MERKLE * CHARGED * DELTA",
            "  ++ added  app * lib/libnew.so  4e4e4e4e4e4e  20,000 B  +20,000 B",
        ]
    )
    # The summary: a delta column, the new budget marked, the retired one listed.
    result.stdout.fnmatch_lines(
        [
            "Name*Used*Budget*Remaining*Used %*Delta",
            "Brand new * new  ok",
            "Grows * +20,000  CREEP",
            "Small * +100  ok",
            "Tool * ok",
            "4 budgets checked: 0 over budget, 0 could not be checked, 1 over creep budget",
            "gone since the baseline: Retired  [size.sizebudget.json5] (used 0 B)",
        ]
    )
    report = json.loads((pytester.path / "new.json").read_text())
    by_name = {b["name"]: b for b in report["budgets"]}
    assert by_name["Grows"]["baseline_used_bytes"] == 44_000
    assert by_name["Grows"]["delta_bytes"] == 20_000
    assert by_name["Grows"]["creep_exceeded"] is True
    assert by_name["Small"]["delta_bytes"] == 100
    assert by_name["Tool"]["diff"] == []
    assert by_name["Brand new"]["baseline"] == "new"
    (added,) = by_name["Grows"]["diff"]
    assert added == {
        "kind": "added",
        "package": "app",
        "path": "lib/libnew.so",
        "old_merkle": None,
        "new_merkle": NEW_LIB,
        "old_size": None,
        "new_size": 20_000,
        "old_charged_bytes": 0,
        "new_charged_bytes": 20_000,
        "delta_bytes": 20_000,
    }
    assert report["baseline"] == {
        "path": "base.json",
        "gone": [
            {
                "name": "Retired",
                "file": "size.sizebudget.json5",
                "kind": "package_set",
                "used_bytes": 0,
            }
        ],
    }
    assert report["totals"]["creep_exceeded"] == 1
    assert report["totals"]["failed"] == 1
    props = {
        p.get("name"): p.get("value")
        for case in ET.parse(pytester.path / "j.xml").iter("testcase")
        if case.get("name") == "Grows"
        for p in case.iter("property")
    }
    assert props["sizebudget.delta_bytes"] == "20000"
    assert props["sizebudget.baseline_used_bytes"] == "44000"


def test_reports_are_byte_identical_with_and_without_xdist(
    pytester: pytest.Pytester, pt_product: Product
) -> None:
    build(pt_product, change=False)
    pytester.runpytest("--sizebudget", "--sizebudget-json=base.json")
    build(pt_product, change=True)
    common = ["--sizebudget", "--sizebudget-baseline=base.json"]
    pytester.runpytest(
        *common, "--sizebudget-json=a.json", "--sizebudget-html=a.html", "-p", "no:xdist"
    )
    pytester.runpytest(*common, "--sizebudget-json=b.json", "--sizebudget-html=b.html", "-n", "2")
    assert (pytester.path / "a.json").read_bytes() == (pytester.path / "b.json").read_bytes()
    assert (pytester.path / "a.html").read_bytes() == (pytester.path / "b.html").read_bytes()


def test_no_baseline_no_creep_check_and_no_baseline_keys(
    pytester: pytest.Pytester, pt_product: Product
) -> None:
    build(pt_product, change=True)
    result = pytester.runpytest("--sizebudget", "--sizebudget-json=r.json")
    result.assert_outcomes(passed=5)
    report = json.loads((pytester.path / "r.json").read_text())
    assert "baseline" not in report
    assert all("delta_bytes" not in b for b in report["budgets"])
    result.stdout.no_fnmatch_line("*Delta*")


def test_delta_threshold_hides_small_deltas_only(
    pytester: pytest.Pytester, pt_product: Product
) -> None:
    build(pt_product, change=False)
    pytester.runpytest("--sizebudget", "--sizebudget-json=base.json")
    build(pt_product, change=True)
    pytester.makeini(
        "[pytest]\nconsole_output_style = classic\nsizebudget_delta_threshold = 1 KiB\n"
    )
    result = pytester.runpytest("--sizebudget", "--sizebudget-baseline=base.json")
    result.assert_outcomes(passed=4, failed=1)
    result.stdout.fnmatch_lines(["Grows * +20,000  CREEP", "(deltas under 1,024 B are not shown)"])
    small = [line for line in result.outlines if line.startswith("Small ")]
    assert small
    assert "+100" not in small[0]


def test_bad_baseline_stops_the_run_naming_the_file(
    pytester: pytest.Pytester, pt_product: Product
) -> None:
    build(pt_product, change=False)
    (pytester.path / "old.json").write_text(json.dumps({"schema_version": 7, "budgets": []}))
    result = pytester.runpytest("--sizebudget", "--sizebudget-baseline=old.json")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*baseline old.json: schema_version 7 is not supported*"])
    result = pytester.runpytest("--sizebudget", "--sizebudget-baseline=nope.json")
    result.stderr.fnmatch_lines(["*baseline nope.json: does not exist*"])


@pytest.mark.filterwarnings("default")
def test_different_layout_in_the_baseline_warns_which_parameter(
    pytester: pytest.Pytester, pt_product: Product
) -> None:
    build(pt_product, change=False, layout="deprecated_padded")
    pytester.runpytest("--sizebudget", "--sizebudget-json=base.json")
    build(pt_product, change=False)
    result = pytester.runpytest("--sizebudget", "--sizebudget-baseline=base.json", "-W", "default")
    result.assert_outcomes(passed=5, warnings=4)
    result.stdout.fnmatch_lines(
        [
            "*BaselineParameterWarning: baseline base.json was measured with different "
            "size-determining parameters than budget 'Grows': "
            "blobfs_layout: compact (baseline: deprecated_padded)"
        ]
    )
