"""Every collected budget reaches every report, whatever happens to its item.

Each test runs pytest as a user would and reads every output back: the JSON report,
the Gerrit JSON, the HTML report's data, JUnit, and the terminal summary.
"""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.corpus.runner import GOOD_FILES, write_files

KIND_MODULE = Path(__file__).parents[2] / "conftest_examples" / "file_kind.py"

REPORTS = (
    "--sizebudget",
    "--sizebudget-json=r.json",
    "--sizebudget-gerrit=g.json",
    "--sizebudget-html=r.html",
    "--junitxml=j.xml",
)


@dataclass
class Reports:
    json: dict[str, Any]
    gerrit: dict[str, Any]
    html: dict[str, Any]
    junit: dict[str, str]  # testcase name -> "passed", "failure", "error"

    @classmethod
    def read(cls, root: Path) -> Reports:
        html = (root / "r.html").read_text()
        data = html.split('<script id="sizebudget-data" type="application/json">')[1]
        junit: dict[str, str] = {}
        for case in ET.parse(root / "j.xml").iter("testcase"):
            outcome = "passed"
            for tag in ("failure", "error"):
                if case.find(tag) is not None:
                    outcome = tag
            junit[case.get("name", "")] = outcome
        return cls(
            json=json.loads((root / "r.json").read_text()),
            gerrit=json.loads((root / "g.json").read_text()),
            html=json.loads(data.split("</script>")[0]),
            junit=junit,
        )

    def error(self, name: str) -> str | None:
        error: str | None = {b["name"]: b["error"] for b in self.json["budgets"]}[name]
        return error

    def html_status(self, name: str) -> str:
        return str({b["name"]: b["status"] for b in self.html["budgets"]}[name])

    def assert_totals_agree(self) -> None:
        budgets = self.json["budgets"]
        totals = self.json["totals"]
        assert totals["budgets"] == len(budgets)
        assert totals["failed"] == sum(1 for b in budgets if not b["passed"])
        assert totals["errors"] == sum(1 for b in budgets if b["error"] is not None)


def two_files(pytester: pytest.Pytester, second: str) -> None:
    """good.sizebudget.json5 (budget "Good", passes) and a second budget file."""
    pytester.makeini("[pytest]\nconsole_output_style = classic\n")
    write_files(pytester.path, GOOD_FILES)
    (pytester.path / "second.sizebudget.json5").write_text(second)


SECOND = """{
  blob_sizes: ["good/blobs.json"],
  package_set_budgets: [
    {name: "First", budget_bytes: 8192, packages: ["good/package_manifest.json"]},
    {name: "Second", budget_bytes: 8192, packages: ["good/package_manifest.json"]},
  ],
}
"""


# -- an unexpected exception -------------------------------------------------------


@pytest.mark.parametrize("xdist_args", [[], ["-n", "2"]], ids=["single", "n2"])
def test_a_fixture_that_raises_leaves_its_budgets_in_every_report(
    pytester: pytest.Pytester, xdist_args: list[str]
) -> None:
    two_files(pytester, SECOND)
    pytester.makeconftest(
        """
import pytest

@pytest.fixture(scope="session")
def sizebudget_baseline():
    raise RuntimeError("the baseline service is down")
"""
    )
    result = pytester.runpytest(*REPORTS, *xdist_args)
    # the fixture errors every budget item at setup; the measurement items pass
    result.assert_outcomes(passed=2, errors=3)
    reports = Reports.read(pytester.path)
    reason = (
        "internal error: RuntimeError: the baseline service is down "
        "(raised at conftest.py:5 sizebudget_baseline)"
    )
    for name in ("Good", "First", "Second"):
        assert reports.error(name) == reason
        assert reports.html_status(name) == "error"
        assert reports.junit[name] == "error"
    assert reports.gerrit == {}  # nothing measured, nothing to write
    assert reports.json["totals"]["failed"] == 3
    reports.assert_totals_agree()
    result.stdout.fnmatch_lines(
        [
            "*ERROR at setup of size budget: First*",
            "Package set 'First' could not be checked",
            "  file    second.sizebudget.json5:4 (package_set_budgets[[]0])",
            "",
            reason,
            "*size budgets*",
            "First  [[]second.sizebudget.json5] * ERROR",
            "3 budgets checked: 0 over budget, 3 could not be checked",
        ]
    )
    result.stdout.no_fnmatch_line("*def sizebudget_baseline*")  # no traceback of source


