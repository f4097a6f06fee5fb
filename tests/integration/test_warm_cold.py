"""One verdict per input, warm or cold: a cached size never stands for a file that has
changed length since (issue 11).

Each test runs pytest as a user would: a cold run (empty cache) on the product as built,
then the blob file changes under an unchanged manifest, and the warm run (cache filled by
the first run) must give what a cold run on the changed product gives: the same outcome
and the same error, word for word.
"""

from __future__ import annotations

import json
import os
import random
import shutil
from pathlib import Path

import pytest

from pytest_sizebudget.measure.merkle import merkle_root

BLOB = random.Random(11).randbytes(16 * 1024)  # random: stored as is


def build(root: Path, kind: str, *, with_size: bool) -> None:
    source = root / "src" / "blob"
    source.parent.mkdir(parents=True, exist_ok=True)
    source.write_bytes(BLOB)
    entry: dict[str, object] = {
        "source_path": "src/blob",
        "path": "data/blob",
        "merkle": merkle_root(BLOB),
    }
    if with_size:
        entry["size"] = len(BLOB)
    manifest = {"version": "1", "package": {"name": "p", "version": "0"}, "blobs": [entry]}
    (root / "p.json").write_text(json.dumps(manifest))
    if kind == "package_set":
        budgets = {
            "package_set_budgets": [{"name": "B", "budget_bytes": "1 MiB", "packages": ["p.json"]}]
        }
    else:
        budgets = {
            "product_budgets": [
                {"name": "B", "max_contents_bytes": "1 MiB", "packages": ["p.json"]}
            ]
        }
    (root / "b.sizebudget.json").write_text(json.dumps(budgets))


def error_of(root: Path, report: str) -> str | None:
    (budget,) = json.loads((root / report).read_text())["budgets"]
    error: str | None = budget["error"]
    return error


@pytest.mark.parametrize(
    ("kind", "with_size"),
    [
        # EngineSizer.size_blobs (packed and per-blob cache), the manifest states a size.
        pytest.param("package_set", True, id="package-set-manifest-size"),
        # EngineSizer.measure_blobs (the engine's shortcut), no size: the merkle is wrong.
        pytest.param("product", False, id="product-no-size"),
    ],
)
def test_a_blob_that_grew_fails_warm_as_it_fails_cold(
    pytester: pytest.Pytester, kind: str, with_size: bool
) -> None:
    root = pytester.path
    build(root, kind, with_size=with_size)
    args = ("--sizebudget", "--sizebudget-cache-dir=cache")
    pytester.runpytest(*args, "--sizebudget-json=first.json").assert_outcomes(passed=2)
    # The blob grows by 100 kB (3 MB in the issue); the manifest still claims the old merkle (and size).
    with (root / "src" / "blob").open("ab") as f:
        f.write(random.Random(3).randbytes(100_000))
    warm = pytester.runpytest(*args, "--sizebudget-json=warm.json")
    shutil.rmtree(root / "cache")
    cold = pytester.runpytest(*args, "--sizebudget-json=cold.json")
    cold.assert_outcomes(passed=1, failed=1)
    warm.assert_outcomes(passed=1, failed=1)
    cold_error = error_of(root, "cold.json")
    assert cold_error is not None
    expected = "bytes were expected" if with_size else "was claimed"
    assert expected in cold_error
    assert error_of(root, "warm.json") == cold_error


def test_an_unchanged_blob_is_still_answered_from_the_cache(pytester: pytest.Pytester) -> None:
    """The check costs a stat, not a read: a warm run measures nothing."""
    build(pytester.path, "package_set", with_size=True)
    args = ("--sizebudget", "--sizebudget-cache-dir=cache")
    pytester.runpytest(*args).assert_outcomes(passed=2)
    warm = pytester.runpytest(*args)
    warm.assert_outcomes(passed=2)
    warm.stdout.fnmatch_lines(["blob measurement: 0 blobs measured (0 compressed), 1 cache hits*"])


def test_a_blob_replaced_by_a_fifo_fails_warm_as_cold_without_hanging(
    pytester: pytest.Pytester,
) -> None:
    root = pytester.path
    build(root, "package_set", with_size=True)
    args = ("--sizebudget", "--sizebudget-cache-dir=cache")
    pytester.runpytest(*args).assert_outcomes(passed=2)
    (root / "src" / "blob").unlink()
    os.mkfifo(root / "src" / "blob")
    warm = pytester.runpytest_subprocess(*args, "--sizebudget-json=warm.json", timeout=60)
    warm.assert_outcomes(passed=1, failed=1)
    warm.stdout.fnmatch_lines(["*blob */src/blob: is a FIFO (named pipe), not a file"])
