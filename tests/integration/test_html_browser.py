"""The HTML report in a real browser (headless Chromium over the DevTools protocol):
failures first, image budgets as partition bars that agree with the terminal, labels that
never overlap, zooming into a package and back, and a product of 1,000 packages and
50,000 blobs that opens quickly (times recorded as test properties, never asserted).

Screenshots go to ``$SIZEBUDGET_SCREENSHOTS`` when set (else the test's tmp_path), so
that a person can look at them.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from pytest_sizebudget.kinds.builtin import builtin_kinds
from pytest_sizebudget.report.html import render_html
from tests.integration.big_product import big_results
from tests.integration.browser import CHROMIUM, Browser

pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium is not installed (.ci/run installs it)"
)
EXAMPLE = Path(__file__).parents[2] / "conftest_examples"

# Every label of every treemap drawn, as boxes in page pixels, and the overlaps among
# them (a sweep over boxes sorted by their left edge).
LABELS = """(() => {
  const out = [];
  for (const svg of document.querySelectorAll('svg.treemap')) {
    const frame = svg.getBoundingClientRect();
    const boxes = [...svg.querySelectorAll('text')].map(t => {
      const r = t.getBoundingClientRect();
      return {x: r.left, y: r.top, r: r.right, b: r.bottom, text: t.textContent};
    });
    boxes.sort((a, b) => a.x - b.x);
    let overlaps = 0, outside = 0;
    for (let i = 0; i < boxes.length; i++) {
      const a = boxes[i];
      if (a.x < frame.left - 0.5 || a.r > frame.right + 0.5) outside++;
      for (let j = i + 1; j < boxes.length && boxes[j].x < a.r - 0.5; j++) {
        const b = boxes[j];
        if (b.y < a.b - 0.5 && a.y < b.b - 0.5) overlaps++;
      }
    }
    out.push({budget: svg.closest('section').dataset.budget, width: frame.width,
      labels: boxes.length, overlaps, outside,
      ellipsis: boxes.filter(b => b.text.endsWith('\u2026')).length,
      sized: boxes.filter(b => /\\d (B|KiB|MiB|GiB)$/.test(b.text)).length,
      rects: svg.querySelectorAll('rect').length});
  }
  return out;
})()"""


def screens(tmp_path: Path) -> Path:
    return Path(os.environ.get("SIZEBUDGET_SCREENSHOTS") or tmp_path)


def write_page(path: Path, packages: int, blobs: int) -> Path:
    results = big_results(packages, blobs)
    path.write_text(
        render_html(results, [], {"name": "pytest-sizebudget"}, kinds=builtin_kinds()),
        encoding="utf-8",
    )
    return path


def click(browser: Browser, selector: str) -> None:
    browser.js(
        f"document.querySelector({json.dumps(selector)})"
        ".dispatchEvent(new MouseEvent('click', {bubbles: true}))"
    )


@pytest.mark.parametrize(("packages", "blobs"), [(100, 5_000), (1_000, 50_000)])
def test_large_product_draws_without_overlaps_and_zooms(
    tmp_path: Path, record_property: Callable[[str, object], None], packages: int, blobs: int
) -> None:
    page = write_page(tmp_path / "r.html", packages, blobs)
    with Browser(tmp_path / "profile", 1400, 1000) as browser:
        seconds = browser.open(page.as_uri())
        timings = browser.js("window.sizebudgetTimings")
        record_property("open_seconds", round(seconds, 3))
        record_property("script_ms", round(timings["total"], 1))
        print(f"{packages} packages: opened in {seconds:.2f} s, script {timings}")
        assert browser.page_errors() == []

        # Failures and warnings first, each highlighted; the page's counts in the header.
        sections = browser.js(
            "[...document.querySelectorAll('section.budget')].map(s => [s.dataset.budget,"
            " s.dataset.status, getComputedStyle(s).borderLeftColor])"
        )
        assert [s[1] for s in sections] == ["over", "over", "warn", "ok"]
        assert sections[0][0] == "System"
        red, amber, green = sections[0][2], sections[2][2], sections[3][2]
        assert len({red, amber, green}) == 3
        assert browser.js("document.getElementById('counts').textContent") == "2 OVER1 WARN1 OK"
        rows = browser.js(
            "[...document.querySelectorAll('table.summary tbody tr')].map(r => r.className)"
        )
        assert rows == ["attention over", "attention over", "attention warn", ""]

        # Full width, labels inside the map and never on top of each other, sizes where
        # they fit and an ellipsis where a name does not, a bounded number of tiles.
        (overview,) = browser.js(LABELS)
        assert overview["width"] >= browser.js("window.innerWidth") - 80
        assert overview["overlaps"] == 0
        assert overview["outside"] == 0
        assert overview["labels"] >= 50
        assert overview["sized"] >= 20
        assert overview["ellipsis"] >= 1
        assert overview["rects"] < 10_000
        record_property("overview_rects", overview["rects"])
        browser.screenshot(screens(tmp_path) / f"html-{packages}-packages.png")

        # Zoom into the largest package: only its blobs, labelled, then back.
        name = browser.js("document.querySelector('g.package-group').dataset.package")
        charged = browser.js(
            "window.sizebudgetTreemaps[0].b.packages.find(p => p.name === "
            f"{json.dumps(name)}).blobs.length"
        )
        click(browser, "g.package-group")
        browser.wait_for(
            f"document.querySelector('svg.treemap').dataset.zoom === {json.dumps(name)}"
        )
        zoomed = browser.js(
            "[...document.querySelectorAll('svg.treemap rect.blob')].map(r => r.dataset.package)"
        )
        assert zoomed
        assert set(zoomed) == {name}
        assert len(zoomed) <= charged
        (inside,) = browser.js(LABELS)
        assert inside["overlaps"] == 0
        assert inside["outside"] == 0
        assert inside["sized"] >= min(len(zoomed), 5)
        assert name in browser.js("document.querySelector('nav.crumbs').textContent")
        assert browser.js("location.hash").endswith(name)
        browser.screenshot(screens(tmp_path) / f"html-{packages}-packages-zoomed.png")

        browser.js("history.back()")  # the back button zooms out
        browser.wait_for("document.querySelector('svg.treemap').dataset.zoom === ''")
        assert browser.js("document.querySelectorAll('g.package-group').length") > 10
        # ... and so do the "All packages" link and Escape.
        click(browser, "g.package-group")
        browser.wait_for("document.querySelector('svg.treemap').dataset.zoom !== ''")
        click(browser, "nav.crumbs a.zoom-out")
        browser.wait_for("document.querySelector('svg.treemap').dataset.zoom === ''")
        click(browser, "g.package-group")
        browser.wait_for("document.querySelector('svg.treemap').dataset.zoom !== ''")
        browser.js("document.dispatchEvent(new KeyboardEvent('keydown', {key: 'Escape'}))")
        browser.wait_for("document.querySelector('svg.treemap').dataset.zoom === ''")

        # Stays responsive: a zoom, a redraw at another width and a search, timed.
        zoom_ms = browser.js(
            "(() => { const t = performance.now(); const tm = window.sizebudgetTreemaps[0];"
            " tm.zoom = tm.b.packages[0].name; tm.draw(); tm.zoom = null; tm.draw();"
            " return (performance.now() - t) / 2; })()"
        )
        record_property("zoom_ms", round(zoom_ms, 1))
        browser.resize(900, 1000)
        browser.wait_for(
            "document.querySelector('svg.treemap').getBoundingClientRect().width < 900"
        )
        (narrow,) = browser.js(LABELS)
        assert narrow["overlaps"] == 0
        assert narrow["outside"] == 0

        # The blob table is built when opened, a page of rows at a time, and searched.
        browser.js("document.querySelector('details.blobs').open = true")
        browser.wait_for("document.querySelector('table.blobs')")
        assert browser.js("document.querySelectorAll('table.blobs tbody tr').length") == 200
        assert f"{blobs - 200:,} not shown" in browser.js(
            "document.querySelector('details.blobs button.more').textContent"
        )
        browser.js(
            "const s = document.getElementById('search'); s.value = 'blob-17.so';"
            " s.dispatchEvent(new Event('input'))"
        )
        browser.wait_for("document.querySelectorAll('table.blobs tbody tr').length === 1")
        print(f"{packages} packages: zoom {zoom_ms:.1f} ms, overview {overview}")


def test_image_budgets_agree_with_the_terminal(pytester: pytest.Pytester, tmp_path: Path) -> None:
    """The example's boot partition: 196,608 B, image 65,536 B, reserve 69,632 B."""
    shutil.copytree(EXAMPLE, pytester.path / "conftest_examples")
    result = pytester.runpytest(
        "--sizebudget",
        "conftest_examples/images.sizebudget.json5",
        "--sizebudget-html=r.html",
        "--sizebudget-json=r.json",
    )
    result.assert_outcomes(passed=5)
    (line,) = [x for x in result.outlines if x.startswith("boot partition ")]
    assert "+61,440" in line.split()
    entry = next(
        b
        for b in json.loads((pytester.path / "r.json").read_text())["budgets"]
        if b["name"] == "boot partition"
    )
    assert (entry["remaining_bytes"], entry["status"]) == (61_440, "ok")

    with Browser(tmp_path / "profile", 1300, 900) as browser:
        browser.open((pytester.path / "r.html").as_uri())
        remaining = browser.js(
            "[...document.querySelectorAll('table.summary tbody tr')].filter(r =>"
            " r.textContent.includes('boot partition')).map(r => r.cells[5].textContent)"
        )
        assert remaining == ["+61,440"]
        section = "section[data-budget='boot partition']"
        assert (
            browser.js(f'document.querySelector("{section} .remaining dd").textContent')
            == "+61,440 B"
        )
        segments = browser.js(
            f'[...document.querySelectorAll("{section} .bar .segment")]'
            ".map(s => [s.dataset.label, Number(s.dataset.bytes), s.textContent,"
            " s.getBoundingClientRect().width])"
        )
        assert [s[0] for s in segments] == ["data", "reserve", "headroom"]
        assert [s[1] for s in segments] == [65_536, 69_632, 61_440]
        assert sum(s[1] for s in segments) == 196_608  # the whole partition
        assert segments[1][2] == "reserve 68.0 KiB"  # sizes on the segments
        widths = [s[3] for s in segments]
        assert widths[1] == pytest.approx(widths[0] * 69_632 / 65_536, rel=0.02)
        # An image stored sparse: data and holes of what it writes, and no reserve.
        system = browser.js(
            "[...document.querySelectorAll(\"section[data-budget='system partition'] "
            '.bar .segment")].map(s => s.dataset.label)'
        )
        assert system == ["data", "holes", "headroom"]
        browser.screenshot(screens(tmp_path) / "html-images.png", full_page=True)


