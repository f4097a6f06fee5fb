"""Product budgets as ``ffx assembly size-check product`` checks them (reference
fuchsia_current.md §2): the limit from images.json, platform resources as their own
component, the diff against a base, the size breakdown text; and ffx's verbose JSON of
the package check (§1.5)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import Product, fake_merkle

M, LD, APP, DATA, NEW = (fake_merkle(x) for x in ("M", "LD", "APP", "DATA", "NEW"))


def images(
    product: Product,
    rel: str,
    packages: dict[str, list[tuple[str, str, int]]],
    maximum: int | None = 200,
) -> str:
    """An assembled_system.json whose blob image holds ``packages`` (all in base)."""
    contents: dict[str, Any] = {
        "packages": {
            "base": [
                {
                    "name": name,
                    "manifest": f"obj/{name}/package_manifest.json",
                    "blobs": [
                        {"merkle": m, "path": path, "used_space_in_blobfs": size}
                        for path, m, size in blobs
                    ],
                }
                for name, blobs in packages.items()
            ],
            "cache": [],
        }
    }
    if maximum is not None:
        contents["maximum_contents_size"] = maximum
    data = {
        "images": [
            {"type": "zbi", "name": "zircon-a", "path": "fuchsia.zbi"},
            {"type": "blk", "name": "blob", "path": "blob.blk", "contents": contents},
        ]
    }
    path = product.root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))
    return rel


# ffx's product test: consumed 151 of which 30 platform resources (lib/ld.so.1).
NOW = {
    "system": [("meta/", M, 21), ("lib/ld.so.1", LD, 30), ("bin/app", APP, 60)],
    "app": [("lib/ld.so.1", LD, 30), ("data/d", DATA, 40)],
}
BEFORE = {
    "system": [("meta/", M, 21), ("lib/ld.so.1", LD, 30), ("bin/app", APP, 60)],
    "app": [("data/d", NEW, 50)],
}


def product_file(product: Product, **budget: Any) -> None:
    images(product, "out/assembled_system.json", NOW)
    product.budget_file(
        {
            "product_budgets": [
                {
                    "name": "Total BlobFS contents",
                    "images_manifest": "out/assembled_system.json",
                    **budget,
                }
            ]
        }
    )


def test_gerrit_report_splits_platform_resources_as_ffx(
    pytester: pytest.Pytester, pt_product: Product
) -> None:
    product_file(pt_product, creep_budget_bytes=20, platform_resources_budget_bytes=50)
    result = pytester.runpytest(
        "--sizebudget", "--sizebudget-gerrit=g.json", "--sizebudget-json=r.json"
    )
    result.assert_outcomes(passed=2)
    # ffx's vector: consumed 151, resources 30, max 200, creep 20, resources budget 50.
    assert json.loads((pytester.path / "g.json").read_text()) == {
        "Total BlobFS contents": 121,
        "Total BlobFS contents.budget": 150,
        "Total BlobFS contents.creepBudget": 20,
        "Platform Resources": 30,
        "Platform Resources.budget": 50,
        "Platform Resources.creepBudget": 2097152,
    }
    (b,) = json.loads((pytester.path / "r.json").read_text())["budgets"]
    assert (b["used_bytes"], b["budget_bytes"]) == (151, 200)
    assert b["max_contents_bytes_from"] == "maximum_contents_size"
    assert b["platform_resources"] == {
        "name": "Platform Resources",
        "used_bytes": 30,
        "budget_bytes": 50,
        "creep_budget_bytes": 2097152,
    }


def test_platform_resources_over_their_own_budget_fail(
    pytester: pytest.Pytester, pt_product: Product
) -> None:
    product_file(pt_product, platform_resources_budget_bytes=29)
    line = pytester.runpytest("--sizebudget", "--tb=line")
    line.stdout.fnmatch_lines(
        [
            "*size.sizebudget.json5:3: Product 'Total BlobFS contents' is over budget: "
            "Platform Resources over their own budget by 1 B"
        ]
    )
    result = pytester.runpytest("--sizebudget")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "Product 'Total BlobFS contents' is over budget: Platform Resources over their own "
            "budget by 1 B",
            "  used          151 B",
            "  budget        200 B",
            "  budget from   the images manifest's maximum_contents_size",
            "  Platform Resources: 30 B of its own budget 29 B (OVER); contents without them: 121 B",
        ]
    )


def test_limit_comes_from_images_json_or_the_budget(
    pytester: pytest.Pytester, pt_product: Product
) -> None:
    product_file(pt_product)
    images(pt_product, "out/small.json", NOW, maximum=150)
    images(pt_product, "out/none.json", NOW, maximum=None)
    pt_product.budget_file(
        {
            "product_budgets": [
                {"name": "Small", "images_manifest": "out/small.json"},
                {"name": "Own", "images_manifest": "out/small.json", "max_contents_bytes": 151},
                {"name": "None", "images_manifest": "out/none.json"},
            ]
        },
        filename="more.sizebudget.json5",
    )
    result = pytester.runpytest("--sizebudget", "--sizebudget-json=r.json")
    result.assert_outcomes(passed=4, failed=2)
    report = {b["name"]: b for b in json.loads((pytester.path / "r.json").read_text())["budgets"]}
    assert (report["Small"]["used_bytes"], report["Small"]["budget_bytes"]) == (151, 150)
    assert report["Own"]["passed"]
    assert report["None"]["error"] == (
        "product_budgets[2]: no limit: images manifest out/none.json has no "
        "maximum_contents_size, and the budget no max_contents_bytes"
    )


def num(delta: str, value: int) -> str:
    """A numeric field of ffx's diff: signed delta right in 10, ``(value)`` left in 10."""
    return delta.rjust(10) + f"({value})".ljust(10)


