"""The CI recipes under docs/ci/: valid YAML, current action versions, options that exist,
and the shell that runs the check working end to end on the example product (twice: the
second run compares with the first run's report, as a pull request with its base)."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).parents[2]
RECIPES = ROOT / "docs" / "ci"
EXAMPLE = ROOT / "conftest_examples"

# The current major versions (shared/reference/ci_reports.md, section 5.1) and the
# sticky-comment action's (section 2.2).
CURRENT = {
    "actions/checkout": "v7",
    "actions/setup-python": "v7",
    "actions/upload-artifact": "v7",
    "actions/download-artifact": "v8",
    "actions/cache/restore": "v5",
    "actions/cache/save": "v5",
    "actions/cache": "v5",
    "marocchino/sticky-pull-request-comment": "v3",
}


def load(name: str) -> Any:
    return yaml.safe_load((RECIPES / name).read_text())


def github_steps(name: str) -> list[dict[str, Any]]:
    jobs = load(name)["jobs"]
    return [step for job in jobs.values() for step in job["steps"]]


def shell_texts() -> list[str]:
    texts = [
        s["run"]
        for n in ("github-size.yml", "github-size-comment.yml")
        for s in github_steps(n)
        if "run" in s
    ]
    texts += load("gitlab-ci.yml")["size-budgets"]["script"]
    return texts


def test_recipes_parse_and_use_current_actions() -> None:
    assert load("github-size.yml")["name"] == "size budgets"
    # The comment workflow follows the check workflow by its name.
    comment = load("github-size-comment.yml")
    assert comment[True]["workflow_run"]["workflows"] == ["size budgets"]  # YAML 1.1: on = true
    uses = [
        s["uses"]
        for n in ("github-size.yml", "github-size-comment.yml")
        for s in github_steps(n)
        if "uses" in s
    ]
    assert uses
    for use in uses:
        action, version = use.split("@")
        assert CURRENT[action] == version, use
    gitlab = load("gitlab-ci.yml")["size-budgets"]
    assert gitlab["artifacts"]["reports"] == {
        "junit": "reports/junit.xml",
        "metrics": "reports/metrics.txt",
    }
    assert gitlab["artifacts"]["when"] == "always"


def pytest_commands() -> list[list[str]]:
    """The arguments of every pytest command in the recipes (shell variables left out)."""
    out = []
    for text in shell_texts():
        words = shlex.split(text.replace("\\\n", " "), comments=True)
        while "pytest" in words:
            words = words[words.index("pytest") + 1 :]
            end = words.index("pytest") if "pytest" in words else len(words)
            out.append([w for w in words[:end] if "$" not in w])
    return out


def test_the_docs_show_the_recipes_as_they_are() -> None:
    doc = (ROOT / "docs" / "ci.md").read_text()
    for name in ("github-size.yml", "github-size-comment.yml", "gitlab-ci.yml"):
        assert f"```yaml\n{(RECIPES / name).read_text()}```" in doc, name


def test_every_option_the_recipes_use_exists(pytester: pytest.Pytester) -> None:
    commands = pytest_commands()
    assert len(commands) == 2
    for args in commands:
        assert {"--sizebudget", "-n", "--junitxml=reports/junit.xml"} <= set(args)
        # pytest's own parser: an unknown option or ini key is a usage error.
        config = pytester.parseconfig(*args)
        assert config.getoption("sizebudget") is True
        assert config.getoption("sizebudget_markdown") == "reports/sizebudget.md"
        for i, word in enumerate(args):
            if word == "-o":
                name = args[i + 1].split("=", 1)[0]
                config.getini(name)  # ValueError for a key that does not exist


def check_script(kind: str) -> str:
    if kind == "github":
        (step,) = [s for s in github_steps("github-size.yml") if s.get("id") == "sizes"]
        return str(step["run"])
    return "\n".join(load("gitlab-ci.yml")["size-budgets"]["script"][1:])  # after pip install


@pytest.mark.parametrize("kind", ["github", "gitlab"])
def test_the_check_runs_end_to_end(pytester: pytest.Pytester, kind: str) -> None:
    if shutil.which("pytest") is None:
        pytest.skip("no pytest command on PATH")  # pragma: no cover - pip installs one
    shutil.copytree(EXAMPLE, pytester.path / "budgets")
    summary = pytester.path / "summary.md"
    env = {
        **os.environ,
        "GITHUB_STEP_SUMMARY": str(summary),
        "PYTEST_ADDOPTS": "-p no:benchmark",
        # This checkout's plugin, whatever else is installed.
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    env.pop("CI_MERGE_REQUEST_TARGET_BRANCH_NAME", None)
    script = check_script(kind)

    def run() -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            ["bash", "-e", "-c", script] if kind == "github" else ["sh", "-e", "-c", script],
            cwd=pytester.path,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        return done

    first = run()
    reports = pytester.path / "reports"
    expected = {"junit.xml", "sizebudget.json", "sizebudget.html", "sizebudget.md"}
    if kind == "gitlab":
        expected.add("metrics.txt")
    assert {p.name for p in reports.iterdir()} == expected
    assert "no baseline" in (reports / "sizebudget.md").read_text()
    assert (pytester.path / ".sizebudget-cache").is_dir()
    assert "cache hits" in first.stdout or "reused" in first.stdout
    # The base branch's report, downloaded as the baseline.
    (pytester.path / "baseline").mkdir(exist_ok=True)
    shutil.copy(reports / "sizebudget.json", pytester.path / "baseline" / "sizebudget.json")
    run()
    markdown = (reports / "sizebudget.md").read_text()
    assert "against baseline `baseline/sizebudget.json`" in markdown
    assert len(markdown) <= 65_000
    if kind == "github":
        assert summary.read_text().count("<!-- pytest-sizebudget report -->") == 2
    else:
        assert not summary.exists()
