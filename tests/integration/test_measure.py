"""Blobs no blobs.json sizes, measured by the engine, as users run it (pytester).

Expected sizes are worked out by hand from the blobfs rules (reference §4): a blob of at
most 8192 bytes is stored uncompressed; 8193 random bytes cannot be compressed by a whole
block, so they are stored as they are, with a 64-byte merkle tree (two digests): 8257
bytes, two blocks, in the compact layout; the padded layout gives the tree a block of its
own, three blocks.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import pytest_sizebudget.fixtures
from pytest_sizebudget.measure.merkle import merkle_root
from tests.conftest import Product, product_report

ONE_BYTE = b"x"
RANDOM_8193 = random.Random(8193).randbytes(8193)
MERKLE_1 = merkle_root(ONE_BYTE)
MERKLE_8193 = merkle_root(RANDOM_8193)


def write_package(
    root: Path, name: str, files: dict[str, bytes], *, claims: dict[str, str] | None = None
) -> str:
    """A manifest whose blobs are real files; ``claims`` overrides a path's merkle."""
    blobs = []
    for path, data in files.items():
        source = root / "src" / name / path
        source.parent.mkdir(parents=True, exist_ok=True)
        source.write_bytes(data)
        merkle = (claims or {}).get(path, merkle_root(data))
        blobs.append(
            {
                "source_path": f"src/{name}/{path}",
                "path": path,
                "merkle": merkle,
                "size": len(data),
            }
        )
    rel = f"obj/{name}/package_manifest.json"
    (root / rel).parent.mkdir(parents=True, exist_ok=True)
    (root / rel).write_text(
        json.dumps({"version": "1", "package": {"name": name, "version": "0"}, "blobs": blobs})
    )
    return rel


def measured_product(product: Product, layout: str = "compact", budget: int = 24576) -> None:
    pkg = write_package(product.root, "pkg", {"a": ONE_BYTE, "b": RANDOM_8193})
    product.budget_file(
        {
            "blobfs_layout": layout,
            "package_set_budgets": [{"name": "Set", "budget_bytes": budget, "packages": [pkg]}],
        }
    )


def report(pytester: pytest.Pytester, name: str = "r.json") -> dict[str, object]:
    data: dict[str, object] = json.loads((pytester.path / name).read_text())
    return data


def blob_sizes(data: dict[str, object]) -> dict[str, int]:
    budgets = data["budgets"]
    assert isinstance(budgets, list)
    return {
        b["merkle"]: b["size"] for budget in budgets for p in budget["packages"] for b in p["blobs"]
    }


def measured_line(result: pytest.RunResult) -> str:
    lines = [line for line in result.outlines if line.startswith("blob measurement:")]
    assert len(lines) == 1, result.outlines
    return lines[0]


@pytest.mark.parametrize(
    ("layout", "big"), [("compact", 16384), ("deprecated_padded", 24576)], ids=str
)
def test_missing_blobs_are_measured_exactly(
    pytester: pytest.Pytester, pt_product: Product, layout: str, big: int
) -> None:
    measured_product(pt_product, layout, budget=8192 + big)
    result = pytester.runpytest("--sizebudget", "--sizebudget-json=r.json")
    result.assert_outcomes(passed=2)
    data = report(pytester)
    assert blob_sizes(data) == {MERKLE_1: 8192, MERKLE_8193: big}
    budgets = data["budgets"]
    assert isinstance(budgets, list)
    assert budgets[0]["used_bytes"] == 8192 + big
    tool = data["tool"]
    assert isinstance(tool, dict)
    params = tool["parameters"]
    assert params["zstd_level"] == 14
    assert params["blobfs_layouts"] == [layout]
    assert params["chunk_rule_version"] == 1
    assert isinstance(params["libzstd_version"], str)


def test_one_byte_over_fails(pytester: pytest.Pytester, pt_product: Product) -> None:
    measured_product(pt_product, budget=24575)
    pytester.runpytest("--sizebudget").assert_outcomes(passed=1, failed=1)