def test_base_gives_ffxs_diff_in_failure_text_json_and_html(
    pytester: pytest.Pytester, pt_product: Product
) -> None:
    images(pt_product, "base/assembled_system.json", BEFORE)
    product_file(pt_product, max_contents_bytes=150, base="base/assembled_system.json")
    result = pytester.runpytest(
        "--sizebudget", "--sizebudget-json=r.json", "--sizebudget-html=r.html"
    )
    result.assert_outcomes(passed=1, failed=1)
    # NEW (50 B at app:data/d) became DATA (40 B); LD gained a reference in app.
    result.stdout.fnmatch_lines(
        [
            "Changes since the base images manifest base/assembled_system.json (as ffx size-check "
            "product prints them):",
            "TOTAL SIZE",
            "before:        161",
            "after:         151",
            "diff:          -10",
            "PACKAGES".ljust(32) + "      SIZE",
            "*",
            "  " + "app".ljust(30) + "       +20(70)*",
            "BLOB MERKLE *PACKAGE*PATH*SIZE*PSIZE*SHARE",
            "*",
            "  "
            + LD[:6].ljust(20)
            + "+"
            + "app".ljust(30)
            + "lib/ld.so.1".ljust(30)
            + num("+0", 30)
            + num("-15", 15)
            + num("+1", 2),
            " " * 23 + "system".ljust(30) + "lib/ld.so.1*",
            "  "
            + f"{NEW[:6]} -> {DATA[:6]}".ljust(20)
            + " "
            + "app".ljust(30)
            + "data/d".ljust(30)
            + num("-10", 40)
            + num("-10", 40)
            + num("+0", 1),
        ]
    )
    (b,) = json.loads((pytester.path / "r.json").read_text())["budgets"]
    d = b["base_diff"]
    assert (d["before_bytes"], d["after_bytes"], d["unchanged_blobs"]) == (161, 151, 2)
    assert [(x["mode"], x["before"], x["after"]) for x in d["blobs"]] == [
        ("updated", LD, LD),
        ("updated", NEW, DATA),
    ]
    assert d["packages"] == [{"mode": "updated", "name": "app", "size": 70, "delta": 20}]
    html = (pytester.path / "r.html").read_text()
    assert '["before / after","161 B / 151 B"]' in html
    assert '["blobs","0 added, 0 removed, 2 updated, 2 unchanged"]' in html


