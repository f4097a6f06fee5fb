"""The Markdown report: a pull-request comment or a GitHub job summary of the size check.

Layout, top to bottom:

1. ``MARKER``, a hidden HTML comment by which a sticky-comment action or a script finds
   the comment it wrote before;
2. one headline: how many budgets are over, not checked, warn and ok, and against which
   baseline;
3. budget-file problems;
4. budgets that fail or warn (error, over, creep, warn), each failing one followed by a
   collapsed breakdown of its top contributors, which its kind gives
   (``BudgetKind.breakdown``);
5. budgets that changed since the baseline by at least the delta threshold;
6. the rest, collapsed; then budgets gone since the baseline, collapsed.

Columns: budget, used, limit, delta (with a baseline), used %, status.  Names, paths
and messages come from budget files and manifests, which anyone can write: they are put
in code spans (no Markdown, no HTML, no @-mention or autolink inside) with control
characters escaped as on the terminal, so a name can neither forge a row nor ping a team.

**Size limit.**  The text never exceeds ``limit`` UTF-8 bytes (so never that many
characters either: GitHub's comment limit is 65,536 characters, its job-summary limit
1 MiB per step).  When the whole report does not fit, detail is dropped in this order,
each step only as far as needed and each drop saying what is left out:

1. the table of unchanged budgets (a line with their count instead);
2. the list of budgets gone since the baseline (a count instead);
3. breakdowns cut to ``SHORT_ROWS`` rows per table;
4. breakdowns, from the last failing budget up;
5. rows of changed budgets, smallest change first;
6. rows of failing and warning budgets, from the end (warnings go first);
7. budget-file problems, from the end.

The marker and the headline always stay.  The same results give the same bytes.
"""

from __future__ import annotations

import html
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from .breakdown import Breakdown
from .model import NEW, BudgetResult, FileProblem, Status
from .text import shown

MARKER = "<!-- pytest-sizebudget report -->"
COMMENT_LIMIT = 65_536  # characters of a GitHub issue or pull-request comment
JOB_SUMMARY_LIMIT = 1 << 20  # bytes one step may add to $GITHUB_STEP_SUMMARY
MIN_LIMIT = 2_048  # room for the marker, the headline and the notes of what is left out
SHORT_ROWS = 3  # rows per breakdown table once breakdowns must shrink
ERROR_LINES = 8  # lines of an error or warning shown in its collapsed section
MAX_PATH = 120  # characters of the baseline's path in the headline

BreakdownOf = Callable[[BudgetResult, int], Sequence[Breakdown]]

_FAILING = (Status.ERROR, Status.OVER, Status.CREEP, Status.WARN)
_RANK = {s: i for i, s in enumerate(_FAILING)}
_STATUS = {
    Status.ERROR: "❗ error",
    Status.OVER: "❌ over",
    Status.CREEP: "❌ creep",
    Status.WARN: "⚠️ warn",
    Status.OK: "✅ ok",
}
_UNITS = ("KiB", "MiB", "GiB", "TiB")


# -- escaping ----------------------------------------------------------------------------


def code(text: str, *, cell: bool = True) -> str:
    """``text`` as a code span: shown literally, whatever Markdown or HTML it holds.

    In a table cell (``cell``) a ``|`` still ends the cell unless escaped, even in a code
    span (GFM), so every ``|`` gets a backslash, which the table parser takes away again
    before the span is read (a backslash before it stays: only ``\\|`` is an escape).
    """
    text = shown(text)
    if not text:
        return ""
    if cell:
        text = text.replace("|", "\\|")
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    # A span that starts or ends with a backtick or a space needs a space of padding,
    # which the parser strips again (one on each side).
    pad = " " if text[0] in "` " or text[-1] in "` " else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def html_code(text: str) -> str:
    """``text`` inside raw HTML (a ``<summary>``): escaped, in ``<code>``."""
    return f"<code>{html.escape(shown(text), quote=False)}</code>"


# -- numbers -----------------------------------------------------------------------------


def size(n: int, *others: int) -> str:
    """Binary units with two decimals, or exact bytes when the units would make ``n``
    look equal to a different value it is compared with (used and limit)."""
    rounded = _human(n)
    if abs(n) < 1024 or any(o != n and _human(o) == rounded for o in others):
        return f"{n:,} B"
    return rounded


def _human(n: int) -> str:
    m, sign = abs(n), "-" if n < 0 else ""
    if m < 1024:
        return f"{sign}{m} B"
    scaled = float(m)
    for unit in _UNITS:
        scaled /= 1024
        if scaled < 1024 or unit == _UNITS[-1]:
            return f"{sign}{scaled:.2f} {unit}"
    raise AssertionError("unreachable")  # pragma: no cover


