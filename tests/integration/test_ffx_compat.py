"""ffx's own budget files, unchanged: which ffx version's numbers they give, what is accepted.

The vectors are those of reference fuchsia.md §1.4 and fuchsia_current.md §1 (ffx's unit
tests): blob X (159 B) in manifests p1 and p2 of "Software Deliver" and in p3 of
"Connectivity" gives 158/159 in current ffx (V4, the default here) and 106/53 in V3 (with
``sharing: "global"``).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import Product, fake_merkle

A, B, X = fake_merkle("A"), fake_merkle("B"), fake_merkle("X")
GO = "http://go/fuchsia-size-stats/single_component/?f=component%3Ain%3A"


def ffx_file(product: Product, **top: Any) -> None:
    """ffx's shared-blob test, as a budget file ffx itself reads (JSON, ffx's keys only)."""
    p1 = product.manifest("pkg-cache", [("path/in/pkg-cache", X)], filename="obj/p1.json")
    p2 = product.manifest("pkg-resolver", [("x", X)], filename="obj/p2.json")
    p3 = product.manifest("netstack", [("x", X)], filename="obj/p3.json")
    product.blobs_json({X: 159})
    product.budget_file(
        {
            "package_set_budgets": [
                {"name": "Software Deliver", "budget_bytes": 200, "packages": [p1, p2]},
                {"name": "Connectivity", "budget_bytes": 100, "packages": [p3]},
            ],
            **top,
        },
        filename="budgets.sizebudget.json",
    )


def run(pytester: pytest.Pytester, *args: str) -> tuple[pytest.RunResult, dict[str, Any]]:
    result = pytester.runpytest(
        "--sizebudget", "--sizebudget-blob-sizes=blobs.json", "--sizebudget-json=r.json", *args
    )
    return result, json.loads((pytester.path / "r.json").read_text())


def used(report: dict[str, Any]) -> dict[str, int]:
    return {b["name"]: b["used_bytes"] for b in report["budgets"]}


def test_unchanged_ffx_file_gives_current_ffx_v4_numbers(
    pytester: pytest.Pytester, pt_product: Product
) -> None:
    ffx_file(pt_product)
    result, report = run(pytester, "--sizebudget-gerrit=g.json")
    assert used(report) == {"Software Deliver": 158, "Connectivity": 159}
    result.assert_outcomes(passed=2, failed=1)  # 159 > 100
    assert report["tool"]["parameters"]["sharing_default"] == "per_set"
    assert report["tool"]["parameters"]["sharing_modes"] == ["per_set"]
    assert {b["parameters"]["sharing"] for b in report["budgets"]} == {"per_set"}
    p1 = report["budgets"][0]["packages"][0]
    # ffx V4's verbose JSON for p1: proportional 79, used_space_in_blobfs 159, share 2.
    assert (p1["proportional_size"], p1["used_space_in_blobfs"]) == (79, 159)
    assert p1["blobs"][0]["share_count"] == 2
    result.stdout.fnmatch_lines(
        [
            "sizebudget: package-set sharing default per_set (shares counted within each set, "
            "as current ffx (V4))",
            "*= size budgets =*",
            "package-set sharing: per_set (shares counted within each set, as current ffx (V4))",
        ]
    )
    # ffx writes .owner for every set, its go/ link, form-encoded by the url crate.
    gerrit = (pytester.path / "g.json").read_text()
    assert json.loads(gerrit) == {
        "Connectivity": 159,
        "Connectivity.budget": 100,
        "Connectivity.creepBudget": 0,
        "Connectivity.owner": f"{GO}Connectivity",
        "Software Deliver": 158,
        "Software Deliver.budget": 200,
        "Software Deliver.creepBudget": 0,
        "Software Deliver.owner": f"{GO}Software+Deliver",
    }


def test_sharing_global_gives_ffx_v3_numbers(
    pytester: pytest.Pytester, pt_product: Product
) -> None:
    ffx_file(pt_product, sharing="global")
    result, report = run(pytester)
    assert used(report) == {"Software Deliver": 106, "Connectivity": 53}
    result.assert_outcomes(passed=3)
    assert report["tool"]["parameters"]["sharing_modes"] == ["global"]
    result.stdout.fnmatch_lines(
        ["package-set sharing: global (shares counted across all sets of a file, as RFC-0144*"]
    )


def test_owner_key_and_ini_template_override_ffx_owner(
    pytester: pytest.Pytester, pt_product: Product
) -> None:
    ffx_file(pt_product)
    budget = pytester.path / "budgets.sizebudget.json"
    data = json.loads(budget.read_text())
    data["package_set_budgets"][0]["owner"] = "mailto:sd@example.com"
    budget.write_text(json.dumps(data))
    pytester.makeini(
        "[pytest]\nconsole_output_style = classic\n"
        "sizebudget_owner_template = https://o.example/{name}?raw={raw_name}\n"
    )
    run(pytester, "--sizebudget-gerrit=g.json")
    gerrit = json.loads((pytester.path / "g.json").read_text())
    assert gerrit["Software Deliver.owner"] == "mailto:sd@example.com"
    assert gerrit["Connectivity.owner"] == "https://o.example/Connectivity?raw=Connectivity"


def test_v3_file_with_empty_resource_paths_merge_and_unknown_keys_is_accepted(
    pytester: pytest.Pytester, pt_product: Product
) -> None:
    """ffx V3's test files: ``paths: []``; ffx also ignores keys it does not know."""
    pt_product.manifest("ab", [("meta/", A), ("lib/b", B)], filename="ab.json")
    pt_product.manifest("b-only", [("lib/b-copy", B)], filename="b.json")
    pt_product.blobs_json({A: 8192, B: 32})
    pt_product.budget_file(
        """{
          "package_set_budgets": [
            {"name": "Merged", "budget_bytes": 40000, "merge": true,
             "packages": ["ab.json", "b.json"], "comment": "from convert_size_limits.py"},
          ],
          "resource_budgets": [
            {"name": "Libs", "budget_bytes": 10, "creep_budget_bytes": 2, "paths": []},
          ],
          "total_budget_bytes": 40010,
          "generated_by": "gn",
        }""",
        filename="v3.sizebudget.json",
    )
    result, report = run(pytester)
    result.assert_outcomes(passed=4)  # measurement, two budgets, the total
    assert used(report) == {"Merged": 32768 + 32, "Libs": 0}
    # ffx charges a merged set's last instance of a merkle: B in b-only, at its path there.
    merged = report["budgets"][0]["packages"]
    assert [(p["name"], [x["path"] for x in p["blobs"]]) for p in merged] == [
        ("ab", []),
        ("b-only", ["lib/b-copy"]),
    ]
    result.stdout.fnmatch_lines(
        [
            "*= size budgets =*",
            "WARNING: v3.sizebudget.json:3:*: package_set_budgets[[]0[]].merge: ffx V3 and current "
            "ffx (V4) ignore this key; this plugin applies ffx V2's merge*",
            "WARNING: v3.sizebudget.json:4:*: package_set_budgets[[]0[]].comment: unknown key "
            "'comment' ignored, as ffx ignores it (the file is in ffx's format; *",
            "WARNING: v3.sizebudget.json:6:*: resource_budgets: current ffx (V4) ignores "
            "resource_budgets*",
            "WARNING: v3.sizebudget.json:9:*: total_budget_bytes: current ffx (V4) ignores this key*",
            "WARNING: v3.sizebudget.json:10:*: generated_by: unknown key 'generated_by' ignored*",
        ]
    )


def test_explicit_sharing_makes_the_file_the_plugins_own_and_strict(
    pytester: pytest.Pytester, pt_product: Product
) -> None:
    ffx_file(pt_product, sharing="per_set", comment="x")
    result = pytester.runpytest("--sizebudget", "--sizebudget-blob-sizes=blobs.json")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*budgets.sizebudget.json:*: comment: unknown key 'comment'; known keys here: *"]
    )
    result.stdout.no_fnmatch_line("WARNING*")


def test_misspelt_plugin_key_in_ffx_format_file_stays_an_error(
    pytester: pytest.Pytester, pt_product: Product
) -> None:
    ffx_file(pt_product, blob_size="blobs.json")
    result = pytester.runpytest("--sizebudget")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*: blob_size: unknown key 'blob_size' (did you mean 'blob_sizes'?); known keys here:*"]
    )


def test_xdist_prints_each_note_once(pytester: pytest.Pytester, pt_product: Product) -> None:
    ffx_file(pt_product, note="ignored")
    result = pytester.runpytest(
        "--sizebudget", "--sizebudget-blob-sizes=blobs.json", "-n", "2", "-p", "xdist"
    )
    assert result.stdout.str().count("unknown key 'note' ignored") == 1
