"""Super budgets as users run them: info files, target-files (directory and zip), super
images (raw, sparse through the real img2simg, super_empty), with AOSP's verdicts."""

from __future__ import annotations

import json
import shutil
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Product
from tests.unit.android.lp_builder import MIB, Layout, Part, super_empty, write_super
from tests.unit.images import sparse_builders as sb

WARNING = "pytest_sizebudget.plugin.SizeBudgetWarning"

# AOSP's test dictionary (test_check_partition_sizes.py), sizes in bytes.
AOSP = """\
use_dynamic_partitions=true
ab_update=true
super_block_devices=super
dynamic_partition_list=system vendor product
super_partition_groups=group
super_group_partition_list=system vendor product
super_partition_size=202
super_super_device_size=202
super_group_group_size=100
system_image_size=50
vendor_image_size=20
product_image_size=20
system_other_image_size=10
"""


def lit(text: str) -> str:
    """``text`` as an fnmatch pattern that matches only itself (brackets are classes)."""
    return "".join(f"[{c}]" if c in "[]*?" else c for c in text)


def budgets(product: Product, *entries: dict[str, Any]) -> None:
    product.budget_file({"super_budgets": list(entries)}, "super.sizebudget.json5")


def run(pytester: pytest.Pytester, *args: str) -> tuple[pytest.RunResult, dict[str, Any]]:
    # The outer run may turn warnings into errors; warnings are checked where they matter.
    result = pytester.runpytest(
        "--sizebudget", "--sizebudget-json=r.json", "-W", f"default::{WARNING}", *args
    )
    report = json.loads((pytester.path / "r.json").read_text())
    return result, {b["name"]: b for b in report["budgets"]}


def test_aosp_dictionary_passes_with_the_metadata_warning(
    pytester: pytest.Pytester, pt_product: Product
) -> None:
    (pytester.path / "misc_info.txt").write_text(AOSP)
    budgets(pt_product, {"name": "super", "info": "misc_info.txt"})
    result, report = run(pytester)
    result.assert_outcomes(passed=2, warnings=1)
    result.stdout.fnmatch_lines(
        [
            "*"
            + lit(
                "SizeBudgetWarning: super budget 'super' passes with AOSP's warning: sum of "
                "sizes of ['group'] plus 1M metadata is greater than BOARD_SUPER_PARTITION_SIZE"
                " / 2: 100+1048576 == 1048676 > 101 == 101 (super.sizebudget.json5:"
            )
            + "*"
        ]
    )
    b = report["super"]
    assert (b["used_bytes"], b["budget_bytes"], b["passed"]) == (90, 101, True)
    s = b["super"]
    assert s["slots"] == 2
    assert s["slots_reason"].startswith("A/B")
    assert s["warn_limit"] == {"bytes": 191, "source": "default: 95% of super"}
    assert [c["verdict"] for c in s["checks"]] == ["pass"] * 5 + ["warn"]
    assert s["groups"] == [
        {
            "name": "group",
            "size": 100,
            "used": 90,
            "headroom": 10,
            "partitions": ["system", "vendor", "product"],
        }
    ]
    assert s["aosp_verdict"] == "warn"
    assert b["failed_checks"] == []


@pytest.mark.parametrize(
    ("update", "first_line", "second_line"),
    [
        (
            "system_image_size=100",
            "sum of sizes of ['system', 'vendor', 'product'] is greater than "
            "BOARD_SUPER_PARTITION_SIZE / 2:",
            "100+20+20 == 140 > 101 == 101",
        ),
        (
            "super_group_group_size=110",
            "sum of sizes of ['group'] is greater than or equal to BOARD_SUPER_PARTITION_SIZE / 2:",
            "110 == 110 >= 101 == 101",
        ),
        (
            "virtual_ab=true\nsystem_other_image_size=20\nsuper_partition_size=101",
            "sum of sizes of ['system', 'vendor', 'product', 'system_other'] is greater than "
            "BOARD_SUPER_PARTITION_SIZE:",
            "50+20+20+20 == 110 > 101 == 101",
        ),
        (
            "dynamic_partition_retrofit=true\nsuper_block_devices=system vendor\n"
            "super_system_device_size=80\nsuper_vendor_device_size=25\nsuper_partition_size=100",
            "sum of super partition block device sizes does not equal BOARD_SUPER_PARTITION_SIZE:",
            "80+25 == 105 != 100 == 100",
        ),
    ],
    ids=["partition-too-big", "group-too-big", "vab-system-other", "retrofit-devices"],
)
def test_aosp_failures_in_aosp_words(
    pytester: pytest.Pytester, pt_product: Product, update: str, first_line: str, second_line: str
) -> None:
    (pytester.path / "misc_info.txt").write_text(AOSP)
    (pytester.path / "board.txt").write_text(update + "\n")
    budgets(pt_product, {"name": "super", "info": ["misc_info.txt", "board.txt"]})
    result, report = run(pytester)
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*Super budget 'super' fails AOSP's check_partition_sizes:",
            "*" + lit(first_line),
            "*" + lit(second_line),
        ]
    )
    result.stdout.fnmatch_lines(["*partition*group*size*from*", "*group*size*used*headroom*"])
    assert report["super"]["super"]["aosp_verdict"] == "fail"


