"""Flash budgets as users run them: binaries against an ESP-IDF partition table (with
``check_sizes.py``'s pass/warn/fail rules) and against an inline flash layout."""

from __future__ import annotations

import json
from typing import Any

import pytest

WARNING = "pytest_sizebudget.plugin.SizeBudgetWarning"
KIB, MIB = 1024, 1 << 20

TABLE = """# Name,   Type, SubType, Offset,   Size, Flags
nvs,      data, nvs,     ,        0x4000,
otadata,  data, ota,     ,        0x2000,
phy_init, data, phy,     ,        0x1000,
factory,  app,  factory, ,        1M,
ota_0,    app,  ota_0,   ,        960K,
storage,  data, spiffs,  ,        64K,
"""


def setup(pytester: pytest.Pytester, files: dict[str, int | str], *entries: dict[str, Any]) -> None:
    pytester.makeini("[pytest]\nconsole_output_style = classic\n")
    for name, content in files.items():
        path = pytester.path / name
        if isinstance(content, int):
            path.write_bytes(b"\xe9" * content)
        else:
            path.write_text(content)
    (pytester.path / "flash.sizebudget.json5").write_text(
        json.dumps({"flash_budgets": list(entries)}, indent=1)
    )


def run(pytester: pytest.Pytester, *args: str) -> tuple[pytest.RunResult, dict[str, Any]]:
    result = pytester.runpytest(
        "--sizebudget", "--sizebudget-json=r.json", "-W", f"default::{WARNING}", *args
    )
    report = json.loads((pytester.path / "r.json").read_text())
    return result, {b["name"]: b for b in report["budgets"]}


def esp(*images: dict[str, Any], **more: Any) -> dict[str, Any]:
    return {"name": "esp", "partitions": "partitions.csv", "images": list(images), **more}


def test_app_fits_every_app_partition(pytester: pytest.Pytester) -> None:
    setup(
        pytester,
        {"partitions.csv": TABLE, "app.bin": 900 * KIB},
        esp({"image": "app.bin", "type": "app"}),
    )
    result, report = run(pytester)
    app = report["esp/app.bin"]
    assert (app["used_bytes"], app["budget_bytes"], app["passed"]) == (900 * KIB, MIB, True)
    assert [(p["name"], p["offset"], p["size"]) for p in app["flash"]["partitions"]] == [
        ("ota_0", 0x110000, 960 * KIB),
        ("factory", 0x10000, MIB),
    ]
    result.assert_outcomes(passed=2, warnings=0)


def test_app_missing_some_partitions_passes_with_check_sizes_warning(
    pytester: pytest.Pytester,
) -> None:
    setup(
        pytester,
        {"partitions.csv": TABLE, "app.bin": 1000 * KIB},
        esp({"image": "app.bin", "type": "app"}),
    )
    result, report = run(pytester)
    assert report["esp/app.bin"]["passed"] is True
    result.assert_outcomes(passed=2, warnings=1)
    result.stdout.fnmatch_lines(
        [
            "*1/2 app partitions are too small for binary app.bin size 0xfa000: ota_0 size 0xf0000 (overflow 0xa000)*"
        ]
    )


def test_app_nearly_filling_the_smallest_partition_warns(pytester: pytest.Pytester) -> None:
    setup(
        pytester,
        {"partitions.csv": TABLE, "app.bin": 950 * KIB},
        esp({"image": "app.bin", "type": "app"}),
    )
    result, _ = run(pytester)
    result.assert_outcomes(passed=2, warnings=1)
    result.stdout.fnmatch_lines(
        ["*the smallest app partition (ota_0) is nearly full (1% free space left)*"]
    )


def test_app_fitting_no_partition_fails(pytester: pytest.Pytester) -> None:
    setup(
        pytester,
        {"partitions.csv": TABLE, "app.bin": MIB + 1},
        esp({"image": "app.bin", "type": "app"}),
    )
    result, report = run(pytester)
    assert report["esp/app.bin"]["passed"] is False
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "Flash image 'esp/app.bin': all 2 app partitions are too small, over the largest by 1 B",
            "  binary        app.bin: 1,048,577 B (1.00 MiB) (0x100001)",
            "  layout        partitions.csv",
            "  partition     ota_0 at 0x110000, size 0xf0000 (983,040 B): overflow 0x10001",
            "  partition     factory at 0x10000, size 0x100000 (1,048,576 B): overflow 0x1",
        ]
    )