def test_base_may_be_a_report_of_an_earlier_run(
    pytester: pytest.Pytester, pt_product: Product
) -> None:
    images(pt_product, "base/assembled_system.json", BEFORE)
    pt_product.budget_file(
        {
            "product_budgets": [
                {
                    "name": "Total BlobFS contents",
                    "images_manifest": "base/assembled_system.json",
                }
            ]
        }
    )
    pytester.runpytest("--sizebudget", "--sizebudget-json=old.json").assert_outcomes(passed=2)
    product_file(pt_product, base="old.json")
    pytester.runpytest("--sizebudget", "--sizebudget-json=r.json").assert_outcomes(passed=2)
    (b,) = json.loads((pytester.path / "r.json").read_text())["budgets"]
    assert b["base_diff"]["base"] == "report old.json"
    assert (b["base_diff"]["before_bytes"], b["base_diff"]["after_bytes"]) == (161, 151)


def test_breakdown_file_is_ffxs_text(pytester: pytest.Pytester, pt_product: Product) -> None:
    product_file(pt_product)
    result = pytester.runpytest("--sizebudget", "--sizebudget-breakdown=out/breakdown.txt")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["Size breakdown written to out/breakdown.txt"])
    text = (pytester.path / "out/breakdown.txt").read_text()
    row = "{:<53}{:>10}{:>10}"
    blob = "   {:<40}{:>10}{:>10}{:>10}{:>10}"
    assert text == "\n".join(
        [
            "PACKAGES" + " " * 35 + "    MERKLE      SIZE     PSIZE     SHARE",
            row.format("app", 70, 55),
            blob.format("data/d", DATA[:6], 40, 40, 1),
            blob.format("lib/ld.so.1", LD[:6], 30, 15, 2),
            row.format("system", 111, 96),
            blob.format("bin/app", APP[:6], 60, 60, 1),
            blob.format("lib/ld.so.1", LD[:6], 30, 15, 2),
            blob.format("meta/", M[:6], 21, 21, 1),
            "Total size: 151 bytes",
        ]
    )


def test_verbose_json_is_ffxs(pytester: pytest.Pytester, pt_product: Product) -> None:
    x = fake_merkle("X")
    p1 = pt_product.manifest("pkg-cache", [("path/in/pkg-cache", x)], filename="p1.json")
    p2 = pt_product.manifest("pkg-resolver", [("x", x)], filename="p2.json")
    p3 = pt_product.manifest("netstack", [("x", x)], filename="p3.json")
    pt_product.blobs_json({x: 159})
    pt_product.budget_file(
        {
            "package_set_budgets": [
                {"name": "Software Deliver", "budget_bytes": 200, "packages": [p2, p1]},
                {"name": "Connectivity", "budget_bytes": 200, "packages": [p3]},
            ]
        },
        filename="budgets.sizebudget.json",
    )
    result = pytester.runpytest(
        "--sizebudget", "--sizebudget-blob-sizes=blobs.json", "--sizebudget-verbose-json=v.json"
    )
    result.assert_outcomes(passed=3)
    text = (pytester.path / "v.json").read_text()
    assert not text.endswith("\n")  # serde_json's to_writer_pretty
    data = json.loads(text)
    assert list(data) == ["Connectivity", "Software Deliver"]
    sd = data["Software Deliver"]
    assert list(sd) == [
        "name",
        "budget_bytes",
        "creep_budget_bytes",
        "used_bytes",
        "package_breakdown",
    ]
    assert list(sd["package_breakdown"]) == ["p1.json", "p2.json"]
    # ffx V4's own vector for p1.
    assert sd["package_breakdown"]["p1.json"] == {
        "name": "pkg-cache",
        "used_space_in_blobfs": 159,
        "proportional_size": 79,
        "blobs": [
            {
                "merkle": x,
                "path_in_package": "path/in/pkg-cache",
                "used_space_in_blobfs": 159,
                "share_count": 2,
                "absolute_share_count": 2,
            }
        ],
    }
    assert (sd["used_bytes"], data["Connectivity"]["used_bytes"]) == (158, 159)
    assert text.startswith('{\n  "Connectivity": {\n    "name": "Connectivity",\n')