def _delta(r: BudgetResult, threshold: int) -> str:
    if r.baseline == NEW:
        return "new"
    if r.delta_bytes is None:
        return "?"
    d = r.delta_bytes
    if d == 0 or abs(d) < threshold:
        return ""
    text = ("+" if d > 0 else "") + size(d)
    base = r.baseline_used_bytes
    if base:
        text += f" ({100 * d / base:+.1f}%)"
    return text


def _percent(r: BudgetResult) -> str:
    if r.used_bytes is None:
        return "?"
    if not r.budget_bytes:
        return "-"
    return f"{100 * (r.used_bytes + r.reserve_bytes) / r.budget_bytes:,.1f}%"


# -- the document ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Plan:
    """How much detail to show; ``None`` counts mean all."""

    unchanged: bool = True
    gone: bool = True
    breakdown_rows: int = 0  # 0: as given (top_n)
    breakdowns: int | None = None  # failing budgets that keep their breakdown
    changed: int | None = None
    failing: int | None = None
    problems: int | None = None


@dataclass(frozen=True, slots=True)
class MarkdownReport:
    """Everything the report shows, sorted once; ``render`` lays it out within a limit."""

    failing: tuple[BudgetResult, ...]
    changed: tuple[BudgetResult, ...]
    unchanged: tuple[BudgetResult, ...]
    gone: tuple[BudgetResult, ...]
    problems: tuple[FileProblem, ...]
    breakdowns: dict[str, tuple[Breakdown, ...]]  # by result key + file
    with_delta: bool
    ambiguous: frozenset[str]  # names that more than one budget has: shown with the file
    headline: str
    delta_threshold: int
    # Rendered rows and collapsed sections, each made once however often it is laid out.
    _rows: dict[str, str] = field(default_factory=dict)
    _explained: dict[tuple[str, int], list[str]] = field(default_factory=dict)

    def row(self, r: BudgetResult) -> str:
        found = self._rows.get(_id(r))
        if found is None:
            found = self._rows[_id(r)] = self._row(r)
        return found

    def explanation(self, r: BudgetResult, rows: int) -> list[str]:
        found = self._explained.get((_id(r), rows))
        if found is None:
            tables = self.breakdowns.get(_id(r), ())
            found = self._explained[(_id(r), rows)] = _explanation(r, tables, rows)
        return found

    def _row(self, r: BudgetResult) -> str:
        name = code(r.name)
        if r.name in self.ambiguous:
            name += f" <sub>{code(r.file)}</sub>"
        used = "?" if r.used_bytes is None else size(r.used_bytes, r.budget_bytes)
        limit = size(r.budget_bytes, *(() if r.used_bytes is None else (r.used_bytes,)))
        cells = [name, used, limit]
        if self.with_delta:
            cells.append(_delta(r, self.delta_threshold))
        cells += [_percent(r), _STATUS.get(r.status, str(r.status.value))]
        return "| " + " | ".join(cells) + " |"

    def table(self, results: Sequence[BudgetResult]) -> list[str]:
        header = ["budget", "used", "limit", *(["delta"] if self.with_delta else []), "used %"]
        header.append("status")
        align = [":---", "---:", "---:", *(["---:"] if self.with_delta else []), "---:", ":---"]
        return [
            "| " + " | ".join(header) + " |",
            "| " + " | ".join(align) + " |",
            *(self.row(r) for r in results),
        ]


def _id(r: BudgetResult) -> str:
    return f"{r.file}\0{r.key}"


def build(
    results: Sequence[BudgetResult],
    problems: Sequence[FileProblem] = (),
    *,
    gone: Sequence[BudgetResult] = (),
    baseline: str | None = None,
    delta_threshold: int = 0,
    breakdown: BreakdownOf | None = None,
    top_n: int = 10,
) -> MarkdownReport:
    by_name = sorted(results, key=lambda r: (r.name, r.file, r.line, r.key))
    # Every status but ok needs attention, a status added later too (after the known).
    failing = sorted(
        (r for r in by_name if r.status is not Status.OK),
        key=lambda r: _RANK.get(r.status, len(_RANK)),
    )  # stable: by name within a status
    with_delta = baseline is not None or any(r.baseline is not None for r in results)
    rest = [r for r in by_name if r.status is Status.OK]
    changed = [r for r in rest if with_delta and _delta(r, delta_threshold)]
    changed.sort(key=lambda r: -abs(r.delta_bytes or 0) if r.baseline != NEW else 1)
    changed_ids = {_id(r) for r in changed}
    unchanged = [r for r in rest if _id(r) not in changed_ids]
    breakdowns: dict[str, tuple[Breakdown, ...]] = {}
    if breakdown is not None:
        for r in failing:
            if r.status is not Status.WARN:
                breakdowns[_id(r)] = tuple(breakdown(r, top_n))
    if baseline is not None and len(baseline) > MAX_PATH:
        baseline = "…" + baseline[-MAX_PATH:]
    return MarkdownReport(
        failing=tuple(failing),
        changed=tuple(changed),
        unchanged=tuple(unchanged),
        gone=tuple(sorted(gone, key=lambda g: (g.name, g.file))),
        problems=tuple(sorted(problems, key=lambda p: (p.file, p.check, p.message))),
        breakdowns=breakdowns,
        with_delta=with_delta,
        ambiguous=frozenset(n for n, k in Counter(r.name for r in results).items() if k > 1),
        headline=headline(results, problems, baseline),
        delta_threshold=delta_threshold,
    )