def test_must_fit_all_subtypes_partitions_and_bootloader(pytester: pytest.Pytester) -> None:
    setup(
        pytester,
        {"partitions.csv": TABLE, "app.bin": 1000 * KIB, "fs.bin": 70_000, "boot.bin": 0x7000},
        esp(
            {"image": "app.bin", "type": "app", "label": "strict"},
            {"image": "app.bin", "type": "app", "subtype": "factory", "label": "factory"},
            {"image": "fs.bin", "partition": "storage"},
            {"image": "boot.bin", "type": "bootloader"},
            must_fit="all",
            bootloader_offset=0x1000,
        ),
    )
    result, report = run(pytester)
    assert {n: (e["budget_bytes"], e["passed"]) for n, e in report.items()} == {
        "esp/strict": (960 * KIB, False),
        "esp/factory": (MIB, True),
        "esp/fs.bin": (64 * KIB, False),
        "esp/boot.bin": (0x7000, True),  # 0x8000 - 0x1000, exactly full
    }
    result.assert_outcomes(passed=3, failed=2)


def test_layout_larger_than_the_flash_fails_every_binary(pytester: pytest.Pytester) -> None:
    setup(
        pytester,
        {"partitions.csv": TABLE, "app.bin": 100},
        esp({"image": "app.bin", "type": "app"}, flash_size="2 MiB"),
    )
    result, report = run(pytester)
    assert report["esp/app.bin"]["flash"]["failed_checks"] == ["flash_size"]
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "Flash image 'esp/app.bin': the partition layout needs 2,162,688 B (2.06 MiB) of flash, more than flash_size 2,097,152 B (2.00 MiB)"
        ]
    )


def test_bad_table_and_missing_binary_stay_with_their_budgets(pytester: pytest.Pytester) -> None:
    setup(
        pytester,
        {"partitions.csv": TABLE, "bad.csv": "nvs, data, nvs, , 0x1000\n", "app.bin": 100},
        {"name": "bad", "partitions": "bad.csv", "images": [{"image": "app.bin", "type": "app"}]},
        esp(
            {"image": "app.bin", "type": "app"},
            {"image": "gone.bin", "type": "app"},
            {"image": "app.bin", "type": "data", "subtype": "fat", "label": "fat"},
        ),
    )
    result, report = run(pytester)
    assert report["bad/app.bin"]["error"] == (
        "flash_budgets[0].partitions: bad.csv: nvs: an nvs partition must be at least 0x3000 "
        "bytes (it is 0x1000)"
    )
    assert (
        report["esp/gone.bin"]["error"]
        == "flash_budgets[1].images[1].image: gone.bin: does not exist"
    )
    assert report["esp/fat"]["error"] == (
        "flash_budgets[1].images[2]: no data/fat partition in partitions.csv: nothing to check "
        "the binary against"
    )
    assert report["esp/app.bin"]["passed"] is True
    result.assert_outcomes(passed=2, failed=3)


def test_inline_nor_layout(pytester: pytest.Pytester) -> None:
    setup(
        pytester,
        {"u-boot.bin": 300 * KIB, "kernel.bin": 5 * MIB},
        {
            "name": "bmc",
            "flash_size": "32 MiB",
            "partitions": [
                {"name": "u-boot", "offset": 0, "size": "384 KiB", "image": "u-boot.bin"},
                {"name": "u-boot-env", "offset": 0x60000, "size": "128 KiB"},
                {"name": "kernel", "offset": 0x80000, "size": "4.5 MiB", "image": "kernel.bin"},
                {"name": "rofs", "offset": 0x500000, "size": "24 MiB"},
            ],
        },
    )
    result, report = run(pytester)
    assert {n: (e["used_bytes"], e["budget_bytes"], e["passed"]) for n, e in report.items()} == {
        "bmc/u-boot": (300 * KIB, 384 * KIB, True),
        "bmc/kernel": (5 * MIB, 4608 * KIB, False),
    }
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(
        ["Flash image 'bmc/kernel' does not fit partition 'kernel': over by 524,288 B (512.00 KiB)"]
    )


def test_inline_layout_that_overlaps_is_a_budget_file_error(pytester: pytest.Pytester) -> None:
    setup(
        pytester,
        {"a.bin": 1},
        {
            "name": "bmc",
            "partitions": [
                {"name": "a", "offset": 0, "size": 8192, "image": "a.bin"},
                {"name": "b", "offset": 4096, "size": 4096},
            ],
        },
    )
    result = pytester.runpytest("--sizebudget")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*flash_budgets[[]0[]].partitions: partitions overlap: b at 0x1000 starts inside a (0x0-0x1fff)*"
        ]
    )
