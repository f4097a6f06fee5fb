"""Product and update budgets end to end: items, failure text, JSON, Gerrit, JUnit, xdist."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest
import zstandard

from tests.conftest import Product
from tests.unit.test_product import ON_DISK, STORED, scenario


def budgets(product: Product, capacity: int = 204800, download: int = 73000) -> None:
    scenario(product)
    product.budget_file(
        {
            "blob_sizes": "blobs.json",
            "product_budgets": [
                {
                    "name": "Release 1",
                    "max_contents_bytes": 98304,
                    "packages": ["v1/sys.json", "v1/app.json"],
                },
                {
                    "name": "Release 2",
                    "max_contents_bytes": 114687,
                    "creep_budget_bytes": 100,
                    "packages": ["v2/sys.json", "v2/app.json"],
                },
            ],
            "update_budgets": [
                {
                    "name": "OTA 1 to 2",
                    "capacity_bytes": capacity,
                    "download_budget_bytes": download,
                    # The blobs are not on disk: count the stored sizes blobs.json states.
                    "download_size": "stored",
                    "from": {"packages": ["v1/sys.json", "v1/app.json"]},
                    "to": {"packages": ["v2/sys.json", "v2/app.json"]},
                    "update_package": "v2/update.json",
                }
            ],
        }
    )


def test_one_item_per_entry_and_reports(pytester: pytest.Pytester, pt_product: Product) -> None:
    budgets(pt_product)
    result = pytester.runpytest(
        "--sizebudget",
        "--sizebudget-json=r.json",
        "--sizebudget-gerrit=g.json",
        "--junitxml=j.xml",
        "-o",
        "junit_family=xunit1",
    )
    # Release 2 is 114688 bytes (see tests/unit/test_product.py), one over its maximum.
    result.assert_outcomes(passed=3, failed=1)
    result.stdout.fnmatch_lines(
        [
            "Product 'Release 2' is over budget by 1 B",
            "  used          114,688 B",
            "*PACKAGE / BLOB*SIZE*SHARED BY*CHARGED",
            "  app  (v2/app.json)*",
        ]
    )
    report = json.loads((pytester.path / "r.json").read_text())
    by_name = {b["name"]: b for b in report["budgets"]}
    assert by_name["Release 1"]["used_bytes"] == 98304
    assert by_name["Release 1"]["kind"] == "product"
    assert by_name["Release 1"]["distinct_blobs"] == 5
    apps = [p for p in by_name["Release 1"]["packages"] if p["name"] == "app"]
    # app: meta N0 8192 + lib L 16384 (shared with system: psize 8192) + data D 40960
    assert apps[0]["used_space_in_blobfs"] == 8192 + 16384 + 40960
    assert apps[0]["proportional_size"] == 8192 + 8192 + 40960
    ota = by_name["OTA 1 to 2"]
    assert (ota["kind"], ota["used_bytes"], ota["peak_bytes"], ota["download_bytes"]) == (
        "update",
        204800,
        204800,
        sum(STORED.values()),
    )
    assert ota["passed"] is True
    assert {n["merkle"] for n in ota["new_blobs"]} == set(STORED)
    gerrit = json.loads((pytester.path / "g.json").read_text())
    assert gerrit["OTA 1 to 2"] == 204800
    assert gerrit["OTA 1 to 2.budget"] == 204800
    assert gerrit["Release 2.creepBudget"] == 100
    props = {
        (case.get("name"), p.get("name")): p.get("value")
        for case in ET.parse(pytester.path / "j.xml").iter("testcase")
        for p in case.iter("property")
    }
    assert props[("OTA 1 to 2", "sizebudget.download_bytes")] == "73000"
    assert props[("OTA 1 to 2", "sizebudget.peak_bytes")] == "204800"
    assert props[("Release 1", "sizebudget.used_bytes")] == "98304"


def test_update_failure_names_the_largest_new_blobs(
    pytester: pytest.Pytester, pt_product: Product
) -> None:
    budgets(pt_product, capacity=204799, download=72999)
    result = pytester.runpytest("--sizebudget")
    result.assert_outcomes(passed=2, failed=2)
    result.stdout.fnmatch_lines(
        [
            "*_ size budget: OTA 1 to 2 _*",
            "Update 'OTA 1 to 2' is over budget: peak_bytes over capacity_bytes by 1 B; "
            "download_bytes over download_budget_bytes by 1 B",
            "  peak            204,800 B",
            "  capacity        204,799 B",
            "  peak is         max(disk(from ∪ to) 188,416 B, 1 × disk(to) 114,688 B) + update "
            "package blobs in neither 16,384 B",
            "  download        73,000 B",
            "  download budget 72,999 B (71.29 KiB)",
            "  from            packages v1/sys.json, v1/app.json: 98,304 B on disk",
            "Largest contributors to the peak excess (4 of 4 blobs in 'to' or the update "
            "package and not in 'from'); removing one saves:",
            "  NEW BLOB (package: path)*ON DISK*DOWNLOAD*SAVES PEAK*SAVES DOWNLOAD",
            "  app: data/d  ?????????????? *49,152 B*45,000 B*49,152 B*45,000 B",
            "  system: bin/a (+1 more)  ?????????????? *32,768 B*20,000 B*32,768 B*20,000 B",
            "  update: meta/  ??????????????*16,384 B*5,000 B*16,384 B*5,000 B",
            "  system: meta/  ??????????????*8,192 B*3,000 B*8,192 B*3,000 B",
        ]
    )
    result.stdout.no_fnmatch_line("*Traceback*")
    assert ON_DISK  # the numbers above are computed in tests/unit/test_product.py


def test_unreadable_to_fails_only_its_item(pytester: pytest.Pytester, pt_product: Product) -> None:
    scenario(pt_product)
    pt_product.budget_file(
        {
            "blob_sizes": "blobs.json",
            "package_set_budgets": [
                {"name": "set", "budget_bytes": "1 MiB", "packages": ["v1/sys.json"]}
            ],
            "update_budgets": [
                {
                    "name": "OTA",
                    "capacity_bytes": "1 MiB",
                    "from": {"packages": ["v1/sys.json"]},
                    "to": {"images_manifest": "v2/images.json"},
                }
            ],
        }
    )
    result = pytester.runpytest("--sizebudget")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(
        [
            "Update 'OTA' could not be checked",
            "update_budgets[0].to.images_manifest: v2/images.json: does not exist",
        ]
    )


@pytest.mark.parametrize("xdist_args", [["-n", "2"], ["-p", "no:xdist"]], ids=["n2", "no-xdist"])
def test_same_json_with_and_without_xdist(
    pytester: pytest.Pytester, pt_product: Product, xdist_args: list[str]
) -> None:
    budgets(pt_product, capacity=204799)
    base = pytester.runpytest("--sizebudget", "--sizebudget-json=base.json")
    other = pytester.runpytest("--sizebudget", "--sizebudget-json=other.json", *xdist_args)
    assert base.parseoutcomes() == other.parseoutcomes()
    assert (pytester.path / "base.json").read_bytes() == (pytester.path / "other.json").read_bytes()


def test_measured_blobs_go_through_the_sizers_cache(pytester: pytest.Pytester) -> None:
    """No blobs.json: the default sizer's engines measure, and fill its cache."""
    from pytest_sizebudget.measure.merkle import merkle_root

    data = {"a": b"a" * 20000, "b": b"b" * 100}
    for name, content in data.items():
        (pytester.path / name).write_bytes(content)
    for release, names in (("v1", ["a"]), ("v2", ["a", "b"])):
        manifest = {
            "version": "1",
            "package": {"name": "p", "version": "0"},
            "blobs": [
                {"source_path": n, "path": n, "merkle": merkle_root(data[n]), "size": len(data[n])}
                for n in names
            ],
        }
        (pytester.path / f"{release}.json").write_text(json.dumps(manifest))
    (pytester.path / "u.sizebudget.json5").write_text(
        json.dumps(
            {
                "update_budgets": [
                    {
                        "name": "u",
                        "capacity_bytes": "1 MiB",
                        "download_budget_bytes": 112,
                        "from": {"packages": ["v1.json"]},
                        "to": {"packages": ["v2.json"]},
                    }
                ]
            }
        )
    )
    result = pytester.runpytest(
        "--sizebudget", "--sizebudget-cache-dir=cache", "--sizebudget-json=r.json"
    )
    result.assert_outcomes(passed=2)
    ota = json.loads((pytester.path / "r.json").read_text())["budgets"][0]
    # b as a Type-1 delivery blob: 28-byte header, then its archive (32-byte header, one
    # 32-byte seek entry, one level-14 frame with checksum), not larger than its 100 bytes.
    frame = len(zstandard.ZstdCompressor(level=14, write_checksum=True).compress(data["b"]))
    assert ota["download_bytes"] == 28 + 32 + 32 + frame == 112
    assert ota["parameters"]["download_size"] == "delivery_blob"
    assert ota["peak_bytes"] == 8192 + 8192  # a (zstd keeps it in one block) + b
    assert any(p.is_file() for p in (pytester.path / "cache").rglob("*"))
