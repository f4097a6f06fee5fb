"""Measurement as its own item, progress past output capture, and pytest's --tb styles."""

from __future__ import annotations

import os

import pytest

from tests.conftest import Product


def real_blobs_product(product: Product, count: int = 6, size: int = 200_000) -> None:
    """Package manifests whose blobs are real files no blobs.json sizes: measured cold."""
    import json

    from pytest_sizebudget.measure.merkle import merkle_root

    blobs = []
    (product.root / "blobs").mkdir(exist_ok=True)
    for i in range(count):
        data = os.urandom(size + i)
        merkle = merkle_root(data)
        (product.root / "blobs" / merkle).write_bytes(data)
        blobs.append(
            {"source_path": f"blobs/{merkle}", "path": f"data/{i}.bin", "merkle": merkle, "size": len(data)}
        )
    manifest = "big/package_manifest.json"
    (product.root / "big").mkdir()
    (product.root / manifest).write_text(
        json.dumps({"version": "1", "package": {"name": "big", "version": "0"}, "blobs": blobs})
    )
    product.budget_file(
        {"package_set_budgets": [{"name": "big set", "budget_bytes": "2 MiB", "packages": [manifest]}]}
    )


def test_measurement_is_its_own_item_in_durations_and_junit(
    pytester: pytest.Pytester, pt_product: Product
) -> None:
    real_blobs_product(pt_product)
    result = pytester.runpytest(
        "--sizebudget", "--durations=0", "--durations-min=0", "--junitxml=j.xml", "-p", "no:cacheprovider"
    )
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*s call *size.sizebudget.json5::(measurement)"])
    junit = (pytester.path / "j.xml").read_text()
    assert 'name="(measurement)"' in junit
    # The measurement did the work: the summary's counts come from its report.
    result.stdout.fnmatch_lines(["blob measurement: 6 blobs measured (6 compressed)*"])


@pytest.mark.parametrize("xdist_args", [[], ["-n", "2"]], ids=["single", "n2"])
def test_progress_reaches_a_piped_captured_run(
    pytester: pytest.Pytester, pt_product: Product, xdist_args: list[str]
) -> None:
    real_blobs_product(pt_product)
    pytester.makeini(
        "[pytest]\nconsole_output_style = classic\nsizebudget_progress_interval = 0\n"
    )
    # A subprocess with output to a pipe, and capture on (the default): as in CI.
    result = pytester.runpytest_subprocess("--sizebudget", "-p", "no:cacheprovider", *xdist_args)
    result.assert_outcomes(passed=2)
    lines = result.outlines + result.errlines
    progress = [line for line in lines if "sizebudget: measuring blobs:" in line]
    assert progress, "\n".join(lines)
    assert any("6/6 done" in line and "of 1.1 MiB read" in line for line in progress), progress
    if xdist_args:
        assert all(line.startswith("[gw") for line in progress), progress
    quiet = pytester.runpytest_subprocess("--sizebudget", "-q", "-p", "no:cacheprovider", *xdist_args)
    assert not [line for line in quiet.outlines + quiet.errlines if "measuring blobs" in line]


def over_budget_product(product: Product) -> None:
    from tests.conftest import fake_merkle

    merkles = [fake_merkle(f"m{i}") for i in range(6)]
    manifest = product.manifest("pkg", [(f"bin/{i}", m) for i, m in enumerate(merkles)])
    product.budget_file(
        {
            "blob_sizes": [product.blobs_json({m: 8192 * (i + 1) for i, m in enumerate(merkles)})],
            "package_set_budgets": [{"name": "tight", "budget_bytes": 100_000, "packages": [manifest]}],
        }
    )


def test_tb_line_gives_one_line_per_failure(pytester: pytest.Pytester, pt_product: Product) -> None:
    over_budget_product(pt_product)
    result = pytester.runpytest("--sizebudget", "--tb=line")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        ["size.sizebudget.json5:*: Package set 'tight' is over budget by 72,032 B"]
    )
    assert not [line for line in result.outlines if "Largest packages" in line]
    # The short summary's "FAILED ..." line repeats the message; pytest truncates it to the
    # terminal width except when CI is set, so count only the failure section's lines.
    located = [line for line in result.outlines if line.startswith("size.sizebudget.json5:")]
    assert len(located) == 1


def test_tb_short_cuts_listings(pytester: pytest.Pytester, pt_product: Product) -> None:
    over_budget_product(pt_product)
    short = pytester.runpytest("--sizebudget", "--tb=short")
    short.stdout.fnmatch_lines(["*Package set 'tight' is over budget by 72,032 B*", "*... 3 more blobs*"])
    long = pytester.runpytest("--sizebudget", "--tb=long")
    assert not [line for line in long.outlines if "more blobs" in line]
    long.stdout.fnmatch_lines(["*bin/0*"])


def test_tb_no_prints_no_failure_text(pytester: pytest.Pytester, pt_product: Product) -> None:
    over_budget_product(pt_product)
    result = pytester.runpytest("--sizebudget", "--tb=no")
    result.assert_outcomes(passed=1, failed=1)
    assert not [line for line in result.outlines if "over budget by" in line]


def test_tb_line_under_xdist(pytester: pytest.Pytester, pt_product: Product) -> None:
    over_budget_product(pt_product)
    result = pytester.runpytest("--sizebudget", "--tb=line", "-n", "2")
    result.stdout.fnmatch_lines(
        ["size.sizebudget.json5:*: Package set 'tight' is over budget by 72,032 B"]
    )
