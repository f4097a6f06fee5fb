"""A budget kind added from a conftest.py gets everything a built-in kind gets.

The kind is the example's own (``conftest_examples/file_kind.py``: the total bytes of the
files that globs match), registered through ``pytest_sizebudget_register_kinds``.
"""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

KIND_MODULE = Path(__file__).parents[2] / "conftest_examples" / "file_kind.py"

CONFTEST = """
def pytest_sizebudget_register_kinds(registry):
    from file_kind import FileKind

    registry.register(FileKind())
"""


@pytest.fixture
def files_project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeini("[pytest]\nconsole_output_style = classic\n")
    shutil.copy(KIND_MODULE, pytester.path / "file_kind.py")
    pytester.makeconftest(CONFTEST)
    (pytester.path / "data").mkdir()
    (pytester.path / "data" / "a.bin").write_bytes(b"a" * 3000)
    (pytester.path / "data" / "b.bin").write_bytes(b"b" * 1000)
    (pytester.path / "data" / "c.txt").write_bytes(b"c" * 500)
    (pytester.path / "files.sizebudget.json5").write_text(
        """{
  file_budgets: [
    {name: "binaries", files: "data/*.bin", budget_bytes: 3500, creep_budget_bytes: 100},
    {name: "texts", files: ["data/*.txt"], budget_bytes: 1000},
  ],
}
"""
    )
    return pytester


RUN = [
    "--sizebudget",
    "--sizebudget-json=r.json",
    "--sizebudget-gerrit=g.json",
    "--sizebudget-html=r.html",
    "--junitxml=j.xml",
    "-o",
    "junit_family=xunit1",  # whose schema allows the properties checked below
]


@pytest.mark.parametrize("xdist_args", [[], ["-n", "2"]], ids=["single", "n2"])
def test_custom_kind_reaches_every_report(
    files_project: pytest.Pytester, xdist_args: list[str]
) -> None:
    pytester = files_project
    result = pytester.runpytest(*RUN, *xdist_args)
    # the measurement item and "texts" pass; "binaries" (4,000 B of 3,500) fails
    result.assert_outcomes(passed=2, failed=1)
    # failure text: the kind's own, with its largest files
    result.stdout.fnmatch_lines(
        [
            "*Files 'binaries' is over budget by 500 B*",
            "*Largest files (2 of 2):*",
            "*3,000 B  data/a.bin",
        ]
    )
    # summary row
    result.stdout.fnmatch_lines(["binaries * 4,000 * 3,500 * -500 *OVER"])
    report = json.loads((pytester.path / "r.json").read_text())
    by_name = {b["name"]: b for b in report["budgets"]}
    assert by_name["binaries"]["kind"] == "files"
    assert by_name["binaries"]["files"] == [
        {"path": "data/a.bin", "bytes": 3000},
        {"path": "data/b.bin", "bytes": 1000},
    ]
    assert by_name["texts"]["used_bytes"] == 500
    assert report["totals"]["failed"] == 1
    gerrit = json.loads((pytester.path / "g.json").read_text())
    assert gerrit["binaries"] == 4000
    assert gerrit["texts.budget"] == 1000
    props = {
        (case.get("name"), p.get("name")): p.get("value")
        for case in ET.parse(pytester.path / "j.xml").iter("testcase")
        for p in case.iter("property")
    }
    assert props[("binaries", "sizebudget.used_bytes")] == "4000"
    html = (pytester.path / "r.html").read_text()
    data = json.loads(
        html.split('<script id="sizebudget-data" type="application/json">')[1].split("</script>")[0]
    )
    panel = {b["name"]: b["panel"] for b in data["budgets"]}["binaries"]
    assert panel["bar"] == [["data/a.bin", 3000], ["data/b.bin", 1000]]
    assert panel["treemap"] is False


def test_custom_kind_reports_are_the_same_with_and_without_xdist(
    files_project: pytest.Pytester,
) -> None:
    pytester = files_project
    pytester.runpytest("--sizebudget", "--sizebudget-json=one.json", "--sizebudget-gerrit=g1")
    pytester.runpytest(
        "--sizebudget", "--sizebudget-json=two.json", "--sizebudget-gerrit=g2", "-n", "2"
    )
    assert (pytester.path / "one.json").read_bytes() == (pytester.path / "two.json").read_bytes()
    assert (pytester.path / "g1").read_bytes() == (pytester.path / "g2").read_bytes()


def test_custom_kind_baseline_and_creep(files_project: pytest.Pytester) -> None:
    pytester = files_project
    pytester.runpytest("--sizebudget", "--sizebudget-json=base.json")
    (pytester.path / "data" / "c.txt").write_bytes(b"c" * 900)  # +400 B, no creep budget
    result = pytester.runpytest(
        "--sizebudget", "--sizebudget-baseline=base.json", "--sizebudget-json=now.json"
    )
    result.assert_outcomes(passed=1, failed=2)
    result.stdout.fnmatch_lines(["*Files 'texts' grew by 400 B since the baseline*"])
    now = {b["name"]: b for b in json.loads((pytester.path / "now.json").read_text())["budgets"]}
    assert now["texts"]["delta_bytes"] == 400
    assert now["texts"]["creep_exceeded"] is True
    # The baseline's typed details were read back through the kind: the report keeps them.
    base = {b["name"]: b for b in json.loads((pytester.path / "base.json").read_text())["budgets"]}
    assert base["binaries"]["files"] == now["binaries"]["files"]


def test_a_kind_that_claims_a_taken_section_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        """
from pytest_sizebudget.kinds.image import ImageKind

class Clash(ImageKind):
    name = "clash"
    titles = {"clash": "Clash"}

def pytest_sizebudget_register_kinds(registry):
    registry.register(Clash())
"""
    )
    result = pytester.runpytest("--sizebudget")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*section 'image_budgets' of budget kind 'clash' is read by 'image'*"]
    )


def test_unknown_section_names_the_registered_ones(files_project: pytest.Pytester) -> None:
    pytester = files_project
    (pytester.path / "files.sizebudget.json5").write_text("{file_budget: []}")
    result = pytester.runpytest("--sizebudget")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*file_budget*"])