def test_images_sparse_and_raw_with_alignment(
    pytester: pytest.Pytester, pt_product: Product
) -> None:
    # A 1 MiB sparse image (expanded size counts, not its file length) and a raw one.
    (pytester.path / "system.img").write_bytes(
        sb.android_sparse([sb.raw(4, 4096), sb.fill(16), sb.dont_care(236)])
    )
    (pytester.path / "vendor.img").write_bytes(b"\1" * 10_000)
    (pytester.path / "info.txt").write_text(
        "use_dynamic_partitions=true\nsuper_partition_size=4194304\n"
        "dynamic_partition_list=system vendor\nsuper_partition_alignment=65536\n"
        "system_image=system.img\nvendor_image=vendor.img\n"
        "super_partition_groups=main\nsuper_main_group_size=3145728\n"
        "super_main_partition_list=system vendor\n"
    )
    budgets(pt_product, {"name": "s", "info": "info.txt"})
    result, report = run(pytester)
    result.assert_outcomes(passed=2)
    s = report["s"]["super"]
    parts = {p["name"]: p for p in s["partitions"]}
    assert (parts["system"]["bytes"], parts["system"]["format"]) == (MIB, "android_sparse")
    assert (parts["vendor"]["bytes"], parts["vendor"]["aligned_bytes"]) == (10_000, 65536)
    assert report["s"]["used_bytes"] == MIB + 65536
    assert report["s"]["budget_bytes"] == 4 * MIB
    assert s["alignment"] == 65536


def test_missing_image_is_a_clear_error(pytester: pytest.Pytester, pt_product: Product) -> None:
    (pytester.path / "info.txt").write_text(AOSP.replace("system_image_size=50\n", ""))
    (pytester.path / "misc.txt").write_text(AOSP)
    budgets(
        pt_product,
        {"name": "broken", "info": "info.txt"},
        {"name": "fine", "info": "misc.txt"},
    )
    result, report = run(pytester)
    result.assert_outcomes(passed=2, failed=1)
    assert report["broken"]["error"] == (
        "super_budgets[0].info: partition 'system' has no size: none of images.system in "
        "the budget, system_image_size, system_image"
    )
    result.stdout.no_fnmatch_line("*Traceback*")


def _target_files(root: Path, *, sparse_system: bool) -> dict[str, bytes]:
    system = (
        sb.android_sparse([sb.raw(4, 4096), sb.dont_care(508)])  # 2 MiB expanded
        if sparse_system
        else b"\2" * (2 * MIB)
    )
    files = {
        "META/misc_info.txt": (
            b"recovery_api_version=3\nfstab_version=2\nab_update=true\n"
            b"use_dynamic_partitions=true\nsuper_partition_size=16777216\n"
        ),
        "META/dynamic_partitions_info.txt": (
            b"use_dynamic_partitions=true\nvirtual_ab=true\nsuper_partition_size=8388608\n"
            b"dynamic_partition_list= system vendor\nsuper_partition_groups=main\n"
            b"super_main_group_size=6291456\nsuper_main_partition_list=system vendor\n"
        ),
        "IMAGES/system.img": system,
        "IMAGES/vendor.img": b"\3" * MIB,
        "IMAGES/system_other.img": b"\4" * (3 * MIB),
    }
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return files


