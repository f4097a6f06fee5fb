"""Baselines (loading, matching, comparing), the blob-level diff and their renderings."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pytest_sizebudget.accounting import BlobCharge, PackageCharge
from pytest_sizebudget.kinds.builtin import builtin_kinds
from pytest_sizebudget.report.baseline import (
    BaselineError,
    compare,
    load_baseline,
    parameter_differences,
)
from pytest_sizebudget.report.diff import diff_packages, render_changes
from pytest_sizebudget.report.json_report import build_json_report, render_json
from pytest_sizebudget.report.model import BudgetResult
from pytest_sizebudget.report.summary import render_summary
from tests.conftest import fake_merkle

A, B, C, D, X = (fake_merkle(c) for c in "ABCDX")


def pkg(name: str, *blobs: tuple[str, str, int, int]) -> PackageCharge:
    """blobs: (path, merkle, size, share_count)."""
    charges = tuple(BlobCharge(m, p, s, n, s // n) for p, m, s, n in blobs)
    return PackageCharge(
        name=name,
        origin=f"{name}.json",
        used_space_in_blobfs=sum(b.size or 0 for b in charges),
        proportional_size=sum(b.charged_bytes for b in charges),
        blobs=charges,
    )


def result(name: str, packages: tuple[PackageCharge, ...], **kw: Any) -> BudgetResult:
    kw.setdefault("budget_bytes", 1_000_000)
    return BudgetResult(
        name=name,
        kind="package_set",
        file=kw.pop("file", "b.json5"),
        line=1,
        key="k",
        used_bytes=sum(p.proportional_size for p in packages),
        packages=packages,
        parameters=kw.pop("parameters", {"sharing": "global", "blobfs_layout": "compact"}),
        **kw,
    )


def write_baseline(
    path: Path, results: list[BudgetResult], tool: dict[str, Any] | None = None
) -> Path:
    report = build_json_report(results, [], tool or {"name": "pytest-sizebudget", "parameters": {}})
    path.write_text(render_json(report))
    return path


def test_diff_matches_by_merkle_then_by_package_and_path() -> None:
    old = (pkg("p", ("bin/a", A, 100, 1), ("lib/b", B, 50, 1), ("gone", D, 7, 1)),)
    new = (
        # A moved to another path: matched by merkle, unchanged; B replaced by C at lib/b.
        pkg("p", ("bin/a2", A, 100, 1), ("lib/b", C, 80, 1), ("new/x", X, 300, 1)),
    )
    changes = diff_packages(old, new)
    assert [(c.kind, c.path, c.delta) for c in changes] == [
        ("added", "new/x", 300),
        ("updated", "lib/b", 30),
        ("removed", "gone", -7),
    ]
    updated = changes[1]
    assert (updated.old_merkle, updated.new_merkle) == (B, C)
    # Merkles by 12 hex digits, the updated blob's old and new alike.
    (row,) = [line for line in render_changes(changes, 5) if "lib/b" in line]
    assert f"{B[:12]} -> {C[:12]}" in row
    # The changes add up to the budget's delta.
    assert sum(c.delta for c in changes) == sum(p.proportional_size for p in new) - sum(
        p.proportional_size for p in old
    )


def test_diff_reports_a_share_change_of_the_same_blob() -> None:
    old = (pkg("p", ("x", X, 90, 1)),)
    new = (pkg("p", ("x", X, 90, 3)),)
    (c,) = diff_packages(old, new)
    assert (c.kind, c.old_merkle, c.new_merkle, c.delta) == ("updated", X, X, -60)


def test_diff_of_identical_packages_is_empty() -> None:
    p = (pkg("p", ("a", A, 1, 1), ("b", B, 2, 2)),)
    assert diff_packages(p, p) == ()
    assert render_changes((), 5) == ["Blob changes since the baseline: none"]


def test_load_baseline_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(BaselineError, match=r"baseline missing.json: does not exist"):
        load_baseline(tmp_path / "missing.json", "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{ nope")
    with pytest.raises(BaselineError, match=r"baseline bad.json:1:3: not JSON"):
        load_baseline(bad, "bad.json")
    bad.write_text(json.dumps({"schema_version": 99, "budgets": []}))
    with pytest.raises(
        BaselineError, match=r"baseline bad.json: schema_version 99 is not supported"
    ):
        load_baseline(bad, "bad.json")
    bad.write_text("[]")
    with pytest.raises(BaselineError, match="not a pytest-sizebudget JSON report"):
        load_baseline(bad, "bad.json")


def test_compare_matches_by_file_and_name_then_by_name(tmp_path: Path) -> None:
    old = [
        result("S", (pkg("p", ("a", A, 100, 1)),)),
        result("Moved", (pkg("q", ("a", B, 10, 1)),), file="old.json5"),
        result("Gone", ()),
    ]
    baseline = load_baseline(write_baseline(tmp_path / "base.json", old))
    grown = compare(
        result("S", (pkg("p", ("a", A, 100, 1), ("b", B, 40, 1)),), creep_budget_bytes=30), baseline
    )
    assert (grown.baseline, grown.baseline_used_bytes, grown.delta_bytes) == ("matched", 100, 40)
    assert grown.creep_exceeded
    assert not grown.passed
    assert not grown.over_budget
    moved = compare(result("Moved", (pkg("q", ("a", B, 10, 1)),)), baseline)
    assert (moved.delta_bytes, moved.passed, moved.diff) == (0, True, ())
    new = compare(result("New", ()), baseline)
    assert (new.baseline, new.delta_bytes, new.passed) == ("new", None, True)
    assert [g.name for g in baseline.gone([grown, moved, new])] == ["Gone"]
    # Round trip through the JSON report keeps the baseline fields.
    again = BudgetResult.from_dict(json.loads(json.dumps(grown.to_dict())))
    assert again == grown


def test_creep_failure_text_names_creep_budget_delta_and_blobs(tmp_path: Path) -> None:
    baseline = load_baseline(
        write_baseline(tmp_path / "b.json", [result("S", (pkg("p", ("a", A, 100, 1)),))])
    )
    r = compare(
        result(
            "S", (pkg("p", ("a", A, 100, 1), ("lib/new.so", B, 5000, 1)),), creep_budget_bytes=1024
        ),
        baseline,
    )
    text = builtin_kinds().failure_text(r, 10)
    assert (
        "Package set 'S' grew by 5,000 B (4.88 KiB) since the baseline, over its creep budget of 1,024 B (1.00 KiB)"
        in text
    )
    assert "over budget" not in text
    assert "  delta         +5,000 B" in text
    assert "++ added  p        lib/new.so" in text


def test_summary_delta_column_threshold_and_gone() -> None:
    grown = BudgetResult(
        name="S",
        kind="package_set",
        file="f",
        line=1,
        key="k",
        budget_bytes=100,
        used_bytes=90,
        creep_budget_bytes=5,
        baseline="matched",
        baseline_used_bytes=80,
        delta_bytes=10,
    )
    tiny = BudgetResult(
        name="T",
        kind="package_set",
        file="f",
        line=2,
        key="k2",
        budget_bytes=100,
        used_bytes=50,
        baseline="matched",
        baseline_used_bytes=49,
        delta_bytes=1,
        creep_budget_bytes=5,
    )
    new = BudgetResult(
        name="U",
        kind="package_set",
        file="f",
        line=3,
        key="k3",
        budget_bytes=100,
        used_bytes=1,
        baseline="new",
    )
    gone = BudgetResult(
        name="Old", kind="package_set", file="f", line=4, key="k4", budget_bytes=1, used_bytes=1
    )
    lines = render_summary([grown, tiny, new], gone=[gone], delta_threshold=2)
    assert lines[0].split() == ["Name", "Used", "Budget", "Remaining", "Used", "%", "Delta"]
    assert lines[1].split()[-2:] == ["+10", "CREEP"]
    assert lines[2].split()[-2:] == ["50.0%", "ok"]  # +1 is under the threshold: hidden
    assert lines[3].split()[-2:] == ["new", "ok"]
    assert "1 over creep budget" in lines[4]
    assert lines[-1] == "gone since the baseline: Old  [f] (used 1 B)"


def test_parameter_differences_compare_tool_and_budget_parameters(tmp_path: Path) -> None:
    old = result("S", (), parameters={"sharing": "global", "blobfs_layout": "deprecated_padded"})
    baseline = load_baseline(
        write_baseline(
            tmp_path / "b.json", [old], {"parameters": {"zstd_level": 14, "blob_sizes": ["a"]}}
        )
    )
    now = result("S", ())
    assert parameter_differences(baseline, now, {"zstd_level": 19, "blob_sizes": ["b"]}) == [
        "zstd_level: 19 (baseline: 14)",
        "blobfs_layout: compact (baseline: deprecated_padded)",
    ]
    assert parameter_differences(baseline, result("Other", ()), {}) == []
