"""Running budgets: verdicts, failure text, the summary table, reports, JUnit."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

from tests.conftest import Product, fake_merkle

A, B, X = fake_merkle("A"), fake_merkle("B"), fake_merkle("X")


def shared_product(product: Product, sharing: str = "global") -> None:
    """Reference vector: X (159 B) in p1 and p2 of one set and in p3 of another."""
    p1 = product.manifest("pkg-cache", [("path/in/pkg-cache", X)], filename="p1.json")
    p2 = product.manifest("pkg-resolver", [("x", X)], filename="p2.json")
    p3 = product.manifest("netstack", [("x", X), ("bin/netstack", A)], filename="p3.json")
    product.budget_file(
        {
            "blob_sizes": [product.blobs_json({X: 159, A: 8192})],
            "sharing": sharing,
            "package_set_budgets": [
                {
                    "name": "Software Deliver",
                    "budget_bytes": 106,
                    "creep_budget_bytes": 7,
                    "packages": [p1, p2],
                },
                {"name": "Connectivity", "budget_bytes": 8200, "packages": [p3]},
            ],
        }
    )


def test_global_sharing_end_to_end(pytester: pytest.Pytester, pt_product: Product) -> None:
    shared_product(pt_product)
    result = pytester.runpytest("--sizebudget", "--sizebudget-json=r.json")
    result.assert_outcomes(passed=2, failed=1)  # 106 <= 106 passes; 8192 + 53 > 8200 fails
    report = json.loads((pytester.path / "r.json").read_text())
    used = {b["name"]: b["used_bytes"] for b in report["budgets"]}
    assert used == {"Software Deliver": 106, "Connectivity": 8245}


def test_per_set_sharing_end_to_end(pytester: pytest.Pytester, pt_product: Product) -> None:
    shared_product(pt_product, "per_set")
    result = pytester.runpytest("--sizebudget", "--sizebudget-json=r.json")
    result.assert_outcomes(passed=1, failed=2)
    used = {
        b["name"]: b["used_bytes"]
        for b in json.loads((pytester.path / "r.json").read_text())["budgets"]
    }
    assert used == {"Software Deliver": 158, "Connectivity": 8351}


def test_failure_shows_breakdown_and_no_traceback(
    pytester: pytest.Pytester, pt_product: Product
) -> None:
    shared_product(pt_product)
    result = pytester.runpytest("--sizebudget")
    result.stdout.fnmatch_lines(
        [
            "*_ size budget: Connectivity _*",
            "Package set 'Connectivity' is over budget by 45 B",
            "  used          8,245 B (8.05 KiB)",
            "  budget        8,200 B (8.01 KiB)",
            "  over by       45 B",
            "  accounting    blobfs_layout: compact, sharing: global",
            "  file          size.sizebudget.json5:16 (package_set_budgets[1])",
            "Largest packages (1 of 1):",
            "  PACKAGE / BLOB * SIZE * SHARED BY * CHARGED",
            "  netstack  (p3.json) * 8,351 B * 8,245 B",
            "    bin/netstack  ?414141414141? * 8,192 B * 1 * 8,192 B",
            "    x  ?585858585858? * 159 B * ?3 * 53 B",
        ]
    )
    result.stdout.no_fnmatch_line("*Traceback*")
    result.stdout.no_fnmatch_line("*pytest_sizebudget/*")


def test_summary_table_on_the_terminal(pytester: pytest.Pytester, pt_product: Product) -> None:
    shared_product(pt_product)
    result = pytester.runpytest("--sizebudget")
    result.stdout.fnmatch_lines(
        [
            "*= size budgets =*",
            "Name*Used*Budget*Remaining*Used %",
            "Connectivity*8,245*8,200*-45*100.5%  OVER",
            "Software Deliver*106*106*+0*100.0%  ok",
            "2 budgets checked: 1 over budget, 0 could not be checked",
        ]
    )


def test_top_n_limits_the_breakdown(pytester: pytest.Pytester, pt_product: Product) -> None:
    blobs = [(f"bin/{i}", fake_merkle(f"b{i}")) for i in range(5)]
    p = pt_product.manifest("p", blobs)
    pt_product.budget_file(
        {
            "blob_sizes": [
                pt_product.blobs_json({m: 8192 * (i + 1) for i, (_, m) in enumerate(blobs)})
            ],
            "package_set_budgets": [{"name": "S", "budget_bytes": 1, "packages": [p]}],
        }
    )
    result = pytester.runpytest("--sizebudget", "--sizebudget-top=2")
    result.stdout.fnmatch_lines(
        ["*bin/4*40,960 B", "*bin/3*32,768 B", "*... 3 more blobs*49,152 B"]
    )
    result.stdout.no_fnmatch_line("*bin/2 *")


def test_gerrit_report_and_owner_template(pytester: pytest.Pytester, pt_product: Product) -> None:
    shared_product(pt_product)
    pytester.makeini(
        "[pytest]\nsizebudget_owner_template = "
        "http://go/fuchsia-size-stats/single_component/?f=component%3Ain%3A{name}\n"
    )
    result = pytester.runpytest("--sizebudget", "--sizebudget-gerrit=out/gerrit.json")
    result.stdout.fnmatch_lines(["Gerrit size report written to out/gerrit.json"])
    text = (pytester.path / "out" / "gerrit.json").read_text()
    assert json.loads(text) == {
        "Connectivity": 8245,
        "Connectivity.budget": 8200,
        "Connectivity.creepBudget": 0,
        "Connectivity.owner": "http://go/fuchsia-size-stats/single_component/?f=component%3Ain%3AConnectivity",
        "Software Deliver": 106,
        "Software Deliver.budget": 106,
        "Software Deliver.creepBudget": 7,
        "Software Deliver.owner": "http://go/fuchsia-size-stats/single_component/?f=component%3Ain%3ASoftware+Deliver",
    }
    assert list(json.loads(text)) == sorted(json.loads(text))


def test_json_report_contract(pytester: pytest.Pytester, pt_product: Product) -> None:
    shared_product(pt_product)
    pytester.runpytest("--sizebudget", "--sizebudget-json=r.json")
    report = json.loads((pytester.path / "r.json").read_text())
    assert report["schema_version"] == 1
    assert report["tool"]["name"] == "pytest-sizebudget"
    sd = report["budgets"][0]
    assert (sd["name"], sd["file"], sd["kind"], sd["passed"]) == (
        "Software Deliver",
        "size.sizebudget.json5",
        "package_set",
        True,
    )
    assert (sd["budget_bytes"], sd["creep_budget_bytes"]) == (106, 7)
    assert [
        (p["name"], p["manifest"], p["used_space_in_blobfs"], p["proportional_size"])
        for p in sd["packages"]
    ] == [("pkg-cache", "p1.json", 159, 53), ("pkg-resolver", "p2.json", 159, 53)]
    assert sd["packages"][0]["blobs"] == [
        {
            "merkle": X,
            "path": "path/in/pkg-cache",
            "size": 159,
            "share_count": 3,
            "charged_bytes": 53,
            "excluded_by": None,
        }
    ]
    assert report["totals"]["bytes_over"] == 45


def test_junit_properties_and_switch(pytester: pytest.Pytester, pt_product: Product) -> None:
    """Properties by default only where the JUnit family's schema allows them (xunit1)."""
    shared_product(pt_product)
    pytester.runpytest("--sizebudget", "--junitxml=j.xml", "-o", "junit_family=xunit1")
    cases = ET.parse(pytester.path / "j.xml").getroot().iter("testcase")
    props = {
        c.get("name"): {p.get("name"): p.get("value") for p in c.iter("property")} for c in cases
    }
    assert props["Software Deliver"] == {
        "sizebudget.used_bytes": "106",
        "sizebudget.budget_bytes": "106",
        "sizebudget.creep_budget_bytes": "7",
        "sizebudget.status": "ok",
    }
    pytester.makeini("[pytest]\nsizebudget_junit_properties = false\njunit_family = legacy\n")
    pytester.runpytest("--sizebudget", "--junitxml=j2.xml")
    assert not list(ET.parse(pytester.path / "j2.xml").getroot().iter("property"))


