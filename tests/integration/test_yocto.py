"""Yocto package sets and root filesystems as users run them: ``pytest --sizebudget`` over
buildhistory trees, pkgdata and unpacked rootfs directories generated in the tests."""

from __future__ import annotations

import json
import os
import shutil
from typing import Any

import pytest

from tests.conftest import Product
from tests.unit.test_rootfs_walk import rootfs
from tests.yocto_trees import YoctoPackageSpec, write_buildhistory, write_pkgdata

BUSYBOX = YoctoPackageSpec(
    "busybox", {"/bin/busybox": b"B" * 700_001, "/bin/sh": ("link", "busybox")}
)
LIBC = YoctoPackageSpec(
    "glibc",
    {"/lib/libc.so.6": b"C" * 1_900_123, "/lib/ld-linux-x86-64.so.2": b"L" * 210_000},
    renamed="libc6",
)
BASE = YoctoPackageSpec("base-files", {"/etc/issue": b"Poky\n", "/etc/hostname": b"qemu\n"})
OPENSSL = YoctoPackageSpec("libssl3", {"/usr/lib/libssl.so.3": b"S" * 650_000}, pn="openssl")


def run(pytester: pytest.Pytester, *args: str) -> tuple[pytest.RunResult, dict[str, Any]]:
    result = pytester.runpytest("--sizebudget", "--sizebudget-json=r.json", *args)
    report = json.loads((pytester.path / "r.json").read_text())
    return result, {b["name"]: b for b in report["budgets"]}


def yocto_budgets(product: Product, sets: list[dict[str, Any]], **settings: Any) -> None:
    product.budget_file({"package_set_budgets": sets, **settings}, "yocto.sizebudget.json5")


def test_buildhistory_package_sets_give_exact_bytes(
    pytester: pytest.Pytester, pt_product: Product
) -> None:
    sizes = write_buildhistory(pytester.path / "buildhistory", [BUSYBOX, LIBC, BASE, OPENSSL])
    source = {"buildhistory": "buildhistory", "image": "core-image-minimal"}
    yocto_budgets(
        pt_product,
        [
            {
                "name": "C library",
                "budget_bytes": "2 MiB",
                "packages": [{**source, "packages": ["libc6"]}],
            },
            {
                "name": "Base",
                "budget_bytes": 800_000,
                "packages": [{**source, "packages": ["busybox", "base-*"]}],
            },
            {
                "name": "Crypto",
                "budget_bytes": 700_000,
                "packages": [{**source, "packages": ["libssl*"]}],
            },
        ],
    )
    result, report = run(pytester)
    result.assert_outcomes(passed=3, failed=1)
    assert report["C library"]["used_bytes"] == sizes["libc6"] == 2_110_123
    assert report["Base"]["used_bytes"] == sizes["busybox"] + sizes["base-files"]
    assert report["Crypto"]["used_bytes"] == 650_000
    libc = report["C library"]
    assert libc["passed"] is False
    assert [p["name"] for p in libc["packages"]] == ["libc6"]
    assert libc["largest_files"][0] == {
        "package": "libc6",
        "path": "lib/libc.so.6",
        "bytes": 1_900_123,
    }
    result.stdout.fnmatch_lines(
        [
            "*Package set 'C library' is over budget by 12,971 B*",
            "*libc6  (buildhistory/packages/core2-64/glibc/glibc/latest)*2,110,123 B*",
            "Largest files (Yocto packages):",
            "       1,900,123 B  /lib/libc.so.6  (libc6)",
            "         210,000 B  /lib/ld-linux-x86-64.so.2  (libc6)",
        ]
    )


def test_pkgdata_and_rounded_sizes(pytester: pytest.Pytester, pt_product: Product) -> None:
    write_buildhistory(pytester.path / "bh", [BUSYBOX, LIBC], with_latest=False)
    write_pkgdata(pytester.path / "pkgdata", [LIBC], pytester.path / ".scratch")
    yocto_budgets(
        pt_product,
        [
            {
                "name": "All",
                "budget_bytes": "4 MiB",
                "packages": [
                    {"buildhistory": "bh", "image": "core-image-minimal", "pkgdata": "pkgdata"}
                ],
            },
        ],
    )
    result, report = run(pytester)
    result.assert_outcomes(passed=2)
    got = report["All"]
    # libc6 exact from pkgdata; busybox only in whole KiB (no latest, no pkgdata), flagged.
    assert got["used_bytes"] == 2_110_123 + (700_008 + 512) // 1024 * 1024
    assert got["rounded_packages"] == ["busybox"]


