"""OTA budgets as users run them: payloads encoded by ``protobuf`` (bare and in an OTA zip
with its payload_properties.txt), block-OTA transfer lists."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Product
from tests.unit.android.payload_builder import build, properties

WARNING = "pytest_sizebudget.plugin.SizeBudgetWarning"
MIB = 1 << 20

PARTS = [
    {"name": "system", "new_size": 8 * MIB, "data": [40_000, 20_000], "cow": 3 * MIB},
    {"name": "vendor", "new_size": 3 * MIB, "data": [10_000], "cow": MIB},
    {"name": "product", "new_size": 2 * MIB, "data": [5_000], "cow": MIB // 2},
]
GROUPS = [("main", 14 * MIB, ["system", "vendor", "product"])]


def budgets(product: Product, *entries: dict[str, Any]) -> None:
    product.budget_file({"ota_budgets": list(entries)}, "ota.sizebudget.json5")


def run(pytester: pytest.Pytester, *args: str) -> tuple[pytest.RunResult, dict[str, Any]]:
    result = pytester.runpytest(
        "--sizebudget", "--sizebudget-json=r.json", "-W", f"default::{WARNING}", *args
    )
    report = json.loads((pytester.path / "r.json").read_text())
    return result, {b["name"]: b for b in report["budgets"]}


def test_payload_within_its_budgets(pytester: pytest.Pytester, pt_product: Product) -> None:
    data = build(PARTS, GROUPS, snapshot=True)
    (pytester.path / "payload.bin").write_bytes(data)
    budgets(
        pt_product,
        {
            "name": "ota",
            "payload": "payload.bin",
            "download_budget_bytes": "100 KiB",
            "partition_budgets": {"system": "64 KiB"},
            "cow_budget_bytes": "5 MiB",
        },
    )
    result, report = run(pytester)
    result.assert_outcomes(passed=2)
    b = report["ota"]
    assert (b["used_bytes"], b["budget_bytes"]) == (len(data), 100 * 1024)
    ota = b["ota"]
    assert ota["data_bytes"] == 75_000
    assert ota["estimate_cow_bytes"] == 4 * MIB + MIB // 2
    assert ota["groups"] == [
        {
            "name": "main",
            "size": 14 * MIB,
            "partitions": ["system", "vendor", "product"],
            "new_sizes": 13 * MIB,
            "headroom": MIB,
        }
    ]
    assert [p["data_bytes"] for p in ota["partitions"]] == [60_000, 10_000, 5_000]


def test_payload_over_every_limit(pytester: pytest.Pytester, pt_product: Product) -> None:
    data = build(PARTS, [("main", 12 * MIB, ["system", "vendor", "product"])], snapshot=True)
    (pytester.path / "payload.bin").write_bytes(data)
    budgets(
        pt_product,
        {
            "name": "ota",
            "payload": "payload.bin",
            "download_budget_bytes": "64 KiB",
            "partition_budgets": {"system": "50 KiB", "vendor": "10 KiB"},
            "cow_budget_bytes": "4 MiB",
        },
    )
    result, report = run(pytester)
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*OTA budget 'ota': the payload is over download_budget_bytes by *",
            "*OTA budget 'ota' fails partition:system: partition 'system' carries 60,000 B *"
            "over its budget 51,200 B*",
            "*OTA budget 'ota' fails group:main: the new sizes of group 'main' (system, vendor, "
            "product) sum to 13,631,488 B (13.00 MiB), above its size 12,582,912 B (12.00 MiB): "
            "the device will refuse the update",
            "*OTA budget 'ota' fails cow: estimate_cow_size sums to *",
            "*partition*data*budget*new size*cow*",
            "*system*60,000 B*51,200 B*",
        ]
    )
    assert report["ota"]["failed_checks"] == ["partition:system", "group:main", "cow"]


def ota_zip(path: Path, data: bytes, props: str | None) -> None:
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("payload.bin", data)
        if props is not None:
            z.writestr("payload_properties.txt", props)
        z.writestr("META-INF/com/android/metadata", "ota-type=AB\n")


def test_ota_zip_and_its_properties(pytester: pytest.Pytester, pt_product: Product) -> None:
    data = build(PARTS, GROUPS)
    metadata = 24 + int.from_bytes(data[12:20], "big")
    ota_zip(pytester.path / "good.zip", data, properties(data, metadata))
    ota_zip(pytester.path / "stale.zip", data, properties(data + b"x", metadata))
    ota_zip(pytester.path / "wrong.zip", data, properties(data, metadata - 1))
    budgets(
        pt_product,
        {"name": "good", "payload": "good.zip", "download_budget_bytes": "1 MiB"},
        {"name": "stale", "payload": "stale.zip", "download_budget_bytes": "1 MiB"},
        {"name": "wrong", "payload": "wrong.zip", "download_budget_bytes": "1 MiB"},
    )
    result, report = run(pytester)
    result.assert_outcomes(passed=2, failed=2)
    good = report["good"]
    assert good["used_bytes"] == len(data)
    assert good["ota"]["zip_bytes"] == (pytester.path / "good.zip").stat().st_size
    assert good["ota"]["properties"]["FILE_SIZE"] == str(len(data))
    assert report["stale"]["error"] == (
        f"ota_budgets[1].payload: FILE_SIZE={len(data) + 1} "
        "(stale.zip:payload_properties.txt:2): but stale.zip:payload.bin has FILE_SIZE "
        f"{len(data):,}: the properties do not describe this payload"
    )
    assert "METADATA_SIZE" in report["wrong"]["error"]


def test_not_a_payload(pytester: pytest.Pytester, pt_product: Product) -> None:
    (pytester.path / "p.bin").write_bytes(b"nothing here")
    with zipfile.ZipFile(pytester.path / "ota.zip", "w") as z:
        z.writestr("system.new.dat", b"")
    budgets(
        pt_product,
        {"name": "p", "payload": "p.bin", "download_budget_bytes": 1},
        {"name": "z", "payload": "ota.zip", "download_budget_bytes": 1},
    )
    result, report = run(pytester)
    result.assert_outcomes(passed=1, failed=2)
    assert report["p"]["error"] == (
        "ota_budgets[0].payload: p.bin: offset 0: neither a payload.bin (magic CrAU) nor an "
        "OTA zip holding one"
    )
    assert report["z"]["error"] == "ota_budgets[1].payload: ota.zip: the zip holds no payload.bin"


def transfer(peak: int) -> str:
    return (
        f"4\n1000\n0\n{peak}\nstash 1234 2,0,{peak}\nbsdiff 0 10 a b 2,0,10 10 2,5,15\nfree 1234\n"
    )


def test_block_ota_stash(pytester: pytest.Pytester, pt_product: Product) -> None:
    with zipfile.ZipFile(pytester.path / "ota.zip", "w") as z:
        z.writestr("system.transfer.list", transfer(20_000))
        z.writestr("vendor.transfer.list", transfer(5_000))
        z.writestr("system.new.dat.br", b"")
    (pytester.path / "system.transfer.list").write_text(transfer(20_000))
    budgets(
        pt_product,
        # 20,000 blocks of 4 KiB = 81,920,000 B; 100 MiB x 0.8 = 83,886,080 B: fits.
        {"name": "fits", "transfer_list": "ota.zip", "cache_size": "100 MiB"},
        # 90 MiB x 0.8 = 75,497,472 B: the system partition's stash does not fit.
        {"name": "tight", "transfer_list": "system.transfer.list", "cache_size": "90 MiB"},
        {
            "name": "threshold",
            "transfer_list": ["system.transfer.list"],
            "cache_size": "100 MiB",
            "stash_threshold": 0.75,
        },
    )
    result, report = run(pytester)
    result.assert_outcomes(passed=2, failed=2)
    assert (report["fits"]["used_bytes"], report["fits"]["budget_bytes"]) == (
        81_920_000,
        83_886_080,
    )
    assert [s["partition"] for s in report["fits"]["ota"]["stashes"]] == ["system", "vendor"]
    result.stdout.fnmatch_lines(
        [
            "*OTA budget 'tight': partition system stashes 81,920,000 B (78.12 MiB) at its "
            "peak, over the /cache limit by 6,422,528 B (6.12 MiB)",
            "*limit*75,497,472 B*cache_size 94,371,840 B (90.00 MiB) × stash_threshold 0.8)",
        ]
    )
    assert report["threshold"]["budget_bytes"] == 78_643_200


def test_entry_errors(pytester: pytest.Pytester, pt_product: Product) -> None:
    budgets(
        pt_product,
        {"name": "a", "payload": "p.bin", "transfer_list": "t", "download_budget_bytes": 1},
        {"name": "b", "transfer_list": "t", "cache_size": 1, "stash_threshold": 1.5},
        {"name": "c", "payload": "p.bin", "download_budget_bytes": 1, "cache_size": 1},
    )
    result = pytester.runpytest("--sizebudget")
    result.stdout.fnmatch_lines(
        [
            "*ota_budgets[[]0[]]: needs exactly one of 'payload', 'transfer_list'; has both",
            "*ota_budgets[[]1[]].stash_threshold: must be a fraction above 0 and at most 1*",
            "*ota_budgets[[]2[]].cache_size: 'cache_size' belongs to a transfer_list budget, "
            "not a payload one",
        ]
    )


def test_baseline_names_what_grew(pytester: pytest.Pytester, pt_product: Product) -> None:
    (pytester.path / "payload.bin").write_bytes(build(PARTS))
    budgets(
        pt_product,
        {"name": "ota", "payload": "payload.bin", "download_budget_bytes": "1 MiB"},
    )
    run(pytester)
    (pytester.path / "base.json").write_bytes((pytester.path / "r.json").read_bytes())
    grown = [dict(PARTS[0]), *PARTS[1:]]
    grown[1] = {**PARTS[1], "data": [30_000]}
    (pytester.path / "payload.bin").write_bytes(build(grown))
    result, report = run(pytester, "--sizebudget-baseline=base.json")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        ["*grew by 20,001 B*", "*partition*data*budget*delta*", "*vendor*30,000 B*+20,000 B*"]
    )
    assert report["ota"]["ota"]["baseline_changes"] == [
        {"partition": "vendor", "old": 10_000, "new": 30_000, "delta": 20_000}
    ]


def test_html_report_draws_android_budgets(pytester: pytest.Pytester, pt_product: Product) -> None:
    (pytester.path / "payload.bin").write_bytes(build(PARTS, GROUPS))
    (pytester.path / "misc_info.txt").write_text(
        "use_dynamic_partitions=true\nsuper_partition_size=100000\n"
        "dynamic_partition_list=system\nsystem_image_size=40000\n"
        "super_partition_groups=main\nsuper_main_group_size=50000\n"
        "super_main_partition_list=system\n"
    )
    pt_product.budget_file(
        {
            "ota_budgets": [
                {"name": "ota", "payload": "payload.bin", "download_budget_bytes": "1 MiB"}
            ],
            "super_budgets": [{"name": "super", "info": "misc_info.txt"}],
        },
        "android.sizebudget.json5",
    )
    result = pytester.runpytest(
        "--sizebudget", "--sizebudget-html=r.html", "-W", f"default::{WARNING}"
    )
    result.assert_outcomes(passed=3)
    html = (pytester.path / "r.html").read_text()
    for text in ("group main", "per-slot limit (budget_bytes)", "download_budget_bytes", "vendor"):
        assert text in html, text
