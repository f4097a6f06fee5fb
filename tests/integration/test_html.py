"""The HTML report, rendered by a real browser (headless Chromium): what the page's script drew."""

from __future__ import annotations

import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.conftest import Product
from tests.integration.test_baseline import NEW_LIB, build

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    return subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            f"--user-data-dir={tmp_path / 'chromium-profile'}",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )


class Rects(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.section: str | None = None
        self.rects: list[tuple[str | None, dict[str, str | None]]] = []
        self.rendered = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "body" and a.get("data-rendered") == "true":
            self.rendered = True
        if tag == "section":
            self.section = a.get("data-budget")
        if tag == "rect":
            self.rects.append((self.section, a))


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (.ci/run installs it)")
def test_html_report_renders_treemaps_in_chromium(
    pytester: pytest.Pytester, pt_product: Product, tmp_path: Path
) -> None:
    build(pt_product, change=False)
    pytester.runpytest("--sizebudget", "--sizebudget-json=base.json")
    build(pt_product, change=True)
    pytester.runpytest(
        "--sizebudget", "--sizebudget-baseline=base.json", "--sizebudget-html=r.html"
    )
    page = pytester.path / "r.html"
    text = page.read_text()
    # Self-contained: nothing is fetched (owner links are data, not resources).
    assert not re.search(r"""(?:src|href)\s*=\s*["']?https?:""", text)
    assert "@import" not in text
    assert "url(http" not in text
    url = page.as_uri()

    dom = chromium(tmp_path, "--dump-dom", url).stdout
    parsed = Rects()
    parsed.feed(dom)
    assert parsed.rendered, dom[:2000]
    blobs = [(s, a) for s, a in parsed.rects if "blob" in (a.get("class") or "").split()]
    packages = [(s, a) for s, a in parsed.rects if a.get("class") == "package"]
    # One rect per charged blob, one per package, in each budget's own treemap.
    assert sorted((s, a["data-label"]) for s, a in blobs) == [
        ("Grows", "app/bin/app"),
        ("Grows", "app/lib/libc.so"),
        ("Grows", "app/lib/libnew.so"),
        ("Small", "fonts/data/icu.dat"),
        ("Small", "fonts/fonts/new.ttf"),
        ("Tool", "tool/bin/tool"),
    ]
    assert sorted((s, a["data-package"]) for s, a in packages) == [
        ("Grows", "app"),
        ("Small", "fonts"),
        ("Tool", "tool"),
    ]
    by_label = {str(a["data-label"]): a for _, a in blobs}
    assert by_label["app/lib/libnew.so"]["fill"] == "#e53935"  # added: growth colour
    assert by_label["app/lib/libnew.so"]["data-merkle"] == NEW_LIB
    assert by_label["app/lib/libc.so"]["fill"] == "#b0bec5"  # unchanged
    assert "shared" in (by_label["app/bin/app"]["class"] or "")  # shared with the Tool set
    assert "shared" not in (by_label["app/lib/libc.so"]["class"] or "")
    # Within a treemap, rectangles are proportional to charged bytes (40,000 : 20,000 : 4,000).
    area = {
        k: float(a["width"] or 0) * float(a["height"] or 0)
        for k, a in by_label.items()
        if k.startswith("app/")
    }
    assert area["app/lib/libc.so"] == pytest.approx(2 * area["app/lib/libnew.so"], rel=0.01)
    assert area["app/lib/libc.so"] == pytest.approx(10 * area["app/bin/app"], rel=0.01)
    assert 'class="sortable summary"' in dom
    assert "Gone since the baseline: Retired" in dom

    shot = tmp_path / "report.png"
    chromium(tmp_path, "--window-size=1200,1400", f"--screenshot={shot}", url)
    data = shot.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    assert len(data) > 10_000


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (.ci/run installs it)")
def test_merged_meta_far_allowance_has_its_own_tile(
    pytester: pytest.Pytester, pt_product: Product, tmp_path: Path
) -> None:
    from tests.conftest import fake_merkle

    a = fake_merkle("A")
    p = pt_product.manifest("system_image", [("data/static_packages", a)])
    pt_product.budget_file(
        {
            "blob_sizes": [pt_product.blobs_json({a: 8192})],
            "package_set_budgets": [
                {"name": "System", "budget_bytes": "1 MiB", "merge": True, "packages": [p]},
            ],
        }
    )
    pytester.runpytest("--sizebudget", "--sizebudget-html=r.html").assert_outcomes(passed=2)
    parsed = Rects()
    parsed.feed(chromium(tmp_path, "--dump-dom", (pytester.path / "r.html").as_uri()).stdout)
    assert parsed.rendered

    def area(cls: str) -> float:
        (rect,) = [r for s, r in parsed.rects if s == "System" and r.get("class") == cls]
        return float(rect["width"] or 0) * float(rect["height"] or 0)

    # used = 32,768 fixed + 8,192 for the one blob: the fixed tile is four times the package.
    assert area("fixed") == pytest.approx(4 * area("package"), rel=0.02)