def test_warn_budgets_come_first_and_say_warn_everywhere(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    from tests.conftest import Product, fake_merkle

    product = Product(pytester.path)
    a, b = fake_merkle("A"), fake_merkle("B")
    p = product.manifest("app", [("bin/app", a)])
    q = product.manifest("fonts", [("data/font", b)])
    blobs = product.blobs_json({a: 9_500, b: 1_000})
    product.budget_file(
        {
            "blob_sizes": [blobs],
            "package_set_budgets": [
                {"name": "Alpha", "budget_bytes": 10_000, "packages": [q]},
                {"name": "Near", "budget_bytes": 10_000, "warn_at": 90, "packages": [p]},
            ],
        }
    )
    result = pytester.runpytest(
        "--sizebudget",
        "--sizebudget-html=r.html",
        "--sizebudget-json=r.json",
        "-W",
        "default::pytest_sizebudget.plugin.SizeBudgetWarning",
    )
    result.assert_outcomes(passed=3, warnings=1)
    (line,) = [x for x in result.outlines if x.startswith("Near ")]
    assert line.split()[-1] == "WARN"
    statuses = {
        b["name"]: b["status"]
        for b in json.loads((pytester.path / "r.json").read_text())["budgets"]
    }
    assert statuses == {"Alpha": "ok", "Near": "warn"}
    with Browser(tmp_path / "profile", 1200, 900) as browser:
        browser.open((pytester.path / "r.html").as_uri())
        order = browser.js(
            "[...document.querySelectorAll('section.budget')].map(s => s.dataset.budget)"
        )
        assert order == ["Near", "Alpha"]  # by severity, not file order
        assert browser.js("document.querySelector('section.budget .status').textContent") == "WARN"
        warning = browser.js("document.querySelector('section.budget p.warning').textContent")
        assert re.match(
            r"Package set 'Near' is at 95\.0% of its budget, above warn_at 90%", warning
        )
        # The bar marks where the budget starts to warn.
        assert browser.js("document.querySelectorAll('section.budget .warn-limit').length") >= 1