def test_baseline_from_an_earlier_buildhistory_tree(
    pytester: pytest.Pytester, pt_product: Product
) -> None:
    write_buildhistory(pytester.path / "bh-old", [BUSYBOX, BASE], scratch=pytester.path / ".s1")
    grown = YoctoPackageSpec(
        "busybox", {"/bin/busybox": b"B" * 760_001, "/bin/sh": ("link", "busybox")}
    )
    write_buildhistory(pytester.path / "bh", [grown, BASE, OPENSSL], scratch=pytester.path / ".s2")
    yocto_budgets(
        pt_product,
        [
            {
                "name": "Base",
                "budget_bytes": "2 MiB",
                "creep_budget_bytes": 50_000,
                "packages": [
                    {
                        "buildhistory": "bh",
                        "image": "core-image-minimal",
                        "baseline": "bh-old",
                        "packages": ["busybox", "base-files", "libssl*"],
                    }
                ],
            },
        ],
    )
    result, report = run(pytester)
    result.assert_outcomes(passed=1, failed=1)
    base = report["Base"]
    assert base["baseline_used_bytes"] == 700_008 + 10
    assert base["delta_bytes"] == 60_000 + 650_000
    changes = {(c["kind"], c["package"]): c["delta_bytes"] for c in base["diff"]}
    assert changes == {("updated", "busybox"): 60_000, ("added", "libssl3"): 650_000}
    result.stdout.fnmatch_lines(["*Package set 'Base' grew by 710,000 B*over its creep budget*"])


def test_report_baseline_works_for_yocto_sets(
    pytester: pytest.Pytester, pt_product: Product
) -> None:
    write_buildhistory(pytester.path / "bh", [BUSYBOX], scratch=pytester.path / ".s1")
    sel = {"buildhistory": "bh", "image": "core-image-minimal"}
    yocto_budgets(
        pt_product,
        [{"name": "B", "budget_bytes": "1 MiB", "creep_budget_bytes": 100, "packages": [sel]}],
    )
    run(pytester)
    shutil.move(pytester.path / "r.json", pytester.path / "old.json")
    shutil.rmtree(pytester.path / "bh")
    grown = YoctoPackageSpec("busybox", {"/bin/busybox": b"B" * 700_101})
    write_buildhistory(pytester.path / "bh", [grown], scratch=pytester.path / ".s2")
    result, report = run(pytester, "--sizebudget-baseline=old.json")
    result.assert_outcomes(passed=2)
    assert report["B"]["delta_bytes"] == 700_101 - 700_008


def test_bad_selections_fail_alone(pytester: pytest.Pytester, pt_product: Product) -> None:
    write_buildhistory(pytester.path / "bh", [BUSYBOX])
    sel = {"buildhistory": "bh", "image": "core-image-minimal"}
    yocto_budgets(
        pt_product,
        [
            {"name": "Good", "budget_bytes": "1 MiB", "packages": [sel]},
            {
                "name": "Typo",
                "budget_bytes": "1 MiB",
                "packages": [{**sel, "packages": ["busybx"]}],
            },
            {
                "name": "Gone",
                "budget_bytes": "1 MiB",
                "packages": [{**sel, "buildhistory": "nope"}],
            },
        ],
        sharing="per_set",  # global share counts would need every set readable
    )
    result, report = run(pytester)
    result.assert_outcomes(passed=2, failed=2)
    assert report["Good"]["used_bytes"] == 700_008
    assert report["Typo"]["error"] == (
        "package_set_budgets[1].packages[0]: 'busybx' matches no package (did you mean busybox?)"
    )
    assert "buildhistory nope: does not exist" in report["Gone"]["error"]


def test_budget_file_errors_name_the_key(pytester: pytest.Pytester, pt_product: Product) -> None:
    yocto_budgets(
        pt_product,
        [
            {"name": "A", "budget_bytes": 1, "packages": [{"image": "x"}]},
            {"name": "B", "budget_bytes": 1, "packages": [{"path": "d", "symlinks": "chase"}]},
            {"name": "C", "budget_bytes": 1, "symlinks": "yes", "packages": ["d"]},
        ],
    )
    out = pytester.runpytest("--sizebudget").stdout.str()
    for expected in (
        "yocto.sizebudget.json5: 4 problems in budget file",
        ":7:9: package_set_budgets[0].packages[0]: needs 'buildhistory' (a buildhistory tree) "
        "or 'pkgdata' (a pkgdata directory)",
        ":8:11: package_set_budgets[0].packages[0].image: an image is read from a buildhistory "
        "tree: add 'buildhistory'",
        "package_set_budgets[1].packages[0].symlinks: must be one of 'follow', 'tree', "
        "'link', got 'chase'",
        "package_set_budgets[2].symlinks: must be one of 'follow', 'tree', 'link', got 'yes'",
    ):
        assert expected in out