def test_blobs_json_sizes_win_over_measurement(
    pytester: pytest.Pytester, pt_product: Product
) -> None:
    pkg = write_package(pt_product.root, "pkg", {"a": ONE_BYTE, "b": RANDOM_8193})
    pt_product.budget_file(
        {
            "blob_sizes": [pt_product.blobs_json({MERKLE_8193: 7})],
            "package_set_budgets": [{"name": "Set", "budget_bytes": 8199, "packages": [pkg]}],
        }
    )
    result = pytester.runpytest("--sizebudget", "--sizebudget-json=r.json")
    result.assert_outcomes(passed=2)
    assert blob_sizes(report(pytester)) == {MERKLE_1: 8192, MERKLE_8193: 7}
    assert "1 blobs measured" in measured_line(result)


def test_warm_run_reads_the_cache(pytester: pytest.Pytester, pt_product: Product) -> None:
    measured_product(pt_product)
    cold = pytester.runpytest("--sizebudget", "--sizebudget-json=cold.json")
    cold.assert_outcomes(passed=2)
    assert "2 blobs measured" in measured_line(cold)
    assert (pytester.path / ".pytest_cache" / "d" / "sizebudget").is_dir()
    warm = pytester.runpytest("--sizebudget", "--sizebudget-json=warm.json")
    warm.assert_outcomes(passed=2)
    assert "0 blobs measured (0 compressed), 2 cache hits" in measured_line(warm)
    path = pytester.path
    assert product_report(path / "cold.json") == product_report(path / "warm.json")
    for run, name in ((cold, "cold.json"), (warm, "warm.json")):
        assert line_counts(measured_line(run)) == report_counts(report(pytester, name))


def line_counts(line: str) -> dict[str, int]:
    """The numbers of the summary's ``blob measurement:`` line, as CI scripts read them."""
    match = re.fullmatch(
        r"blob measurement: ([\d,]+) blobs measured \(([\d,]+) compressed\), ([\d,]+) cache "
        r"hits, ([\d,]+) files hashed, ([\d,]+) stat-index hits, ([\d,.]+) MiB read"
        r"(?:, ([\d,]+) measured earlier in this run and reused)?",
        line,
    )
    assert match is not None, line
    names = ["blobs_measured", "blobs_compressed", "cache_hits", "files_hashed"]
    found = {n: int(v.replace(",", "")) for n, v in zip(names, match.groups(), strict=False)}
    found["stat_index_hits"] = int(match.group(5).replace(",", ""))
    found["mib_read"] = round(float(match.group(6).replace(",", "")) * 10)
    found["reused"] = int((match.group(7) or "0").replace(",", ""))
    return found


def report_counts(data: dict[str, object]) -> dict[str, int]:
    measurement = data["measurement"]
    assert isinstance(measurement, dict)
    found = {k: v for k, v in measurement.items() if not k.startswith(("remote_", "bytes_"))}
    found["mib_read"] = round(measurement["bytes_read"] / (1 << 20) * 10)
    return found


def test_no_cache_measures_every_time(pytester: pytest.Pytester, pt_product: Product) -> None:
    measured_product(pt_product)
    for _ in range(2):
        result = pytester.runpytest("--sizebudget", "--sizebudget-no-cache")
        result.assert_outcomes(passed=2)
        assert "2 blobs measured (1 compressed), 0 cache hits" in measured_line(result)
    assert not (pytester.path / ".pytest_cache" / "d" / "sizebudget").exists()


