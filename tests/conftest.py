from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]


def product_report(path: Path) -> bytes:
    """A JSON report's bytes without its ``measurement`` section, which says how the run
    got its sizes (cache hits, blobs compressed) and so differs between a cold and a warm
    run, or one process and xdist workers; everything else must be byte-identical."""
    from pytest_sizebudget.report.json_report import render_json

    data = json.loads(path.read_bytes())
    data.pop("measurement", None)
    return render_json(data).encode()


def fake_merkle(label: str) -> str:
    """A valid-looking merkle for accounting tests, where merkles are only labels."""
    return (label.encode().hex() * 64)[:64]


class Product:
    """Writes package manifests and blobs.json files into a directory, as a build would."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def manifest(
        self,
        name: str,
        blobs: Iterable[tuple[str, str]],
        *,
        filename: str | None = None,
        extra: dict[str, object] | None = None,
    ) -> str:
        """``blobs`` are (in-package path, merkle) pairs; returns the manifest's relative path."""
        rel = filename or f"{name}/package_manifest.json"
        data = {
            "version": "1",
            "package": {"name": name, "version": "0"},
            "blobs": [
                {"source_path": f"blobs/{m}", "path": p, "merkle": m, "size": 1} for p, m in blobs
            ],
            **(extra or {}),
        }
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(data, indent=2))
        return rel

    def blobs_json(self, sizes: dict[str, int], filename: str = "blobs.json") -> str:
        data = [{"merkle": m, "size": s, "source_path": f"blobs/{m}"} for m, s in sizes.items()]
        path = self.root / filename
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(data, indent=2))
        return filename

    def budget_file(self, content: object, filename: str = "size.sizebudget.json5") -> Path:
        path = self.root / filename
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content if isinstance(content, str) else json.dumps(content, indent=2))
        return path


@pytest.fixture
def pytester(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    # pytest-benchmark, where installed, warns in runs it believes distributed (it reads
    # xdist's environment), which breaks inner runs when this suite itself runs with -n.
    # Pytester clears PYTEST_ADDOPTS when it starts, so this must come after it.
    monkeypatch.setenv("PYTEST_ADDOPTS", "-p no:benchmark")
    return pytester


@pytest.fixture
def product(tmp_path: Path) -> Product:
    return Product(tmp_path)


@pytest.fixture
def pt_product(pytester: pytest.Pytester) -> Product:
    """A product in the pytester directory, for end-to-end runs."""
    pytester.makeini("[pytest]\nconsole_output_style = classic\n")
    return Product(pytester.path)