BROKEN_KIND = """
from file_kind import FileKind

class Broken(FileKind):
    def evaluate(self, context, budget_file, budgets, base):
        raise KeyError("no such blob")

def pytest_sizebudget_register_kinds(registry):
    registry.register(Broken())
"""


def test_a_kind_whose_evaluate_raises_fails_only_its_own_budgets(
    pytester: pytest.Pytester,
) -> None:
    two_files(
        pytester,
        """{
  blob_sizes: ["good/blobs.json"],
  package_set_budgets: [
    {name: "Packages", budget_bytes: 8192, packages: ["good/package_manifest.json"]},
  ],
  file_budgets: [{name: "Files", files: ["good/blob"], budget_bytes: 100}],
}
""",
    )
    shutil.copy(KIND_MODULE, pytester.path / "file_kind.py")
    pytester.makeconftest(BROKEN_KIND)
    result = pytester.runpytest(*REPORTS)
    result.assert_outcomes(passed=4, failed=1)
    reports = Reports.read(pytester.path)
    error = reports.error("Files") or ""
    assert error.startswith("internal error: KeyError: 'no such blob' (in pytest_sizebudget/")
    assert error.endswith("; raised at conftest.py:5 evaluate)")
    assert reports.error("Packages") is None  # the file's other kind was still evaluated
    assert "Packages" in reports.gerrit
    assert "Files" not in reports.gerrit
    assert reports.junit["Files"] == "failure"
    reports.assert_totals_agree()
    result.stdout.fnmatch_lines(["Files 'Files' could not be checked", "internal error: KeyError*"])
    result.stdout.no_fnmatch_line("*Traceback*")


def test_a_bug_after_the_result_is_recorded_still_fails_the_budget_in_every_report(
    pytester: pytest.Pytester,
) -> None:
    """The budget's verdict was recorded as passed, then the item raised: the reports must
    say what the item says, not pass a budget whose item failed."""
    two_files(
        pytester, '{file_budgets: [{name: "Files", files: ["good/blob"], budget_bytes: 100}]}'
    )
    shutil.copy(KIND_MODULE, pytester.path / "file_kind.py")
    pytester.makeconftest(
        """
from file_kind import FileKind

class Broken(FileKind):
    def junit_properties(self, result):
        raise ValueError("bad property")

def pytest_sizebudget_register_kinds(registry):
    registry.register(Broken())
"""
    )
    # JUnit properties are asked for after the result is recorded (with xunit2, pytest's
    # default family, only when switched on).
    result = pytester.runpytest(*REPORTS, "--tb=line", "-o", "sizebudget_junit_properties=true")
    result.assert_outcomes(passed=3, failed=1)
    reports = Reports.read(pytester.path)
    error = reports.error("Files") or ""
    assert error.startswith("internal error: ValueError: bad property (in pytest_sizebudget/")
    assert reports.json["totals"]["failed"] == 1
    reports.assert_totals_agree()
    result.stdout.fnmatch_lines(
        ["*second.sizebudget.json5:1: Files 'Files' could not be checked: internal error: *"]
    )


# -- a worker that dies -----------------------------------------------------------------

CRASH_IN_FIXTURE = """
import os
import pytest

@pytest.fixture(autouse=True)
def crash(request):
    if request.node.name == "Second":
        os._exit(1)
"""


def test_a_worker_that_dies_in_setup_leaves_the_budget_in_every_report(
    pytester: pytest.Pytester,
) -> None:
    two_files(pytester, SECOND)
    pytester.makeconftest(CRASH_IN_FIXTURE)
    result = pytester.runpytest(*REPORTS, "-n", "2")
    result.assert_outcomes(passed=4, failed=1)
    reports = Reports.read(pytester.path)
    error = reports.error("Second") or ""
    assert error.startswith("the xdist worker running it crashed (worker 'gw")
    assert error.endswith("crashed while running 'second.sizebudget.json5::Second')")
    assert reports.html_status("Second") == "error"
    assert reports.junit["Second"] == "error"  # xdist: a crash is no phase of the test
    assert "Second" not in reports.gerrit
    assert "First" in reports.gerrit
    assert reports.error("First") is None
    assert reports.error("Good") is None
    reports.assert_totals_agree()
    result.stdout.fnmatch_lines(["Second  [[]second.sizebudget.json5] * ERROR"])