def test_compression_memory_option(pytester: pytest.Pytester, pt_product: Product) -> None:
    # A budget below one context still measures (one at a time), to the same bytes.
    measured_product(pt_product)
    pytester.makepyfile(
        test_pool="""
        def test_pool(sizebudget_sizer):
            assert sizebudget_sizer.compressors.budget_bytes == 1024
        """
    )
    tight = pytester.runpytest(
        "--sizebudget",
        "--sizebudget-no-cache",
        "--sizebudget-compression-memory=1 KiB",
        "--sizebudget-json=tight.json",
    )
    tight.assert_outcomes(passed=3)
    assert "2 blobs measured (1 compressed)" in measured_line(tight)
    roomy = pytester.runpytest(
        "--sizebudget", "--sizebudget-no-cache", "--sizebudget-json=roomy.json", "-k", "not pool"
    )
    roomy.assert_outcomes(passed=2, deselected=1)
    assert (pytester.path / "tight.json").read_bytes() == (
        pytester.path / "roomy.json"
    ).read_bytes()
    # 0 is a budget too (one compression at a time), not "unset".
    pytester.makepyfile(
        test_pool="""
        def test_pool(sizebudget_sizer):
            assert sizebudget_sizer.compressors.budget_bytes == 0
        """
    )
    zero = pytester.runpytest(
        "--sizebudget",
        "--sizebudget-no-cache",
        "--sizebudget-compression-memory=0",
        "--sizebudget-json=zero.json",
    )
    zero.assert_outcomes(passed=3)
    assert (pytester.path / "zero.json").read_bytes() == (pytester.path / "roomy.json").read_bytes()
    bad = pytester.runpytest("--sizebudget", "--sizebudget-compression-memory=lots")
    assert bad.ret == pytest.ExitCode.USAGE_ERROR
    bad.stderr.fnmatch_lines(["*--sizebudget-compression-memory*lots*"])


def test_custom_cache_dir(pytester: pytest.Pytester, pt_product: Product) -> None:
    measured_product(pt_product)
    pytester.runpytest("--sizebudget", "--sizebudget-cache-dir=shared").assert_outcomes(passed=2)
    assert list((pytester.path / "shared").rglob("*.json"))
    assert not (pytester.path / ".pytest_cache" / "d" / "sizebudget").exists()
    # Another checkout (no pytest cache of its own) reuses the shared directory.
    warm = pytester.runpytest(
        "--sizebudget", "-p", "no:cacheprovider", "--sizebudget-cache-dir=shared"
    )
    warm.assert_outcomes(passed=2)
    assert "2 cache hits" in measured_line(warm)


def test_without_cacheprovider_the_cache_is_off(
    pytester: pytest.Pytester, pt_product: Product
) -> None:
    measured_product(pt_product)
    for _ in range(2):
        result = pytester.runpytest("--sizebudget", "-p", "no:cacheprovider")
        result.assert_outcomes(passed=2)
        assert "2 blobs measured" in measured_line(result)


def test_corrupted_cache_entries_are_recomputed(
    pytester: pytest.Pytester, pt_product: Product
) -> None:
    measured_product(pt_product)
    pytester.runpytest("--sizebudget", "--sizebudget-cache-dir=c", "--sizebudget-json=a.json")
    (pack,) = (pytester.path / "c").rglob("packs/*/*.pack")  # both entries, in one file
    packed = list((pytester.path / "c").rglob("packed/*.json"))
    assert len(packed) == 1
    packed[0].write_bytes(packed[0].read_bytes().replace(b"8192", b"4096"))  # checksum breaks
    pack.write_text(pack.read_text().replace('"size_on_disk": 8192', '"size_on_disk": 4096'))
    shutil.rmtree(next((pytester.path / "c").rglob("memo")))  # or it answers without them
    result = pytester.runpytest(
        "--sizebudget", "--sizebudget-cache-dir=c", "--sizebudget-json=b.json"
    )
    result.assert_outcomes(passed=2)
    assert "2 blobs measured" in measured_line(result)
    assert product_report(pytester.path / "a.json") == product_report(pytester.path / "b.json")