def headline(
    results: Sequence[BudgetResult], problems: Sequence[FileProblem], baseline: str | None
) -> str:
    counts = {s: 0 for s in Status}
    for r in results:
        counts[r.status] += 1
    parts = []
    if counts[Status.OVER]:
        parts.append(f"{counts[Status.OVER]:,} over budget")
    if counts[Status.CREEP]:
        parts.append(f"{counts[Status.CREEP]:,} over creep budget")
    if counts[Status.ERROR]:
        parts.append(f"{counts[Status.ERROR]:,} not checked")
    if problems:
        parts.append(f"{len(problems):,} budget file problem{'' if len(problems) == 1 else 's'}")
    if counts[Status.WARN]:
        parts.append(f"{counts[Status.WARN]:,} warning{'' if counts[Status.WARN] == 1 else 's'}")
    parts.append(f"{counts[Status.OK]:,} ok")
    failed = problems or any(counts[s] for s in (Status.OVER, Status.CREEP, Status.ERROR))
    icon = "❌" if failed else "⚠️" if counts[Status.WARN] else "✅"
    n = len(results)
    against = f"against baseline {code(baseline, cell=False)}" if baseline else "no baseline"
    return (
        f"### {icon} Size budgets: {', '.join(parts)} "
        f"({n:,} budget{'' if n == 1 else 's'}; {against})"
    )


def _breakdown_md(b: Breakdown, rows: int) -> list[str]:
    if rows:
        b = b.cut(rows)
    out = [f"**{_text(b.title)}**", ""]
    if b.rows:
        out.append("| " + " | ".join(_text(c) or "&nbsp;" for c in b.columns) + " |")
        out.append("| " + " | ".join(":---" if a == "<" else "---:" for a in b.align) + " |")
        # Left-aligned columns hold names and paths (a manifest's, anyone's): code spans.
        out.extend(
            "| "
            + " | ".join(
                code(c) if a == "<" else _text(c) for c, a in zip(row, b.align, strict=True)
            )
            + " |"
            for row in b.rows
        )
    else:
        out.append("(none)")
    if b.more:
        out += ["", f"… {_text(b.more)}"]
    out.append("")
    return out


# Text that no Markdown parser reads as anything but text in a table cell or paragraph
# (no ':' for autolinks, no '_', '*', '[', '<', '@', '|', '`'...).
_SAFE = re.compile(r"[A-Za-z0-9 ,.;+%()/→…-]*")


def _text(text: str) -> str:
    """A cell or title: as it is when it is plain text, else a code span."""
    if _SAFE.fullmatch(text) and "www." not in text.lower():
        return text
    return code(text)


def _details(summary: str, body: list[str]) -> list[str]:
    return ["<details>", f"<summary>{summary}</summary>", "", *body, "</details>", ""]


def _budget_section(
    report: MarkdownReport, title: str, results: Sequence[BudgetResult]
) -> list[str]:
    return [f"#### {title}", "", *report.table(results), ""]


def _explanation(r: BudgetResult, tables: Sequence[Breakdown], rows: int) -> list[str]:
    """What a failing or warning budget's collapsed section holds: why it could not be
    checked, or its warning, then its kind's breakdown."""
    body: list[str] = []
    message = r.error if r.error is not None else r.warning
    if message:
        lines = message.splitlines()
        body += [
            f"> {code(line, cell=False)}" if line.strip() else ">" for line in lines[:ERROR_LINES]
        ]
        if len(lines) > ERROR_LINES:
            body.append(f"> … {len(lines) - ERROR_LINES:,} more lines: see the job log")
        body.append("")
    for b in tables:
        body += _breakdown_md(b, rows)
    return body