@pytest.mark.parametrize("form", ["directory", "zip"])
def test_target_files(pytester: pytest.Pytester, pt_product: Product, form: str) -> None:
    files = _target_files(pytester.path / "tf", sparse_system=True)
    target = "tf"
    if form == "zip":
        with zipfile.ZipFile(pytester.path / "tf.zip", "w", zipfile.ZIP_DEFLATED) as z:
            for name, data in files.items():
                z.writestr(name, data)
        shutil.rmtree(pytester.path / "tf")
        target = "tf.zip"
    budgets(pt_product, {"name": "tf", "target_files": target})
    result, report = run(pytester)
    # Launch Virtual A/B: 1 slot of 8 MiB; system_other counts (2 + 1 + 3 MiB).
    result.assert_outcomes(passed=2)
    b = report["tf"]
    assert (b["used_bytes"], b["budget_bytes"]) == (6 * MIB, 8 * MIB)
    parts = {p["name"]: p for p in b["super"]["partitions"]}
    assert parts["system"]["format"] == "android_sparse"
    assert parts["system_other"]["counted"] is True
    assert b["super"]["slots"] == 1


def test_target_files_without_misc_info(pytester: pytest.Pytester, pt_product: Product) -> None:
    (pytester.path / "tf" / "IMAGES").mkdir(parents=True)
    budgets(pt_product, {"name": "tf", "target_files": "tf"})
    result, report = run(pytester)
    result.assert_outcomes(passed=1, failed=1)
    assert report["tf"]["error"] == (
        "super_budgets[0].target_files: tf/META/misc_info.txt: does not exist "
        "(every target-files has it)"
    )


def _layout(system: int, vendor: int) -> Layout:
    return Layout(
        device_size=32 * MIB,
        partitions=[
            Part("system_a", system, "main_a"),
            Part("vendor_a", vendor, "main_a"),
            Part("system_b", 0, "main_b"),
            Part("vendor_b", 0, "main_b"),
        ],
        groups=[("main_a", 12 * MIB, 0), ("main_b", 12 * MIB, 0)],
    )


def test_super_image_and_its_info_agree(pytester: pytest.Pytester, pt_product: Product) -> None:
    # The same device three ways: a super_empty.img, a full super.img made sparse by the
    # real img2simg, and the info file with the images the super image was built from.
    img2simg = shutil.which("img2simg")
    if img2simg is None:
        pytest.skip("img2simg not installed (apt-get install android-sdk-libsparse-utils)")
    layout = _layout(5 * MIB, 3 * MIB)
    (pytester.path / "super_empty.img").write_bytes(super_empty(layout))
    system, vendor = b"\5" * (5 * MIB), b"\6" * (3 * MIB)
    write_super(pytester.path / "super.raw", layout, {"system_a": system, "vendor_a": vendor})
    subprocess.run(
        [img2simg, str(pytester.path / "super.raw"), str(pytester.path / "super.img")], check=True
    )
    (pytester.path / "super.raw").unlink()
    (pytester.path / "system.img").write_bytes(system)
    (pytester.path / "vendor.img").write_bytes(vendor)
    (pytester.path / "info.txt").write_text(
        f"use_dynamic_partitions=true\nab_update=true\nsuper_partition_size={32 * MIB}\n"
        "super_block_devices=super\nsuper_super_device_size=33554432\n"
        "dynamic_partition_list=system vendor\nsuper_partition_groups=main\n"
        f"super_main_group_size={12 * MIB}\nsuper_main_partition_list=system vendor\n"
        "system_image=system.img\nvendor_image=vendor.img\n"
    )
    budgets(
        pt_product,
        {"name": "empty", "super_image": "super_empty.img"},
        {"name": "full", "super_image": "super.img"},
        {"name": "info", "info": "info.txt"},
    )
    result, report = run(pytester)
    result.assert_outcomes(passed=4)
    sizes = {
        name: (
            b["used_bytes"],
            b["budget_bytes"],
            [(p["name"], p["bytes"]) for p in b["super"]["partitions"]],
            b["super"]["groups"],
            [(c["id"], c["verdict"]) for c in b["super"]["checks"]],
        )
        for name, b in report.items()
    }
    assert sizes["empty"] == sizes["full"] == sizes["info"]
    assert sizes["info"][:2] == (8 * MIB, 16 * MIB)
    assert report["full"]["super"]["metadata"]["container"] == "android_sparse"
    assert report["empty"]["super"]["metadata"]["container"] == "super_empty"