def test_verify_names_package_path_claimed_and_actual_root(
    pytester: pytest.Pytester, pt_product: Product
) -> None:
    claimed = "ab" * 32
    bad = write_package(
        pt_product.root, "bad", {"bin/tool": ONE_BYTE}, claims={"bin/tool": claimed}
    )
    good = write_package(pt_product.root, "good", {"bin/ok": RANDOM_8193})
    pt_product.budget_file(
        {
            # blobs.json sizes both blobs: verification must still read them.
            "blob_sizes": [pt_product.blobs_json({claimed: 8192, MERKLE_8193: 16384})],
            "package_set_budgets": [
                {"name": "Bad", "budget_bytes": 8192, "packages": [bad]},
                {"name": "Good", "budget_bytes": 16384, "packages": [good]},
            ],
        }
    )
    pytester.runpytest("--sizebudget").assert_outcomes(passed=3)
    result = pytester.runpytest("--sizebudget", "--sizebudget-verify")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(
        [
            "1 blob of budget 'Bad' does not match the merkle root the manifest claims "
            "(--sizebudget-verify):",
            f"  package 'bad' (obj/bad/package_manifest.json) path 'bin/tool' claimed merkle "
            f"{claimed}: blob *src/bad/bin/tool: merkle root is {MERKLE_1} but the manifest "
            f"claims {claimed}",
        ]
    )


def test_bad_blob_files_are_named_and_other_budgets_pass(
    pytester: pytest.Pytester, pt_product: Product
) -> None:
    gone = write_package(pt_product.root, "gone", {"bin/gone": RANDOM_8193})
    (pt_product.root / "src" / "gone" / "bin" / "gone").unlink()
    resized = write_package(pt_product.root, "resized", {"bin/grew": ONE_BYTE})
    (pt_product.root / "src" / "resized" / "bin" / "grew").write_bytes(b"xy")
    folder = write_package(pt_product.root, "folder", {"bin/folder": b"abc"})
    (pt_product.root / "src" / "folder" / "bin" / "folder").unlink()
    (pt_product.root / "src" / "folder" / "bin" / "folder").mkdir()
    good = write_package(pt_product.root, "good", {"bin/ok": ONE_BYTE + b"ok"})
    pt_product.budget_file(
        {
            "package_set_budgets": [
                {"name": "Gone", "budget_bytes": 100_000, "packages": [gone]},
                {"name": "Resized", "budget_bytes": 100_000, "packages": [resized]},
                {"name": "Folder", "budget_bytes": 100_000, "packages": [folder]},
                {"name": "Good", "budget_bytes": 8192, "packages": [good]},
            ],
        }
    )
    result = pytester.runpytest("--sizebudget")
    result.assert_outcomes(passed=2, failed=3)
    result.stdout.fnmatch_lines(
        ["*path 'bin/folder' merkle *: blob *src/folder/bin/folder: is a directory, not a file"]
    )
    result.stdout.fnmatch_lines(
        [
            "*package 'gone' (obj/gone/package_manifest.json) path 'bin/gone' merkle "
            f"{MERKLE_8193}: blob *src/gone/bin/gone: does not exist*",
        ]
    )
    result.stdout.fnmatch_lines(
        [
            "*package 'resized' (obj/resized/package_manifest.json) path 'bin/grew' merkle "
            f"{MERKLE_1}: blob *src/resized/bin/grew: file is 2 bytes but 1 bytes were expected",
        ]
    )


def test_directory_packages_are_measured(pytester: pytest.Pytester, pt_product: Product) -> None:
    fonts = pt_product.root / "fonts"
    fonts.mkdir()
    (fonts / "a.ttf").write_bytes(RANDOM_8193)
    (fonts / "b.txt").write_bytes(ONE_BYTE)
    pt_product.budget_file(
        {"package_set_budgets": [{"name": "Fonts", "budget_bytes": 24576, "packages": ["fonts"]}]}
    )
    result = pytester.runpytest("--sizebudget", "--sizebudget-json=r.json")
    result.assert_outcomes(passed=2)
    assert blob_sizes(report(pytester)) == {MERKLE_1: 8192, MERKLE_8193: 16384}
    warm = pytester.runpytest("--sizebudget")
    assert "2 stat-index hits" in measured_line(warm) or "2 files hashed" in measured_line(warm)
    assert "2 cache hits" in measured_line(warm)


