"""What a package index shows and ships: metadata, the README's links, the sdist."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import re
import subprocess
import sys
import tarfile
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
BASE = PROJECT["urls"]["Source"]


def test_metadata() -> None:
    classifiers = set(PROJECT["classifiers"])
    assert {"Framework :: Pytest", "Typing :: Typed"} <= classifiers
    versions = {c.rsplit(" ", 1)[1] for c in classifiers if re.fullmatch(r".*:: 3\.\d+", c)}
    assert versions == {"3.11", "3.12", "3.13"}
    assert PROJECT["requires-python"] == ">=3.11"
    assert "pytest-xdist>=3.6.1" in PROJECT["dependencies"]  # 3.6.0 was yanked
    assert PROJECT["license"] == "Apache-2.0"
    license_text = (ROOT / "LICENSE").read_text()
    assert "Apache License" in license_text
    assert "Version 2.0, January 2004" in license_text
    assert "END OF TERMS AND CONDITIONS" in license_text  # the full text, not a notice
    assert all(url.startswith(BASE) for url in PROJECT["urls"].values())


def test_readme_links_work_on_a_package_index() -> None:
    """A package index shows the README without the repository: every link is absolute,
    and every link into the repository names a file that exists."""
    readme = (ROOT / "README.md").read_text()
    links = re.findall(r"\]\(([^)\s]+)\)", readme)
    assert links
    for link in links:
        assert link.startswith(("https://", "http://", "#")), link
        if link.startswith(f"{BASE}/blob/main/"):
            path = link.removeprefix(f"{BASE}/blob/main/").split("#", 1)[0]
            assert (ROOT / path).is_file(), link


def _setuptools_builds_this() -> bool:
    if importlib.util.find_spec("build") is None:
        return False
    try:
        version = importlib.metadata.version("setuptools")
    except importlib.metadata.PackageNotFoundError:
        return False
    return int(version.split(".", 1)[0]) >= 77  # SPDX license, license-files


@pytest.mark.skipif(
    not _setuptools_builds_this(), reason="needs 'build' and setuptools>=77 (the test extra)"
)
def test_sdist_ships_the_tests_and_what_they_need(tmp_path: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "build",
            "--sdist",
            "--no-isolation",
            "-o",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
    )
    (sdist,) = tmp_path.glob("*.tar.gz")
    with tarfile.open(sdist) as tar:
        names = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
    for needed in (
        "LICENSE",
        "README.md",
        "CHANGELOG.md",
        "tests/conftest.py",
        "tests/integration/test_ci_reports.py",
        "tests/data/junit-10.xsd",
        "conftest_examples/product.sizebudget.json5",
        "docs/ci/github-size.yml",
        "docs/ci/gitlab-ci.yml",
    ):
        assert needed in names, needed
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