def test_gerrit_name_clash_across_files_keeps_both_budgets(
    pytester: pytest.Pytester, pt_product: Product
) -> None:
    p = pt_product.manifest("p", [("bin/a", A)])
    sizes = pt_product.blobs_json({A: 8192})
    for f, budget in (("a", "1 MiB"), ("b", "4 KiB")):
        pt_product.budget_file(
            {
                "blob_sizes": [sizes],
                "package_set_budgets": [{"name": "Same", "budget_bytes": budget, "packages": [p]}],
            },
            f"{f}.sizebudget.json5",
        )
    result = pytester.runpytest("--sizebudget", "--sizebudget-gerrit=g.json")
    result.assert_outcomes(passed=3, failed=1)
    gerrit = json.loads((pytester.path / "g.json").read_text())
    # Neither overwrites the other: the one over budget is there, with its budget.
    assert gerrit["Same [a.sizebudget.json5].budget"] == 1024 * 1024
    assert gerrit["Same [b.sizebudget.json5].budget"] == 4096
    assert gerrit["Same [b.sizebudget.json5]"] == 8192
    assert "Same" not in gerrit
    result.stdout.fnmatch_lines(
        [
            "WARNING: budget 'Same' in a.sizebudget.json5 would write Gerrit keys that another "
            "budget writes too; the Gerrit report keys it as 'Same [[]a.sizebudget.json5]'",
            "WARNING: budget 'Same' in b.sizebudget.json5 would write Gerrit keys that another "
            "budget writes too; the Gerrit report keys it as 'Same [[]b.sizebudget.json5]'",
        ]
    )