def test_progress_shows_on_the_terminal_and_not_under_q(
    pytester: pytest.Pytester, pt_product: Product, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pytest_sizebudget.fixtures, "PROGRESS_AFTER", 0.0)
    measured_product(pt_product)
    result = pytester.runpytest("--sizebudget", "--sizebudget-no-cache")
    result.stdout.fnmatch_lines(["sizebudget: measuring blobs: 2/2 done, * MiB read, * MiB/s"])
    quiet = pytester.runpytest("--sizebudget", "--sizebudget-no-cache", "-q")
    quiet.stdout.no_fnmatch_line("*measuring blobs*")


def test_xdist_same_json_and_each_blob_compressed_once(
    pytester: pytest.Pytester, pt_product: Product
) -> None:
    # Three budget files share compressible blobs, so both workers want them at once.
    shared = {
        f"lib/{i}.so": (f"shared library {i} ".encode() * 4000)[: 20_000 + i] for i in range(6)
    }
    pkgs = [
        write_package(pt_product.root, f"pkg{i}", {**shared, "bin/own": bytes([i]) * 9000})
        for i in range(4)
    ]
    for f in range(3):
        pt_product.budget_file(
            {
                "package_set_budgets": [
                    {"name": f"f{f}-s{i}", "budget_bytes": 30_000, "packages": pkgs[i : i + 2]}
                    for i in range(3)
                ]
            },
            f"f{f}.sizebudget.json5",
        )
    base = pytester.runpytest("--sizebudget", "--sizebudget-no-cache", "--sizebudget-json=a.json")
    other = pytester.runpytest(
        "--sizebudget", "--sizebudget-cache-dir=c", "--sizebudget-json=b.json", "-n", "2"
    )
    assert base.parseoutcomes() == other.parseoutcomes()
    assert product_report(pytester.path / "a.json") == product_report(pytester.path / "b.json")
    # 6 shared + 4 own blobs, all above 8192 bytes: each compressed once across workers.
    assert "10 blobs measured (10 compressed)" in measured_line(other)


CONCURRENT = textwrap.dedent(
    """
    import json, os, sys, time
    from pathlib import Path
    from pytest_sizebudget.measure.merkle import merkle_root
    from pytest_sizebudget.measure.sizer import EngineSizer, SizeRequest

    cache, start, *files = sys.argv[1:]
    requests = [
        SizeRequest(merkle_root(Path(f).read_bytes()), Path(f), None) for f in files
    ]
    while time.time() < float(start):
        time.sleep(0.001)
    sizer = EngineSizer(Path(cache), threads=2)
    if os.environ.get("MEASURE_FULLY"):  # the product and update budgets' path
        from pytest_sizebudget.measure.requests import BlobRequest

        full = sizer.measure_blobs(
            [BlobRequest(r.source, r.merkle) for r in requests if r.source], "compact"
        )
        sizes = {str(req.source): m.size_on_disk for req, m in full.items()}
    else:
        sizes = sizer.size_blobs(requests, "compact")
    print(json.dumps({"sizes": sizes, "stats": sizer.stats.to_dict()}))
    """
)


@pytest.mark.parametrize("fully", [False, True], ids=["sizes", "full-measurements"])
def test_two_processes_never_compress_a_blob_twice(tmp_path: Path, fully: bool) -> None:
    files = []
    for i in range(12):
        path = tmp_path / f"blob{i}"
        path.write_bytes((f"content {i} ".encode() * 50_000)[: 300_000 + i])
        files.append(str(path))
    script = tmp_path / "measure.py"
    script.write_text(CONCURRENT)
    import time

    start = str(time.time() + 1.0)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])}
    if fully:
        env["MEASURE_FULLY"] = "1"
    procs = [
        subprocess.Popen(
            [sys.executable, str(script), str(tmp_path / "cache"), start, *order],
            stdout=subprocess.PIPE,
            env=env,
        )
        for order in (files, files[::-1])
    ]
    outs = [json.loads(p.communicate(timeout=120)[0]) for p in procs]
    assert outs[0]["sizes"] == outs[1]["sizes"]
    assert all(isinstance(v, int) for v in outs[0]["sizes"].values())
    compressed = sum(o["stats"]["blobs_compressed"] for o in outs)
    hits = sum(o["stats"]["cache_hits"] for o in outs)
    assert compressed == 12
    assert hits == 12