# -- root filesystems as directory packages --------------------------------------------


def test_rootfs_symlink_policies(pytester: pytest.Pytester, pt_product: Product) -> None:
    root = rootfs(pytester.path)
    assert root.name == "rootfs"
    pt_product.budget_file(
        {
            "package_set_budgets": [
                {"name": "follow", "budget_bytes": "1 MiB", "packages": ["rootfs"]},
                {
                    "name": "tree",
                    "budget_bytes": "1 MiB",
                    "symlinks": "tree",
                    "packages": ["rootfs"],
                },
                {
                    "name": "link",
                    "budget_bytes": "1 MiB",
                    "packages": [{"path": "rootfs", "symlinks": "link"}],
                },
            ],
            "sharing": "per_set",
        },
        "rootfs.sizebudget.json5",
    )
    result, report = run(pytester)
    result.assert_outcomes(passed=3, failed=1)
    # Followed, a dangling link makes the budget unmeasurable, as before.
    assert "dangling symbolic link" in report["follow"]["error"]
    tree, link = report["tree"], report["link"]
    tree_blobs = {b["path"] for p in tree["packages"] for b in p["blobs"]}
    assert tree_blobs == {"bin/busybox", "etc/hostname", "lib/libc.so.6"}
    link_blobs = {b["path"]: b for p in link["packages"] for b in p["blobs"]}
    assert link_blobs["lib/libc.so"]["size"] == len("libc.so.6")
    assert link_blobs["etc/mtab"]["size"] == len("/proc/self/mounts")
    # The links' bytes are the difference between the two.
    link_bytes = sum(len(os.readlink(root / p)) for p in link_blobs if (root / p).is_symlink())
    assert link["used_bytes"] == tree["used_bytes"] + link_bytes
    reasons = {u["path"]: u["reason"] for u in tree["uncounted"]}
    assert reasons["dev/initctl"] == "a FIFO (named pipe), holds no bytes"
    assert reasons["etc/mtab"].startswith("symbolic link to /proc/self/mounts: dangling")
    assert [u["path"] for u in link["uncounted"]] == ["dev/initctl"]


def test_rootfs_uncounted_entries_show_in_the_failure(
    pytester: pytest.Pytester, pt_product: Product
) -> None:
    rootfs(pytester.path)
    pt_product.budget_file(
        {
            "package_set_budgets": [
                {"name": "tiny", "budget_bytes": 10, "symlinks": "tree", "packages": ["rootfs"]}
            ]
        },
        "rootfs.sizebudget.json5",
    )
    result = pytester.runpytest("--sizebudget")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*Package set 'tiny' is over budget*",
            "Not counted (5: they hold no bytes here):",
            "  rootfs/dev/initctl: a FIFO (named pipe), holds no bytes",
            "  rootfs/etc/mtab: symbolic link to /proc/self/mounts: dangling*",
        ]
    )


def test_same_json_with_xdist(pytester: pytest.Pytester, pt_product: Product) -> None:
    pytest.importorskip("xdist")
    write_buildhistory(pytester.path / "bh", [BUSYBOX, LIBC, OPENSSL])
    rootfs(pytester.path)
    sel = {"buildhistory": "bh", "image": "core-image-minimal"}
    pt_product.budget_file(
        {
            "package_set_budgets": [
                {"name": "Y", "budget_bytes": "1 MiB", "packages": [sel]},
                {"name": "R", "budget_bytes": "1 MiB", "symlinks": "link", "packages": ["rootfs"]},
            ]
        },
        "mixed.sizebudget.json5",
    )
    pytester.runpytest("--sizebudget", "--sizebudget-json=one.json")
    pytester.runpytest("--sizebudget", "--sizebudget-json=two.json", "-n", "2")

    def budgets(name: str) -> Any:
        return json.loads((pytester.path / name).read_text())["budgets"]

    assert budgets("one.json") == budgets("two.json")
