"""Pure renderers: Gerrit JSON, the JSON report, failure text and the summary table."""

from __future__ import annotations

import json
from typing import Any

from pytest_sizebudget.accounting import BlobCharge, PackageCharge
from pytest_sizebudget.evaluate import owner_url
from pytest_sizebudget.kinds.builtin import builtin_kinds
from pytest_sizebudget.kinds.package_set import PackageSetBudget
from pytest_sizebudget.report.gerrit import render_gerrit
from pytest_sizebudget.report.json_report import build_json_report, render_json
from pytest_sizebudget.report.model import BudgetResult, FileProblem
from pytest_sizebudget.report.summary import render_summary
from tests.conftest import fake_merkle

FFX_OWNER = "http://go/fuchsia-size-stats/single_component/?f=component%3Ain%3A{name}"
KINDS = builtin_kinds()


def failure_text(r: BudgetResult, top_n: int = 10) -> str:
    return KINDS.failure_text(r, top_n)


def budget(name: str, owner: str | None = None) -> PackageSetBudget:
    return PackageSetBudget(name=name, key="k", line=1, budget_bytes=1, packages=(), owner=owner)


def result(name: str, used: int | None, budget_bytes: int, **kw: Any) -> BudgetResult:
    return BudgetResult(
        name=name,
        kind="package_set",
        file="b.json5",
        line=3,
        key="k",
        budget_bytes=budget_bytes,
        used_bytes=used,
        **kw,
    )


def test_owner_url_is_encoded_as_ffx_does() -> None:
    assert owner_url(budget("Software Deliver"), FFX_OWNER) == (
        "http://go/fuchsia-size-stats/single_component/?f=component%3Ain%3ASoftware+Deliver"
    )
    assert owner_url(budget("x", owner="https://own"), FFX_OWNER) == "https://own"
    # Without owner and template, a package set gets ffx's link, as ffx always writes it.
    assert owner_url(budget("x y"), None) == (
        "http://go/fuchsia-size-stats/single_component/?f=component%3Ain%3Ax+y"
    )


def test_gerrit_report_is_flat_sorted_and_skips_unmeasured() -> None:
    text = render_gerrit(
        [
            result("b", 10, 20, creep_budget_bytes=2, owner="https://o"),
            result("a", 1, 5),
            result("broken", None, 5, error="x"),
        ]
    )
    assert list(json.loads(text).items()) == [
        ("a", 1),
        ("a.budget", 5),
        ("a.creepBudget", 0),
        ("b", 10),
        ("b.budget", 20),
        ("b.creepBudget", 2),
        ("b.owner", "https://o"),
    ]


def charged(name: str, *blobs: tuple[str, int, int]) -> PackageCharge:
    charges = tuple(
        BlobCharge(fake_merkle(p), p, size, share, size // share) for p, size, share in blobs
    )
    return PackageCharge(
        name,
        f"out/{name}.json",
        sum(c.size or 0 for c in charges),
        sum(c.charged_bytes for c in charges),
        charges,
    )


def test_failure_text_shows_numbers_and_largest_contributors() -> None:
    r = result(
        "Software Deliver",
        10 * 1024**2 + 1,
        10 * 1024**2,
        creep_budget_bytes=4096,
        packages=(
            charged("small", ("bin/s", 10, 1)),
            charged("big", ("lib/shared.so", 9_000_000, 3), ("bin/big", 7_485_761, 1)),
        ),
        parameters={"sharing": "global"},
    )
    text = failure_text(r, top_n=1)
    lines = text.splitlines()
    assert lines[0] == "Package set 'Software Deliver' is over budget by 1 B"
    assert "  used          10,485,761 B" in lines  # no "10.00 MiB": it would hide the byte
    assert "  budget        10,485,760 B" in lines
    assert "  creep budget  4,096 B (4.00 KiB)" in lines
    assert any(line.startswith("  file          b.json5:3 (k)") for line in lines)
    assert "Largest packages (1 of 2):" in lines
    big = next(line for line in lines if line.lstrip().startswith("big"))
    assert "16,485,761 B" in big
    assert "10,485,761 B" in big
    assert any("bin/big" in line and "7,485,761 B" in line for line in lines)
    assert not any("lib/shared.so" in line for line in lines)  # cut by top 1
    assert any("... 1 more blob " in line and "3,000,000 B" in line for line in lines)
    assert any("... 1 more package charged 10 B" in line for line in lines)
    assert not any("shared by N" in line for line in lines)  # the shared blob was cut


def test_failure_text_marks_shared_blobs() -> None:
    r = result("S", 20, 1, packages=(charged("p", ("lib/x", 30, 3)),))
    lines = failure_text(r).splitlines()
    row = next(line for line in lines if "lib/x" in line)
    assert "*3" in row.split()
    assert lines[-1] == "  (*N: shared by N instances; each is charged size // N, rounding down)"


def test_error_text_is_the_error() -> None:
    unshared = failure_text(result("S", 5, 1, packages=(charged("p", ("a", 5, 1)),)))
    assert "shared by N" not in unshared  # the legend only explains what is shown
    text = failure_text(result("S", None, 1, error="something named\nover two lines"))
    assert text.splitlines() == [
        "Package set 'S' could not be checked",
        "  file    b.json5:3 (k)",
        "",
        "something named",
        "over two lines",
    ]


def test_summary_table_is_sorted_signed_and_counts() -> None:
    lines = render_summary(
        [result("b", 150, 100), result("a", 50, 100), result("c", None, 10, error="e")],
        [FileProblem(file="x.json5", message="x.json5:1: broken")],
    )
    assert lines[0].split() == ["Name", "Used", "Budget", "Remaining", "Used", "%"]
    assert lines[1].split() == ["a", "50", "100", "+50", "50.0%", "ok"]
    assert lines[2].split() == ["b", "150", "100", "-50", "150.0%", "OVER"]
    assert lines[3].split() == ["c", "?", "10", "?", "?", "ERROR"]
    assert lines[4] == (
        "3 budgets checked: 1 over budget, 1 could not be checked, 1 budget file problem"
    )
    assert lines[5] == "  x.json5:1: broken"


def test_json_report_contract_and_round_trip() -> None:
    r = result("S", 20, 10, packages=(charged("p", ("lib/x", 30, 3)),), owner="https://o")
    report = build_json_report([r], [], {"name": "pytest-sizebudget"})
    (b,) = report["budgets"]
    for key in (
        "name",
        "file",
        "kind",
        "used_bytes",
        "budget_bytes",
        "creep_budget_bytes",
        "passed",
        "packages",
    ):
        assert key in b
    (p,) = b["packages"]
    assert set(p) >= {"name", "manifest", "used_space_in_blobfs", "proportional_size", "blobs"}
    assert set(p["blobs"][0]) >= {"merkle", "path", "size", "share_count", "charged_bytes"}
    assert report["totals"] == {
        "budgets": 1,
        "passed": 0,
        "over_budget": 1,
        "errors": 0,
        "bytes_over": 10,
        "failed": 1,
    }
    assert BudgetResult.from_dict(json.loads(json.dumps(r.to_dict()))) == r
    text = render_json(report)
    assert text.endswith("}\n")
    assert text == render_json(json.loads(text))