def test_a_worker_that_dies_in_a_kind_with_no_restarts_leaves_every_budget_in_the_reports(
    pytester: pytest.Pytester,
) -> None:
    """The first budget of the file kills its worker (the kind's evaluate exits) and
    nothing replaces it: that budget crashed, and the one behind it never ran."""
    two_files(
        pytester,
        '{file_budgets: [{name: "F1", files: ["good/blob"], budget_bytes: 100},'
        ' {name: "F2", files: ["good/blob"], budget_bytes: 100}]}',
    )
    shutil.copy(KIND_MODULE, pytester.path / "file_kind.py")
    pytester.makeconftest(
        BROKEN_KIND.replace('raise KeyError("no such blob")', "os._exit(1)").replace(
            "from file_kind", "import os\nfrom file_kind"
        )
    )
    # Without the measurement item, the budget items evaluate the file in their call.
    args = ["-n", "2", "--max-worker-restart=0", "-k", "not measurement", "-p", "no:randomly"]
    result = pytester.runpytest(*REPORTS, *args, "--dist=loadfile")
    assert result.ret == 1
    reports = Reports.read(pytester.path)
    assert (reports.error("F1") or "").startswith("the xdist worker running it crashed")
    assert reports.error("F2") == "not checked: the session ended before it ran"
    assert reports.junit["F1"] == "error"
    assert reports.html_status("F2") == "error"
    assert {b["name"] for b in reports.json["budgets"]} == {"Good", "F1", "F2"}
    reports.assert_totals_agree()


# -- a session that stops early -------------------------------------------------------


@pytest.mark.parametrize("xdist_args", [[], ["-n", "2"]], ids=["single", "n2"])
def test_budgets_a_stopped_session_never_ran_are_errors_in_the_reports(
    pytester: pytest.Pytester, xdist_args: list[str]
) -> None:
    two_files(pytester, SECOND.replace("budget_bytes: 8192", "budget_bytes: 10", 1))
    # -p no:randomly: the order decides which budgets run before the stop
    args = [*REPORTS, "-x", "-p", "no:randomly", "--dist=loadfile", *xdist_args]
    result = pytester.runpytest(*args)
    assert result.ret in (1, 2)  # xdist reports a stop as an interruption
    reports = Reports.read(pytester.path)
    assert reports.json["totals"]["over_budget"] == 1
    assert reports.error("First") is None  # over budget, the first failure
    stopped = reports.error("Second") or ""
    assert stopped.startswith("not run: the session stopped early"), stopped
    assert reports.html_status("Second") == "error"
    assert "Second" not in reports.junit  # JUnit lists what ran, as pytest does
    reports.assert_totals_agree()
    result.stdout.fnmatch_lines(["Second  [[]second.sizebudget.json5] * ERROR"])


def test_collect_only_reports_no_budget_as_not_run(pytester: pytest.Pytester) -> None:
    two_files(pytester, SECOND)
    result = pytester.runpytest("--sizebudget", "--sizebudget-json=r.json", "--collect-only")
    assert result.ret == 0
    assert json.loads((pytester.path / "r.json").read_text())["budgets"] == []


def test_a_skipped_budget_is_left_out_like_a_deselected_one(pytester: pytest.Pytester) -> None:
    two_files(pytester, SECOND)
    pytester.makeconftest(
        """
import pytest

def pytest_collection_modifyitems(items):
    for item in items:
        if item.name == "Second":
            item.add_marker(pytest.mark.skip(reason="not today"))
"""
    )
    result = pytester.runpytest("--sizebudget", "--sizebudget-json=r.json")
    assert result.ret == 0
    names = [b["name"] for b in json.loads((pytester.path / "r.json").read_text())["budgets"]]
    assert names == ["Good", "First"]
