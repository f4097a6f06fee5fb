"""The Markdown report, rendered by an independent CommonMark parser (markdown-it-py, with
GFM tables as GitHub has them): what a reader sees, within every size limit."""

from __future__ import annotations

import functools
import random
import zlib
from dataclasses import replace
from html.parser import HTMLParser

import pytest
from markdown_it import MarkdownIt

from pytest_sizebudget.accounting import BlobCharge, PackageCharge
from pytest_sizebudget.kinds.builtin import builtin_kinds
from pytest_sizebudget.report.diff import BlobChange
from pytest_sizebudget.report.markdown import (
    COMMENT_LIMIT,
    JOB_SUMMARY_LIMIT,
    MARKER,
    MIN_LIMIT,
    code,
    render_markdown,
)
from pytest_sizebudget.report.model import BudgetResult, FileProblem
from pytest_sizebudget.report.text import shown
from pytest_sizebudget.settings import MIN_MARKDOWN_LIMIT

KINDS = builtin_kinds()
MD = MarkdownIt("commonmark", {"html": True}).enable("table")


class Page(HTMLParser):
    """Tables (rows of cell texts), code texts, headings and the elements of the page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: list[list[list[str]]] = []
        self.codes: list[str] = []
        self.headings: list[str] = []
        self.tags: list[str] = []
        self._cell: list[str] | None = None
        self._code: list[str] | None = None
        self._heading: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "code":
            self._code = []
        elif tag in ("h3", "h4"):
            self._heading = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self.tables[-1][-1].append("".join(self._cell))
            self._cell = None
        elif tag == "code" and self._code is not None:
            self.codes.append("".join(self._code))
            self._code = None
        elif tag in ("h3", "h4") and self._heading is not None:
            self.headings.append("".join(self._heading))
            self._heading = None

    def handle_data(self, data: str) -> None:
        for part in (self._cell, self._code, self._heading):
            if part is not None:
                part.append(data)


def page(markdown: str) -> Page:
    p = Page()
    p.feed(MD.render(markdown))
    return p


def result(name: str, used: int | None, budget: int, **kw: object) -> BudgetResult:
    base = {
        "name": name,
        "kind": "package_set",
        "file": "size.sizebudget.json5",
        "line": 1,
        # Stable across processes (hash() is salted per process, and two names whose
        # keys collided were one budget: a flaky test).
        "key": f"package_set_budgets[{zlib.crc32(name.encode('utf-8', 'surrogatepass'))}]",
        "budget_bytes": budget,
        "used_bytes": used,
    }
    base.update(kw)
    return BudgetResult(**base)  # type: ignore[arg-type]


def packages(n: int, blobs: int = 3, tag: str = "p") -> tuple[PackageCharge, ...]:
    out = []
    for i in range(n):
        charges = tuple(
            BlobCharge(
                merkle=f"{i:032x}{j:032x}",
                path=f"bin/{tag}{i}_{j}",
                size=1000 * (j + 1),
                share_count=1,
                charged_bytes=1000 * (j + 1),
            )
            for j in range(blobs)
        )
        total = sum(b.charged_bytes for b in charges)
        out.append(
            PackageCharge(f"{tag}{i}", f"out/{tag}{i}/package_manifest.json", total, total, charges)
        )
    return tuple(out)


EVIL = [
    "a|b",
    "back`tick``s",
    "<script>alert(1)</script>",
    "line\nbreak",
    "*star* _under_ [link](http://x.example)",
    "@org/team",
    "www.example.com",
    "trailing\\",
    "\\|pipe after backslash",
    " spaced ",
    "`",
]


def test_names_are_shown_exactly_and_forge_nothing() -> None:
    results = [result(name, 10, 100) for name in EVIL] + [result("over", 200, 100)]
    text = render_markdown(results, breakdown=KINDS.breakdown)
    rendered = page(text)
    assert "script" not in rendered.tags  # no HTML of a name reaches the page
    assert "a" not in rendered.tags  # no link, no autolink, no mention
    (failing,) = [t for t in rendered.tables if any("over" in c for row in t for c in row)]
    assert [row[0] for row in failing] == ["budget", "over"]
    within = rendered.tables[-1]
    assert len(within) == 1 + len(EVIL)  # header and one row per budget: no forged row
    names = sorted(row[0] for row in within[1:])
    assert names == sorted(shown(n) for n in EVIL)
    assert all(len(row) == 5 for row in within)  # no cell split by a pipe


@pytest.mark.parametrize("name", EVIL)
def test_code_span_round_trips(name: str) -> None:
    outside = page(f"x {code(name, cell=False)} y").codes
    assert outside == [shown(name)]
    in_table = page(f"| h |\n| --- |\n| {code(name)} |\n").tables[0][1]
    assert in_table == [shown(name)]


def test_headline_sections_and_statuses() -> None:
    results = [
        result("Over", 150, 100, packages=packages(2)),
        result(
            "Broken",
            None,
            100,
            error="size.sizebudget.json5: packages[0]: nope.json: does not exist",
        ),
        result("Close", 96, 100, warning="image budget 'Close' is at 96.0% of its partition"),
        result("Fine", 10, 100),
    ]
    problems = [
        FileProblem(file="bad.sizebudget.json5", message="bad.sizebudget.json5:3:1: invalid JSON5")
    ]
    text = render_markdown(results, problems, breakdown=KINDS.breakdown)
    assert text.splitlines()[0] == MARKER
    rendered = page(text)
    assert rendered.headings[0] == (
        "❌ Size budgets: 1 over budget, 1 not checked, 1 budget file problem, 1 warning, 1 ok "
        "(4 budgets; no baseline)"
    )
    failing = rendered.tables[0]
    assert failing[0] == ["budget", "used", "limit", "used %", "status"]
    assert [row[0] for row in failing[1:]] == ["Broken", "Over", "Close"]
    assert [row[-1] for row in failing[1:]] == ["❗ error", "❌ over", "⚠️ warn"]
    assert failing[2][1:4] == ["150 B", "100 B", "150.0%"]
    assert "bad.sizebudget.json5:3:1: invalid JSON5" in rendered.codes
    assert "size.sizebudget.json5: packages[0]: nope.json: does not exist" in rendered.codes
    assert "image budget 'Close' is at 96.0% of its partition" in rendered.codes
    # The over budget's breakdown: its packages, through its kind.
    assert ["package", "manifest", "size", "charged"] in [t[0] for t in rendered.tables]
    assert rendered.tables[-1][1][0] == "Fine"  # collapsed: within budget


def test_baseline_changed_unchanged_new_and_gone() -> None:
    def matched(name: str, used: int, base: int) -> BudgetResult:
        return result(
            name,
            used,
            10_000,
            baseline="matched",
            baseline_used_bytes=base,
            delta_bytes=used - base,
            creep_budget_bytes=5_000,
        )

    results = [
        matched("Grew", 5_000, 2_000),
        matched("Shrank", 1_000, 3_000),
        matched("Tiny", 1_010, 1_000),
        matched("Same", 1_000, 1_000),
        result("Brand new", 500, 10_000, baseline="new"),
        matched("Creeps", 9_000, 1_000),
    ]
    results[-1] = replace(results[-1], creep_budget_bytes=100)
    gone = [result("Old", 7, 10)]
    text = render_markdown(
        results, gone=gone, baseline="base.json", delta_threshold=100, breakdown=KINDS.breakdown
    )
    rendered = page(text)
    assert rendered.headings[0].endswith("(6 budgets; against baseline base.json)")
    assert "1 over creep budget" in rendered.headings[0]
    failing, changed, unchanged = rendered.tables[:3]
    assert (failing[1][0], failing[1][-1]) == ("Creeps", "❌ creep")
    assert failing[0] == ["budget", "used", "limit", "delta", "used %", "status"]
    assert [r[0] for r in changed[1:]] == ["Grew", "Shrank", "Brand new"]  # largest change first
    assert [r[3] for r in changed[1:]] == ["+2.93 KiB (+150.0%)", "-1.95 KiB (-66.7%)", "new"]
    assert sorted(r[0] for r in unchanged[1:]) == ["Same", "Tiny"]
    assert "Changed since the baseline by 100 B or more" in rendered.headings
    assert "Old" in rendered.codes


def test_same_bytes_whatever_the_order() -> None:
    results = [result(f"b{i}", i * 10, 500, packages=packages(2, tag=f"t{i}")) for i in range(60)]
    first = render_markdown(results, breakdown=KINDS.breakdown, limit=8_000)
    shuffled = results[:]
    random.Random(4).shuffle(shuffled)
    assert render_markdown(shuffled, breakdown=KINDS.breakdown, limit=8_000) == first


@functools.cache
def thousand_budgets() -> tuple[list[BudgetResult], list[BudgetResult]]:
    """1,000 budgets across 20 files, a quarter over with 40 packages each, a baseline."""
    results = []
    for i in range(1_000):
        used = 1_000_000 + 7_919 * i
        over = i % 4 == 0
        pk = packages(40, 5, tag=f"pkg{i}-") if over else ()
        diff = (
            tuple(
                BlobChange(
                    kind="added",
                    package=f"pkg{i}-{j}",
                    path=f"lib/l{j}.so",
                    new_merkle=f"{j:064x}",
                    new_size=4096 * j,
                    new_charged=4096 * j,
                )
                for j in range(30)
            )
            if over
            else ()
        )
        results.append(
            result(
                f"budget {i:04d} with a longish name",
                used,
                used - 10 if over else used + 100_000,
                file=f"dir{i % 20}/product.sizebudget.json5",
                key=f"package_set_budgets[{i}]",
                line=i + 1,
                packages=pk,
                baseline="matched",
                baseline_used_bytes=used - (i % 7) * 5_000,
                delta_bytes=(i % 7) * 5_000,
                diff=diff,
                creep_budget_bytes=10**9,
            )
        )
    gone = [result(f"gone {i}", i, 10, file="old.sizebudget.json5") for i in range(50)]
    return results, gone


@pytest.mark.parametrize(
    "limit", [MIN_LIMIT, 5_000, 20_000, COMMENT_LIMIT, 300_000, JOB_SUMMARY_LIMIT]
)
def test_a_thousand_budgets_stay_within_the_limit(limit: int) -> None:
    results, gone = thousand_budgets()
    problems = [
        FileProblem(file=f"bad{i}.sizebudget.json5", message=f"bad{i}: broken é") for i in range(30)
    ]
    text = render_markdown(
        results, problems, gone=gone, baseline="base.json", breakdown=KINDS.breakdown, limit=limit
    )
    assert len(text.encode("utf-8")) <= limit
    assert len(text) <= limit
    lines = text.splitlines()
    assert lines[0] == MARKER
    assert lines[1].startswith("### ❌ Size budgets: 250 over budget, 30 budget file problems")
    if limit <= COMMENT_LIMIT:
        # What is left out is said, never silently dropped.
        assert "left out to fit the size limit" in text
        rendered = page(text)  # (the parser takes seconds per 100 kB)
        assert rendered.headings[0].startswith("❌ Size budgets: 250 over budget")
        for table in rendered.tables:
            assert len({len(row) for row in table}) == 1  # every row complete
    if limit == JOB_SUMMARY_LIMIT:
        assert "left out" not in text  # everything fits in a job summary


def test_detail_goes_in_the_documented_order() -> None:
    results, gone = thousand_budgets()
    full = render_markdown(
        results, gone=gone, baseline="b.json", breakdown=KINDS.breakdown, limit=10**8
    )
    assert "<summary>Unchanged (" in full
    n = len(full.encode())
    # Just too small for everything: the unchanged table goes first, nothing else.
    step1 = render_markdown(
        results, gone=gone, baseline="b.json", breakdown=KINDS.breakdown, limit=n - 1
    )
    assert "<summary>Unchanged (" not in step1
    assert "Unchanged: " in step1
    assert "<summary>Gone since the baseline" in step1
    assert step1.count("<summary>Breakdown of") == 250
    # Less room: breakdowns are cut to three rows, then dropped from the last failing
    # budget up, while both budget tables stay whole.
    mid = render_markdown(
        results, gone=gone, baseline="b.json", breakdown=KINDS.breakdown, limit=300_000
    )
    kept = mid.count("<summary>Breakdown of")
    assert 0 < kept < 250
    assert f"… {250 - kept:,} more breakdowns left out to fit the size limit" in mid
    assert "3 more rows left out to fit the size limit" not in mid  # cut to 3 of 10 rows
    assert "7 more rows left out to fit the size limit" in mid
    assert "Unchanged: 107 budgets (left out to fit the size limit)" in mid
    assert mid.count("\n| `budget ") == 1_000 - 107  # the others all have their rows
    # A comment: no breakdown is left, the failing table stays whole, changed budgets are
    # cut from the smallest change up.
    comment = render_markdown(results, gone=gone, baseline="b.json", breakdown=KINDS.breakdown)
    assert "<summary>Breakdown of" not in comment
    assert "… 250 more breakdowns left out to fit the size limit" in comment
    rendered = page(comment)
    assert len(rendered.tables[0]) == 251  # every failing budget listed
    changed = rendered.tables[1]
    assert 1 < len(changed) < 1 + 750
    deltas = [row[3] for row in changed[1:]]
    assert deltas[0].startswith("+29.30 KiB")
    assert all(d.startswith("+") for d in deltas)
    assert "more changed budgets (smaller changes): see the JSON report" in comment


def test_kinds_give_their_breakdown() -> None:
    from pytest_sizebudget.kinds.base import BudgetKind

    class Plain(BudgetKind):
        name = "plain"
        titles = {"plain": "Plain"}  # noqa: RUF012
        sections = {"plain_budgets": lambda *a: None}  # noqa: RUF012

    r = result("p", 20, 10, kind="plain", packages=packages(1))
    # A kind that does not implement breakdown gets the generic one.
    assert [b.title for b in Plain().breakdown(r, 5)] == [
        "Largest packages (1 of 1)",
        "Largest blobs (3 of 3)",
    ]
    image = KINDS.breakdown(
        result("img", 300, 200, kind="image", parameters={"images": ["a.img"]}), 5
    )
    assert image[0].rows[:3] == (
        ("expanded image (used)", "300 B"),
        ("partition (budget_bytes)", "200 B"),
        ("over by", "100 B"),
    )
    assert KINDS.breakdown(result("e", None, 1, error="x"), 5) == ()


def test_the_options_state_the_renderers_minimum() -> None:
    assert MIN_MARKDOWN_LIMIT == MIN_LIMIT
