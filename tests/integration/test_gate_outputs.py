"""Report paths and the cache directory are checked at start; a report that still cannot
be written at the end costs neither the summary nor the exit status; names with control
characters print escaped on the terminal and exact in the files."""

from __future__ import annotations

import json
import os

import pytest

from tests.corpus.runner import GOOD_FILES, write_files


@pytest.fixture
def good(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeini("[pytest]\nconsole_output_style = classic\n")
    write_files(pytester.path, GOOD_FILES)
    return pytester


# -- report paths ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "option", ["--sizebudget-json", "--sizebudget-html", "--sizebudget-gerrit"]
)
def test_a_report_path_that_is_a_directory_is_a_usage_error_at_start(
    good: pytest.Pytester, option: str
) -> None:
    (good.path / "out").mkdir()
    result = good.runpytest("--sizebudget", f"{option}=out")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: {option} {good.path / 'out'}: is a directory"])
    result.stdout.no_fnmatch_line("*collected*")  # nothing ran


def test_a_report_path_under_a_regular_file_is_a_usage_error_at_start(
    good: pytest.Pytester,
) -> None:
    (good.path / "file").write_text("x")
    result = good.runpytest("--sizebudget", "--sizebudget-html=file/deeper/r.html")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            f"ERROR: --sizebudget-html {good.path / 'file/deeper/r.html'}: cannot be created: "
            f"{good.path / 'file'} is not a directory"
        ]
    )


def test_a_report_path_where_no_file_can_be_created_is_a_usage_error_at_start(
    good: pytest.Pytester,
) -> None:
    # Even root cannot create files in /proc: permission bits would not tell.
    result = good.runpytest("--sizebudget", "--sizebudget-gerrit=/proc/sizebudget/g.json")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["ERROR: --sizebudget-gerrit /proc/sizebudget/g.json: no file can be created in /proc: *"]
    )


def test_two_reports_to_one_file_is_a_usage_error(good: pytest.Pytester) -> None:
    result = good.runpytest("--sizebudget", "--sizebudget-json=r", "--sizebudget-gerrit=r")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [f"ERROR: --sizebudget-gerrit {good.path / 'r'}: --sizebudget-json writes the same file*"]
    )


def test_missing_parent_directories_are_still_created(good: pytest.Pytester) -> None:
    result = good.runpytest("--sizebudget", "--sizebudget-json=a/b/r.json")
    assert result.ret == 0
    assert json.loads((good.path / "a/b/r.json").read_text())["totals"]["passed"] == 1
    assert sorted(p.name for p in (good.path / "a/b").iterdir()) == ["r.json"]  # no temp file


BREAK_OUT_DIR = """
import shutil
from pathlib import Path

def pytest_collection_finish(session):
    # The report directory was fine at start; now it is a file (a cleanup job, a full disk).
    out = Path(session.config.rootpath, "out")
    shutil.rmtree(out, ignore_errors=True)
    out.write_text("not a directory any more")
"""


def test_a_report_that_cannot_be_written_at_the_end_keeps_the_summary_and_fails_the_run(
    good: pytest.Pytester,
) -> None:
    (good.path / "out").mkdir()
    good.makeconftest(BREAK_OUT_DIR)
    result = good.runpytest(
        "--sizebudget", "--sizebudget-json=out/r.json", "--sizebudget-gerrit=g.json"
    )
    result.assert_outcomes(passed=2)  # every budget passed ...
    assert result.ret == pytest.ExitCode.TESTS_FAILED  # ... but the gate's report is missing
    result.stdout.fnmatch_lines(
        [
            "*size budgets*",
            "Good * 8,192 * ok",
            "1 budget checked: 0 over budget, 0 could not be checked",
            "Gerrit size report written to g.json",
            "ERROR: JSON report could not be written to out/r.json: File exists: *out",
        ]
    )
    result.stdout.no_fnmatch_line("*INTERNALERROR*")
    assert json.loads((good.path / "g.json").read_text())["Good"] == 8192


def test_a_renderer_that_raises_costs_only_its_own_report(good: pytest.Pytester) -> None:
    # Patched for this run only: pytester runs in this process.
    good.makeconftest(
        """
import pytest_sizebudget.report.html as html_report  # imported by the session to write

def broken(*args, **kwargs):
    raise ZeroDivisionError("bad treemap")

KEY = object()

def pytest_configure(config):
    config.stash[KEY] = html_report.render_html
    html_report.render_html = broken

def pytest_unconfigure(config):
    html_report.render_html = config.stash[KEY]
"""
    )
    result = good.runpytest(
        "--sizebudget", "--sizebudget-html=r.html", "--sizebudget-json=r.json", "-n", "0"
    )
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        [
            "JSON report written to r.json",
            "ERROR: HTML report could not be written to r.html: internal error: "
            "ZeroDivisionError: bad treemap (in pytest_sizebudget/session.py:* <lambda>; "
            "raised at conftest.py:4 broken)",
        ]
    )
    assert not (good.path / "r.html").exists()


# -- the cache directory --------------------------------------------------------------


def test_a_cache_dir_that_is_a_file_is_a_usage_error(good: pytest.Pytester) -> None:
    (good.path / "cache").write_text("x")
    result = good.runpytest("--sizebudget", "--sizebudget-cache-dir=cache")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            f"ERROR: --sizebudget-cache-dir {good.path / 'cache'}: is a regular file, not a "
            "directory (--sizebudget-no-cache runs without a cache)"
        ]
    )


def test_a_cache_dir_where_nothing_can_be_written_is_a_usage_error(
    good: pytest.Pytester,
) -> None:
    result = good.runpytest("--sizebudget", "--sizebudget-cache-dir=/proc/sizebudget-cache")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["ERROR: --sizebudget-cache-dir /proc/sizebudget-cache: cannot be created: *"]
    )


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only directories")
def test_a_read_only_cache_dir_is_a_usage_error(good: pytest.Pytester) -> None:
    cache = good.path / "cache"
    cache.mkdir()
    cache.chmod(0o555)
    try:
        result = good.runpytest("--sizebudget", "--sizebudget-cache-dir=cache")
    finally:
        cache.chmod(0o755)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: --sizebudget-cache-dir *: no file can be created in *"])


def test_a_missing_cache_dir_is_created_and_used(good: pytest.Pytester) -> None:
    result = good.runpytest("--sizebudget", "--sizebudget-cache-dir=c/d")
    assert result.ret == 0
    assert (good.path / "c/d").is_dir()


def test_an_unusable_pytest_cache_warns_that_the_run_is_uncached(
    good: pytest.Pytester,
) -> None:
    (good.path / "cachefile").write_text("x")
    # pytest warns too, for its own entries; the outer suite's filters make that an error
    result = good.runpytest(
        "--sizebudget", "-o", "cache_dir=cachefile", "-W", "ignore::pytest.PytestCacheWarning"
    )
    assert result.ret == 0  # speed, not the verdict
    result.stdout.fnmatch_lines(
        ["*PytestConfigWarning: sizebudget: the measurement cache *; this run is uncached*"]
    )


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


def test_control_characters_in_names_print_escaped_and_stay_exact_in_the_reports(
    good: pytest.Pytester,
) -> None:
    (good.path / "names.sizebudget.json5").write_text(NAMES_FILE)
    result = good.runpytest(
        "--sizebudget", "--sizebudget-json=r.json", "--sizebudget-gerrit=g.json", "-rA"
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
