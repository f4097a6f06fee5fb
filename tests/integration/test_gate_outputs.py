"""Names with control characters print escaped on the terminal and exact in the files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.corpus.runner import GOOD_FILES, write_files


@pytest.fixture
def good(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeini("[pytest]\nconsole_output_style = classic\n")
    write_files(pytester.path, GOOD_FILES)
    return pytester


# -- names with control characters -------------------------------------------------------

NAMES_FILE = r"""{
  blob_sizes: ["good/blobs.json"],
  package_set_budgets: [
    {name: "two\nlines", budget_bytes: 10, packages: ["good/package_manifest.json"]},
    {name: "red\u001b[31m", budget_bytes: 8192, packages: ["good/package_manifest.json"]},
    {name: "two\\nlines", budget_bytes: 8192, packages: ["good/package_manifest.json"]},
  ],
}
"""


@pytest.mark.parametrize("xdist_args", [[], ["-n", "2"]], ids=["single", "n2"])
def test_control_characters_in_names_print_escaped_and_stay_exact_in_the_reports(
    good: pytest.Pytester, xdist_args: list[str]
) -> None:
    (good.path / "names.sizebudget.json5").write_text(NAMES_FILE)
    result = good.runpytest(
        "--sizebudget", "--sizebudget-json=r.json", "--sizebudget-gerrit=g.json", "-rA",
        *xdist_args,
    )
    result.assert_outcomes(passed=5, failed=1)
    output = result.stdout.str() + result.stderr.str()
    assert "\x1b" not in output
    assert "two\nlines" not in output
    result.stdout.fnmatch_lines(
        [
            # the failure's header: the escaped name meets the other name as written, so
            # its node ID ends in its key
            "*size budget: two\\nlines [[]package_set_budgets[[]0]]*",
            "Package set 'two\\nlines' is over budget by *",
            "*size budgets*",
        ]
    )
    # summary rows: one line each, escaped
    result.stdout.fnmatch_lines(["red\\x1b[[]31m  [[]names.sizebudget.json5] * ok"])
    result.stdout.fnmatch_lines(["two\\nlines  [[]names.sizebudget.json5] * OVER"])
    # the name written with a backslash keeps its own node ID
    result.stdout.fnmatch_lines(["PASSED names.sizebudget.json5::two\\nlines"])
    names = {b["name"] for b in json.loads((good.path / "r.json").read_text())["budgets"]}
    assert names == {"Good", "two\nlines", "red\x1b[31m", "two\\nlines"}
    gerrit = json.loads((good.path / "g.json").read_text())
    assert gerrit["two\nlines"] == gerrit["red\x1b[31m"] == gerrit["two\\nlines"]


def test_escaped_node_ids_still_name_their_budget_when_a_worker_dies(
    good: pytest.Pytester,
) -> None:
    (good.path / "names.sizebudget.json5").write_text(NAMES_FILE)
    good.makeconftest(
        """
import os
import pytest

@pytest.fixture(autouse=True)
def crash(request):
    if request.node.name == "red\\\\x1b[31m":
        os._exit(1)
"""
    )
    result = good.runpytest("--sizebudget", "--sizebudget-json=r.json", "-n", "2")
    assert result.ret == 1
    report = json.loads(Path(good.path / "r.json").read_text())
    errors = {b["name"]: b["error"] for b in report["budgets"]}
    assert errors["red\x1b[31m"].startswith("the xdist worker running it crashed")
    assert errors["two\\nlines"] is None
