"""The CI-facing reports as a CI job gets them: the Markdown report and the job summary,
the GitLab metrics report, and JUnit XML that validates against the schema pytest
targets for its default family (``tests/data/junit-10.xsd``, see ``tests/data/README.md``)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
import xmlschema
from markdown_it import MarkdownIt
from prometheus_client.openmetrics.parser import text_string_to_metric_families

from pytest_sizebudget.report.markdown import MARKER

EXAMPLE = Path(__file__).parents[2] / "conftest_examples"
SCHEMA = Path(__file__).parents[1] / "data" / "junit-10.xsd"

# One budget of every kind the example has, lowered until it fails.
LOWER = {
    "product.sizebudget.json5": [('budget_bytes: "256 KiB"', 'budget_bytes: "128 KiB"')],
    "images.sizebudget.json5": [('budget_bytes: "4 MiB"', 'budget_bytes: "2 MiB"')],
    "ota.sizebudget.json5": [
        ('max_contents_bytes: "320 KiB"', 'max_contents_bytes: "300 KiB"'),  # Release 1
        ('capacity_bytes: "768 KiB"', 'capacity_bytes: "600 KiB"'),
    ],
    "files.sizebudget.json5": [('budget_bytes: "96 KiB"', 'budget_bytes: "64 KiB"')],
}


@pytest.fixture
def failing_example(pytester: pytest.Pytester) -> Path:
    """The example product with a package set, an image, an update and a custom-kind
    budget over."""
    root = pytester.path / "conftest_examples"
    shutil.copytree(EXAMPLE, root)
    for name, edits in LOWER.items():
        path = root / name
        text = path.read_text()
        for old, new in edits:
            assert old in text, (name, old)
            text = text.replace(old, new, 1)
        path.write_text(text)
    return root


def test_markdown_metrics_and_job_summary_of_a_failing_run(
    pytester: pytest.Pytester, failing_example: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    summary = pytester.path / "step_summary.md"
    summary.write_text("## Build\n\nbuilt.\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    result = pytester.runpytest(
        "--sizebudget",
        "conftest_examples",
        "--sizebudget-json=r.json",
        "--sizebudget-markdown=out/size.md",
        "--sizebudget-metrics=out/metrics.txt",
        "-o",
        "sizebudget_github_summary=true",
        "-p",
        "no:cacheprovider",
    )
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        [
            "Markdown report written to out/size.md",
            "GitLab metrics report written to out/metrics.txt",
            "Markdown job summary ($GITHUB_STEP_SUMMARY) written to step_summary.md",
        ]
    )
    report = json.loads((pytester.path / "r.json").read_text())
    failed = sorted(b["name"] for b in report["budgets"] if not b["passed"])
    assert failed == [
        "Connectivity",
        "Font files",
        "OTA release 1 to 2",
        "Release 1 contents",
        "system partition",
    ]

    markdown = (pytester.path / "out" / "size.md").read_text()
    total = len(report["budgets"])
    assert markdown.startswith(
        MARKER + f"\n### ❌ Size budgets: 5 over budget, {total - 5} ok ({total} budgets; "
        "no baseline)\n"
    )
    html = MarkdownIt("commonmark", {"html": True}).enable("table").render(markdown)
    rows = re.findall(
        r"<tr>\n<td[^>]*><code>([^<]*)</code></td>\n<td[^>]*>([^<]*)</td>\n<td[^>]*>([^<]*)</td>",
        html,
    )
    used = {name: u for name, u, _ in rows}
    assert len(used) == total
    assert used["system partition"] == "3.00 MiB"
    assert used["Connectivity"] == "146.40 KiB"
    # Each failing budget's breakdown, as its kind gives it.
    for budget, title in [
        ("Connectivity", "<strong>Largest packages (3 of 3)</strong>"),
        ("system partition", "<strong>Image and partition</strong>"),
        ("OTA release 1 to 2", "<strong>Peak and download</strong>"),
        ("Release 1 contents", "<strong>Contents</strong>"),
        ("Font files", "<strong>Largest files (2 of 2)</strong>"),  # conftest_examples' own kind
    ]:
        section = html.split(f"<summary>Breakdown of <code>{budget}</code></summary>", 1)
        assert len(section) == 2, budget
        assert title in section[1].split("</details>", 1)[0], budget
    # The job summary: what the step wrote before, then the same Markdown.
    assert summary.read_text() == "## Build\n\nbuilt.\n\n" + markdown

    families = {
        f.name: f
        for f in text_string_to_metric_families(  # type: ignore[no-untyped-call]
            (pytester.path / "out" / "metrics.txt").read_text()
        )
    }
    assert len(families) == 2 * total
    for b in report["budgets"]:
        stem = "sizebudget_" + re.sub(r"[^a-z0-9]+", "_", b["name"].lower()).strip("_")
        (used_sample,) = families[f"{stem}_used_bytes"].samples
        (budget_sample,) = families[f"{stem}_budget_bytes"].samples
        assert used_sample.value == b["used_bytes"]
        assert budget_sample.value == b["budget_bytes"] - b.get("reserve_bytes", 0)
        assert families[f"{stem}_used_bytes"].unit == "bytes"


def test_job_summary_is_skipped_without_github_and_warns_when_full(
    pytester: pytest.Pytester, failing_example: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    args = (
        "--sizebudget",
        "conftest_examples",
        "-o",
        "sizebudget_github_summary=true",
        "-p",
        "no:cacheprovider",
    )
    result = pytester.runpytest(*args)
    assert "job summary" not in result.stdout.str()
    full = pytester.path / "full.md"
    full.write_text("x" * ((1 << 20) - 100))
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(full))
    result = pytester.runpytest(*args)
    result.stdout.fnmatch_lines(
        [
            "WARNING: Markdown job summary ($GITHUB_STEP_SUMMARY) could not be written to full.md: "
            "1,048,476 of its 1,048,576 bytes are used already"
        ]
    )
    assert full.stat().st_size == (1 << 20) - 100
    # A summary GitHub would drop fails no gate: only the budgets do.
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert result.parseoutcomes()["failed"] == 5


def test_markdown_limit_is_kept(pytester: pytest.Pytester, failing_example: Path) -> None:
    result = pytester.runpytest(
        "--sizebudget",
        "conftest_examples",
        "--sizebudget-markdown=s.md",
        "-o",
        "sizebudget_markdown_limit=3000",
        "-p",
        "no:cacheprovider",
    )
    assert result.parseoutcomes()["failed"] == 5
    text = (pytester.path / "s.md").read_text()
    assert len(text.encode()) <= 3000
    assert "left out to fit the size limit" in text


@pytest.mark.parametrize(
    ("option", "message"),
    [
        (
            "sizebudget_markdown_limit=100",
            "ini option sizebudget_markdown_limit: must be at least 2,048, got 100",
        ),
        ("sizebudget_markdown_limit=lots", "ini option sizebudget_markdown_limit: *"),
        (
            "sizebudget_junit_properties=maybe",
            "ini option sizebudget_junit_properties: expected auto, true or false, got 'maybe'",
        ),
    ],
)
def test_bad_ini_values_are_usage_errors(
    pytester: pytest.Pytester, option: str, message: str
) -> None:
    result = pytester.runpytest("--sizebudget", "-o", option)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: {message}"])


def test_report_paths_of_the_new_reports_are_checked(pytester: pytest.Pytester) -> None:
    (pytester.path / "adir").mkdir()
    for option in ("--sizebudget-markdown", "--sizebudget-metrics"):
        result = pytester.runpytest("--sizebudget", f"{option}=adir")
        assert result.ret == pytest.ExitCode.USAGE_ERROR
        result.stderr.fnmatch_lines([f"ERROR: {option} */adir: is a directory"])


def junit_errors(path: Path) -> list[str]:
    schema = xmlschema.XMLSchema(SCHEMA)
    return [f"{e.path}: {e.reason}" for e in schema.iter_errors(str(path))]


@pytest.mark.parametrize("xdist_args", [[], ["-n", "2"]], ids=["single", "n2"])
def test_junit_is_valid_xunit2_by_default(
    pytester: pytest.Pytester, failing_example: Path, xdist_args: list[str]
) -> None:
    """pytest's default family, with failures, errors, a problem file and a custom kind."""
    (failing_example / "broken.sizebudget.json5").write_text("{ package_set_budgets: [ }")
    result = pytester.runpytest(
        "--sizebudget",
        "conftest_examples",
        "--junitxml=j.xml",
        "-p",
        "no:cacheprovider",
        *xdist_args,
    )
    assert result.parseoutcomes()["failed"] == 6
    assert junit_errors(pytester.path / "j.xml") == []
    assert "<property" not in (pytester.path / "j.xml").read_text()


def test_junit_properties_where_asked(pytester: pytest.Pytester, failing_example: Path) -> None:
    base = ("--sizebudget", "conftest_examples", "-p", "no:cacheprovider")
    pytester.runpytest(*base, "--junitxml=x1.xml", "-o", "junit_family=xunit1")
    assert 'name="sizebudget.used_bytes"' in (pytester.path / "x1.xml").read_text()
    # Asked for under xunit2: written, and the schema says what that costs.
    pytester.runpytest(*base, "--junitxml=x2.xml", "-o", "sizebudget_junit_properties=true")
    assert 'name="sizebudget.used_bytes"' in (pytester.path / "x2.xml").read_text()
    errors = junit_errors(pytester.path / "x2.xml")
    assert errors
    assert all("properties" in e for e in errors)