def layout(report: MarkdownReport, plan: _Plan) -> str:
    lines = [MARKER, report.headline, ""]
    problems = report.problems if plan.problems is None else report.problems[: plan.problems]
    if report.problems:
        lines += ["#### Budget file problems", ""]
        for p in problems:
            first = next(iter(p.message.splitlines()), "")
            lines.append(f"- {code(first, cell=False)}")
        left = len(report.problems) - len(problems)
        if left:
            lines.append(f"- … {left:,} more: see the job log or the JSON report")
        lines.append("")
    failing = report.failing if plan.failing is None else report.failing[: plan.failing]
    if report.failing:
        lines += _budget_section(report, "Failing or warning", failing)
        left = len(report.failing) - len(failing)
        if left:
            lines += [f"… {left:,} more failing or warning budgets: see the JSON report", ""]
        keep = len(failing) if plan.breakdowns is None else plan.breakdowns
        dropped = 0
        for r in failing:
            body = report.explanation(r, plan.breakdown_rows)
            if not body:
                continue
            if keep <= 0:
                dropped += 1
                continue
            keep -= 1
            what = "Breakdown" if report.breakdowns.get(_id(r)) else "Details"
            lines += _details(f"{what} of {html_code(r.name)}", body)
        if dropped:
            lines += [f"… {dropped:,} more breakdowns left out to fit the size limit", ""]
    if report.changed:
        changed = report.changed if plan.changed is None else report.changed[: plan.changed]
        threshold = report.delta_threshold
        note = f" by {threshold:,} B or more" if threshold else ""
        lines += _budget_section(report, f"Changed since the baseline{note}", changed)
        left = len(report.changed) - len(changed)
        if left:
            lines += [f"… {left:,} more changed budgets (smaller changes): see the JSON report", ""]
    if report.unchanged:
        what = "Unchanged" if report.with_delta else "Within budget"
        n = len(report.unchanged)
        if plan.unchanged:
            lines += _details(f"{what} ({n:,})", [*report.table(report.unchanged), ""])
        else:
            lines += [f"{what}: {n:,} budgets (left out to fit the size limit)", ""]
    if report.gone:
        n = len(report.gone)
        if plan.gone:
            items = [
                f"- {code(g.name, cell=False)} in {code(g.file, cell=False)}"
                + ("" if g.used_bytes is None else f", used {size(g.used_bytes)}")
                for g in report.gone
            ]
            lines += _details(f"Gone since the baseline ({n:,})", [*items, ""])
        else:
            lines += [
                f"Gone since the baseline: {n:,} budgets (left out to fit the size limit)",
                "",
            ]
    return "\n".join(lines).rstrip("\n") + "\n"


def _fits(text: str, limit: int) -> bool:
    return len(text.encode("utf-8")) <= limit


def _most(count: int, fits: Callable[[int], bool]) -> int:
    """The largest n in [0, count] with ``fits(n)`` (``fits`` is monotone), or 0."""
    lo, hi = 0, count
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if fits(mid):
            lo = mid
        else:
            hi = mid - 1
    return lo


def render(report: MarkdownReport, limit: int = COMMENT_LIMIT) -> str:
    """The report within ``limit`` UTF-8 bytes, dropping detail in the documented order."""
    if limit < MIN_LIMIT:
        raise ValueError(f"a Markdown size limit must be at least {MIN_LIMIT:,}, got {limit:,}")
    plan = _Plan()

    def attempt(p: _Plan) -> str | None:
        text = layout(report, p)
        return text if _fits(text, limit) else None

    shrink: list[Callable[[_Plan], _Plan]] = [
        lambda p: replace(p, unchanged=False),
        lambda p: replace(p, gone=False),
        lambda p: replace(p, breakdown_rows=SHORT_ROWS),
    ]
    for step in shrink:
        text = attempt(plan)
        if text is not None:
            return text
        plan = step(plan)
    cuts: list[tuple[int, Callable[[_Plan, int], _Plan]]] = [
        (len(report.failing), lambda p, n: replace(p, breakdowns=n)),
        (len(report.changed), lambda p, n: replace(p, changed=n)),
        (len(report.failing), lambda p, n: replace(p, failing=n)),
        (len(report.problems), lambda p, n: replace(p, problems=n)),
    ]
    for count, cut in cuts:
        text = attempt(plan)
        if text is not None:
            return text
        base = plan
        plan = cut(base, _most(count, lambda n: attempt(cut(base, n)) is not None))  # noqa: B023
    text = attempt(plan)
    # The marker, the headline (its baseline path shortened) and a few notes always fit.
    assert text is not None, "the Markdown headline alone exceeds the size limit"
    return text


def render_markdown(
    results: Sequence[BudgetResult],
    problems: Sequence[FileProblem] = (),
    *,
    gone: Sequence[BudgetResult] = (),
    baseline: str | None = None,
    delta_threshold: int = 0,
    breakdown: BreakdownOf | None = None,
    top_n: int = 10,
    limit: int = COMMENT_LIMIT,
) -> str:
    """The Markdown report of a run, at most ``limit`` UTF-8 bytes."""
    report = build(
        results,
        problems,
        gone=gone,
        baseline=baseline,
        delta_threshold=delta_threshold,
        breakdown=breakdown,
        top_n=top_n,
    )
    return render(report, limit)
