"""Remembered package-set evaluations (issue 16): a warm run answers from what the last
run computed, and says exactly what a run that computes it all again says.

Each test runs pytest as a user would.  "Remembered" is the run after one that filled the
cache; "fresh" is the same run with the memo directory removed (the cache still warm), so
the two differ only in whether the accounting was remembered.
"""

from __future__ import annotations

import json
import os
import random
import shutil
from pathlib import Path

import pytest

from pytest_sizebudget.measure.merkle import merkle_root

REPORTS = ("--sizebudget-json=r.json", "--sizebudget-gerrit=g.json", "--sizebudget-markdown=m.md")
CACHE = "--sizebudget-cache-dir=cache"
# Counts the manifests read, to tell a remembered run from one that read them all.
COUNTING_CONFTEST = """
import pytest_sizebudget.packages.loader as loader

_real = loader.load_manifest
_reads = []


def _counting(*args, **kwargs):
    _reads.append(1)
    return _real(*args, **kwargs)


loader.load_manifest = _counting


def pytest_unconfigure(config):
    with open("manifest-reads", "a") as f:
        f.write(f"{len(_reads)}\\n")
"""


def blob(root: Path, name: str, size: int, seed: int) -> dict[str, object]:
    data = random.Random(seed).randbytes(size // 2) + bytes(size - size // 2)
    path = root / "blobs" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return {"source_path": f"blobs/{name}", "merkle": merkle_root(data), "size": size}


def build(root: Path) -> None:
    """Three packages in two sets (one blob shared by all, one in blobs.json), a merged
    set, a resource budget; blobs measured by the engine and sized by a blobs.json."""
    shared = blob(root, "shared", 20_000, 1)
    sized = blob(root, "sized", 9_000, 2)
    packages = {}
    for i, name in enumerate(("alpha", "beta", "gamma")):
        own = [blob(root, f"{name}{j}", 10_000 + 3_000 * j + i, 10 * i + j) for j in range(3)]
        entries = [{**shared, "path": "lib/shared.so"}, {**sized, "path": "data/sized"}]
        entries += [{**b, "path": f"bin/{name}{j}"} for j, b in enumerate(own)]
        entries.append({**blob(root, f"{name}-meta", 4_000, 100 + i), "path": "meta/"})
        manifest = {"version": "1", "package": {"name": name, "version": "0"}, "blobs": entries}
        path = root / "obj" / name / "package_manifest.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(manifest, indent=2))
        packages[name] = f"obj/{name}/package_manifest.json"
    (root / "blobs.json").write_text(json.dumps([{"merkle": sized["merkle"], "size": 8192}]))
    budgets = {
        "blob_sizes": ["blobs.json"],
        "package_set_budgets": [
            {"name": "Base", "budget_bytes": "200 KiB", "packages": [packages["alpha"]]},
            {
                "name": "Apps",
                "budget_bytes": "70 KiB",  # over: a failing verdict is remembered too
                "packages": [packages["beta"], packages["gamma"]],
            },
            {
                "name": "Merged",
                "budget_bytes": "1 MiB",
                "merge": True,
                "packages": [packages["gamma"]],
            },
        ],
        "resource_budgets": [
            {"name": "Shared libs", "budget_bytes": "1 MiB", "paths": ["lib/shared.so"]}
        ],
    }
    (root / "product.sizebudget.json").write_text(json.dumps(budgets, indent=2))


def memo_files(root: Path) -> list[Path]:
    return sorted(root.glob("cache/v*/memo/*.bin"))


def outputs(root: Path, result: pytest.RunResult) -> dict[str, str]:
    """The reports, and the terminal's summary (the lines after the dots)."""
    out = {name: (root / name).read_text() for name in ("r.json", "g.json", "m.md")}
    lines = result.stdout.lines
    start = next(i for i, line in enumerate(lines) if "size budgets" in line)
    out["summary"] = "\n".join(line for line in lines[start:] if " in " not in line)
    return out


def test_a_remembered_run_reports_byte_for_byte_what_a_fresh_one_does(
    pytester: pytest.Pytester,
) -> None:
    root = pytester.path
    build(root)
    pytester.makeconftest(COUNTING_CONFTEST)
    args = ("--sizebudget", CACHE, *REPORTS, "-p", "no:randomly")
    cold = pytester.runpytest_subprocess(*args)
    cold.assert_outcomes(passed=4, failed=1)
    assert len(memo_files(root)) == 1
    remembered = pytester.runpytest_subprocess(*args)
    remembered_out = outputs(root, remembered)
    shutil.rmtree(root / "cache" / "v1" / "memo")
    fresh = pytester.runpytest_subprocess(*args)
    fresh_out = outputs(root, fresh)
    # cold read 3 manifests, the remembered run none, the fresh one 3 again
    assert (root / "manifest-reads").read_text().split() == ["3", "0", "3"]
    for run in (remembered, fresh):
        run.assert_outcomes(passed=4, failed=1)
        run.stdout.fnmatch_lines(
            ["blob measurement: 0 blobs measured (0 compressed), 13 cache hits, *"]
        )
    assert remembered_out == fresh_out
    # The failure text (the breakdown of the set over budget) is the same too.
    assert remembered.stdout.str().count("bin/beta2") == fresh.stdout.str().count("bin/beta2") > 0


def test_under_xdist_a_remembered_run_reports_what_one_process_does(
    pytester: pytest.Pytester,
) -> None:
    root = pytester.path
    build(root)
    args = ("--sizebudget", CACHE, *REPORTS, "-p", "no:randomly")
    pytester.runpytest(*args).assert_outcomes(passed=4, failed=1)
    one = outputs(root, pytester.runpytest(*args))
    two = pytester.runpytest(*args, "-n", "2")
    two.assert_outcomes(passed=4, failed=1)
    for name in ("g.json", "m.md"):
        assert (root / name).read_text() == one[name], name
    # Each worker evaluates the file, so the measurement counts add up (as without the
    # memo); the results are the same.
    reports = [json.loads(one["r.json"]), json.loads((root / "r.json").read_text())]
    counts = [r.pop("measurement")["cache_hits"] for r in reports]
    assert counts == [13, 26]
    assert reports[0] == reports[1]


def _edit_manifest_same_size(root: Path) -> None:
    """Another in-package path of the same length, the file's times put back: only its
    content (and the inode's change time) tells."""
    path = root / "obj" / "beta" / "package_manifest.json"
    st = path.stat()
    path.write_text(path.read_text().replace("bin/beta0", "bin/beta9"))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


def _edit_blobs_json(root: Path) -> None:
    path = root / "blobs.json"
    path.write_text(path.read_text().replace("8192", "12288"))


def _edit_budget(root: Path) -> None:
    path = root / "product.sizebudget.json"
    path.write_text(path.read_text().replace('"200 KiB"', '"100 KiB"'))


def _grow_blob(root: Path) -> None:
    with (root / "blobs" / "beta1").open("ab") as f:
        f.write(b"more")


def _another_root(root: Path) -> None:
    (root / "pytest.ini").write_text(f"[pytest]\nrootdir = {root.parent}\n")


@pytest.mark.parametrize(
    "change",
    [_edit_manifest_same_size, _edit_blobs_json, _edit_budget, _grow_blob],
    ids=["manifest-content", "blobs-json", "budget-file", "blob-file-grew"],
)
def test_any_change_of_an_input_is_evaluated_afresh(
    pytester: pytest.Pytester, change: object
) -> None:
    root = pytester.path
    build(root)
    args = ("--sizebudget", CACHE, *REPORTS, "-p", "no:randomly")
    pytester.runpytest(*args)
    before = outputs(root, pytester.runpytest(*args))
    change(root)  # type: ignore[operator]
    after_remembered = pytester.runpytest(*args)
    changed = outputs(root, after_remembered)
    shutil.rmtree(root / "cache" / "v1" / "memo")
    fresh = outputs(root, pytester.runpytest(*args))
    fresh.pop("summary")
    changed.pop("summary")  # the measurement line differs: the fresh run measures nothing
    assert changed == fresh
    assert changed["r.json"] != before["r.json"]


def test_reports_name_manifests_as_the_run_does(pytester: pytest.Pytester) -> None:
    """A run from another root names the manifests otherwise: not remembered from the
    run before."""
    root = pytester.path
    build(root)
    args = ("--sizebudget", CACHE, "--sizebudget-json=r.json", "-p", "no:randomly")
    pytester.runpytest(*args)
    first = json.loads((root / "r.json").read_text())
    pytester.runpytest(*args, f"--rootdir={root.parent}")
    second = json.loads((root / "r.json").read_text())
    origins = [p["manifest"] for b in second["budgets"] for p in b.get("packages", [])]
    assert origins
    assert all(o.startswith(f"{root.name}/obj/") for o in origins)
    assert first != second


def test_an_evaluation_with_an_error_is_not_remembered(pytester: pytest.Pytester) -> None:
    root = pytester.path
    build(root)
    (root / "blobs" / "alpha0").unlink()
    args = ("--sizebudget", CACHE, "-p", "no:randomly")
    pytester.runpytest(*args).assert_outcomes(passed=3, failed=2)
    assert memo_files(root) == []
    again = pytester.runpytest(*args)
    again.assert_outcomes(passed=3, failed=2)
    again.stdout.fnmatch_lines(["*blobs/alpha0*"])


@pytest.mark.parametrize("option", ["--sizebudget-no-cache", "--sizebudget-verify"])
def test_nothing_is_remembered_without_a_cache_or_with_verification(
    pytester: pytest.Pytester, option: str
) -> None:
    root = pytester.path
    build(root)
    pytester.runpytest("--sizebudget", CACHE, option).assert_outcomes(passed=4, failed=1)
    assert memo_files(root) == []


def test_a_directory_package_is_not_remembered(pytester: pytest.Pytester) -> None:
    root = pytester.path
    build(root)
    tree = root / "tree"
    tree.mkdir()
    (tree / "file").write_bytes(b"x" * 5000)
    path = root / "product.sizebudget.json"
    budgets = json.loads(path.read_text())
    budgets["package_set_budgets"][0]["packages"].append("tree")
    path.write_text(json.dumps(budgets))
    args = ("--sizebudget", CACHE, "--sizebudget-json=r.json")
    pytester.runpytest(*args).assert_outcomes(passed=4, failed=1)
    assert memo_files(root) == []
    (tree / "file").write_bytes(b"x" * 9000)
    pytester.runpytest(*args)
    report = json.loads((root / "r.json").read_text())
    base = next(b for b in report["budgets"] if b["name"] == "Base")
    assert any(p["manifest"] == "tree" for p in base["packages"])
