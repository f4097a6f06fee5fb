"""The README's first command: the bundled example product passes."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).parents[2] / "conftest_examples"


def test_example_product_passes(pytester: pytest.Pytester) -> None:
    shutil.copytree(EXAMPLE, pytester.path / "conftest_examples")
    result = pytester.runpytest("--sizebudget", "conftest_examples", "--sizebudget-json=r.json")
    # 7 budget files: 7 measurement items and 25 budget items (24 budgets and one
    # total_budget_bytes), and 3 tests in test_sizes.py.
    result.assert_outcomes(passed=35)
    names = [b["name"] for b in json.loads((pytester.path / "r.json").read_text())["budgets"]]
    assert sorted(names) == sorted(
        [
            "/system (drivers and early boot)",
            "Core system+services",
            "Distributed shared libraries",
            "Software Delivery",
            "Connectivity",
            "Fonts",
            "ICU Data",
            "system partition",
            "boot partition",
            "recovery partition",
            "fvm",
            "Release 1 contents",
            "Release 2 contents",
            "OTA release 1 to 2",
            "Font files",
            "super (target-files)",
            "super (next system image)",
            "A/B payload",
            "block OTA stash",
            "blinky/FLASH",
            "blinky/RAM",
            "blinky/CCM",
            "esp32/blinky.bin",
            "nor/boot",
        ]
    )


def test_example_is_reproducible(tmp_path: Path) -> None:
    """regenerate.py rebuilds exactly the committed bytes."""
    copy = tmp_path / "conftest_examples"
    shutil.copytree(EXAMPLE, copy)
    shutil.rmtree(copy / "out")
    import runpy

    runpy.run_path(str(copy / "regenerate.py"), run_name="__main__")
    for path in sorted((EXAMPLE / "out").rglob("*")):
        if path.is_file():
            rebuilt = (copy / path.relative_to(EXAMPLE)).read_bytes()
            if path.suffix == ".gz":
                # Compressed bytes may differ between zlib builds; the content may not.
                assert gzip.decompress(rebuilt) == gzip.decompress(path.read_bytes()), path
                continue
            assert rebuilt == path.read_bytes(), path
    generated = {p.relative_to(copy) for p in (copy / "out").rglob("*") if p.is_file()}
    committed = {p.relative_to(EXAMPLE) for p in (EXAMPLE / "out").rglob("*") if p.is_file()}
    assert generated == committed


def test_example_update_numbers(pytester: pytest.Pytester) -> None:
    """The two-release example: what the update downloads and the space it needs."""
    shutil.copytree(EXAMPLE, pytester.path / "conftest_examples")
    pytester.runpytest("--sizebudget", "conftest_examples", "--sizebudget-json=r.json")
    budgets = json.loads((pytester.path / "r.json").read_text())["budgets"]
    ota = next(b for b in budgets if b["kind"] == "update")
    # peak = max(disk(1 ∪ 2), 2 x disk(2)) + update package blobs in neither
    assert (
        ota["peak_bytes"]
        == max(ota["union_bytes"], 2 * ota["to_bytes"]) + ota["update_package_extra_bytes"]
    )
    # download_bytes: the new blobs' Type-1 delivery blobs (their blobfs stored sizes
    # would be 128,384: small blobs, which blobfs stores raw, travel compressed).
    assert (ota["to_bytes"], ota["peak_bytes"], ota["download_bytes"]) == (319488, 688128, 121652)
    assert (
        sum(b["size"] for b in ota["new_blobs"])
        == ota["union_bytes"] - ota["from_bytes"] + ota["update_package_extra_bytes"]
    )
    assert len(example_bytes()) < 1_000_000


def example_bytes() -> bytes:
    return b"".join(p.read_bytes() for p in sorted(EXAMPLE.rglob("*")) if p.is_file())