def test_super_image_with_new_images(pytester: pytest.Pytester, pt_product: Product) -> None:
    # An existing layout, tomorrow's images: `images` overrides the metadata's sizes.
    (pytester.path / "super_empty.img").write_bytes(super_empty(_layout(5 * MIB, 3 * MIB)))
    (pytester.path / "system.img").write_bytes(b"\7" * (15 * MIB))
    budgets(
        pt_product,
        {"name": "next", "super_image": "super_empty.img", "images": {"system": "system.img"}},
    )
    result, report = run(pytester)
    result.assert_outcomes(passed=1, failed=1)
    b = report["next"]
    assert b["used_bytes"] == 18 * MIB
    assert b["budget_bytes"] == 16 * MIB
    result.stdout.fnmatch_lines(
        [
            "*"
            + lit(
                "sum of sizes of ['system', 'vendor'] is greater than BOARD_SUPER_PARTITION_SIZE / 2:"
            ),
            "*15728640+3145728 == 18874368 > 16777216 == 16777216",
            "*" + lit("sum of sizes of ['system', 'vendor'] is greater than BOARD_main_SIZE:"),
        ]
    )
    assert b["failed_checks"] == ["group:main"]


def test_damaged_super_image(pytester: pytest.Pytester, pt_product: Product) -> None:
    data = bytearray(super_empty(_layout(MIB, MIB)))
    data[4096 + 100] ^= 0xFF
    (pytester.path / "super_empty.img").write_bytes(bytes(data))
    (pytester.path / "misc.txt").write_text(AOSP)
    budgets(
        pt_product,
        {"name": "bad", "super_image": "super_empty.img"},
        {"name": "good", "info": "misc.txt"},
    )
    result, report = run(pytester)
    result.assert_outcomes(passed=2, failed=1)
    assert report["bad"]["error"] == (
        "super_budgets[0].super_image: super_empty.img: offset 4108: metadata header "
        "checksum (SHA-256) does not match"
    )


def test_entry_needs_exactly_one_input(pytester: pytest.Pytester, pt_product: Product) -> None:
    budgets(pt_product, {"name": "x", "info": "a.txt", "super_image": "s.img"})
    result = pytester.runpytest("--sizebudget")
    result.stdout.fnmatch_lines(
        [
            "*super.sizebudget.json5:*: super_budgets[[]0[]]: needs exactly one of 'info', "
            "'target_files', 'super_image'; has 'info' and 'super_image'"
        ]
    )


def test_xdist_gives_the_same_report(pytester: pytest.Pytester, pt_product: Product) -> None:
    pytest.importorskip("xdist")
    (pytester.path / "misc_info.txt").write_text(AOSP)
    (pytester.path / "super_empty.img").write_bytes(super_empty(_layout(MIB, MIB)))
    budgets(
        pt_product,
        {"name": "a", "info": "misc_info.txt"},
        {"name": "b", "super_image": "super_empty.img"},
    )
    pytester.runpytest("--sizebudget", "--sizebudget-json=one.json")
    pytester.runpytest("--sizebudget", "--sizebudget-json=two.json", "-n", "2")
    one = json.loads((pytester.path / "one.json").read_text())["budgets"]
    two = json.loads((pytester.path / "two.json").read_text())["budgets"]
    assert one == two


def test_baseline_names_what_grew(pytester: pytest.Pytester, pt_product: Product) -> None:
    info = AOSP.replace("super_partition_size=202", "super_partition_size=2000").replace(
        "super_group_group_size=100", "super_group_group_size=900"
    )
    (pytester.path / "misc_info.txt").write_text(info)
    budgets(pt_product, {"name": "super", "info": "misc_info.txt", "creep_budget_bytes": 5})
    run(pytester)
    (pytester.path / "base.json").write_bytes((pytester.path / "r.json").read_bytes())
    (pytester.path / "misc_info.txt").write_text(
        info.replace("vendor_image_size=20", "vendor_image_size=37")
    )
    result, report = run(pytester, "--sizebudget-baseline=base.json")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*Super budget 'super' grew by 17 B since the baseline, over its creep budget*",
            "*partition*group*size*delta*from*",
            "*vendor*group*37*+17 B*vendor_image_size*",
            "*group*size*used*headroom*delta*",
            "*group*900*107*+793 B*+17 B*",
        ]
    )
    assert report["super"]["super"]["baseline_changes"] == [
        {"what": "group", "name": "group", "old": 90, "new": 107, "delta": 17},
        {"what": "partition", "name": "vendor", "old": 20, "new": 37, "delta": 17},
    ]
