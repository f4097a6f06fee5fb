"""``Breakdown``: what a failing budget is made of, as small tables a report can lay out.

Each kind says what its top contributors are (``BudgetKind.breakdown``): the packages
and blobs of a package set, the new blobs of an update, the parts of an image.  Reports
that are not plain text (the Markdown report) draw these tables in their own syntax, so
a kind describes its breakdown once, as data, and never writes Markdown itself.  Cells
are plain text: the renderer escapes them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pytest_sizebudget.accounting import PackageCharge
from pytest_sizebudget.units import format_bytes

from .diff import BlobChange
from .model import BudgetResult

MERKLE_CHARS = 12  # every report shows merkles by their first 12 hex digits


@dataclass(frozen=True, slots=True, kw_only=True)
class Breakdown:
    """One table: a title, column headers with their alignment, rows of cells and an
    optional line for what the rows leave out (``... 9 more packages, 1,234 B``)."""

    title: str
    columns: tuple[str, ...]
    align: str  # one "<" (left) or ">" (right) per column
    rows: tuple[tuple[str, ...], ...]
    more: str | None = None

    def __post_init__(self) -> None:
        if len(self.align) != len(self.columns) or any(
            len(row) != len(self.columns) for row in self.rows
        ):
            raise ValueError(f"breakdown {self.title!r}: every row needs one cell per column")

    def cut(self, n: int) -> Breakdown:
        """The first ``n`` rows, the rest counted in ``more`` (no sums: they are gone)."""
        if len(self.rows) <= n:
            return self
        left = len(self.rows) - n
        note = f"{left:,} more row{'' if left == 1 else 's'} left out to fit the size limit"
        return Breakdown(
            title=self.title,
            columns=self.columns,
            align=self.align,
            rows=self.rows[:n],
            more=note if self.more is None else f"{self.more}; {note}",
        )


def short_merkle(merkle: str | None) -> str:
    return (merkle or "")[:MERKLE_CHARS]


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def changes_breakdown(changes: Sequence[BlobChange], top_n: int) -> Breakdown:
    """The largest blob changes since the baseline (already sorted by |delta|)."""
    listed = changes[:top_n] if top_n > 0 else changes
    rows = []
    for c in listed:
        if c.kind == "updated" and c.old_merkle != c.new_merkle:
            merkle = f"{short_merkle(c.old_merkle)} → {short_merkle(c.new_merkle)}"
        else:
            merkle = short_merkle(c.new_merkle or c.old_merkle)
        charged = c.old_charged if c.kind == "removed" else c.new_charged
        rows.append((c.kind, c.package, c.path, merkle, format_bytes(charged), f"{c.delta:+,} B"))
    rest = changes[len(listed) :]
    more = None
    if rest:
        more = f"{_plural(len(rest), 'more change')}, {sum(c.delta for c in rest):+,} B"
    return Breakdown(
        title=f"Largest blob changes since the baseline ({len(listed):,} of {len(changes):,})",
        columns=("change", "package", "path", "merkle", "charged", "delta"),
        align="<<<<>>",
        rows=tuple(rows),
        more=more,
    )


def packages_breakdown(
    packages: Sequence[PackageCharge], top_n: int, fixed_bytes: int = 0
) -> Breakdown:
    """Packages by charged bytes, largest first (``proportional_size``)."""
    ranked = sorted(packages, key=lambda p: (-p.proportional_size, p.name, p.origin))
    listed = ranked[:top_n] if top_n > 0 else ranked
    rows = [
        (
            p.name,
            p.origin,
            format_bytes(p.used_space_in_blobfs),
            format_bytes(p.proportional_size),
        )
        for p in listed
    ]
    if fixed_bytes:
        rows.append(("merged meta.far (fixed allowance)", "", "", format_bytes(fixed_bytes)))
    rest = ranked[len(listed) :]
    more = None
    if rest:
        charged = sum(p.proportional_size for p in rest)
        more = f"{_plural(len(rest), 'more package')} charged {format_bytes(charged)}"
    return Breakdown(
        title=f"Largest packages ({len(listed):,} of {len(packages):,})",
        columns=("package", "manifest", "size", "charged"),
        align="<<>>",
        rows=tuple(rows),
        more=more,
    )


def blobs_breakdown(packages: Sequence[PackageCharge], top_n: int) -> Breakdown:
    """Blob instances by charged bytes across all packages, largest first."""
    instances = sorted(
        ((p, b) for p in packages for b in p.blobs if b.excluded_by is None),
        key=lambda pb: (-pb[1].charged_bytes, pb[0].name, pb[1].path, pb[1].merkle),
    )
    listed = instances[:top_n] if top_n > 0 else instances
    rows = [
        (
            p.name,
            b.path,
            short_merkle(b.merkle),
            "unknown" if b.size is None else format_bytes(b.size),
            str(b.share_count),
            format_bytes(b.charged_bytes),
        )
        for p, b in listed
    ]
    rest = instances[len(listed) :]
    more = None
    if rest:
        charged = sum(b.charged_bytes for _, b in rest)
        more = f"{_plural(len(rest), 'more blob')} charged {format_bytes(charged)}"
    return Breakdown(
        title=f"Largest blobs ({len(listed):,} of {len(instances):,})",
        columns=("package", "path", "merkle", "size", "shared by", "charged"),
        align="<<<>>>",
        rows=tuple(rows),
        more=more,
    )


def generic_breakdown(result: BudgetResult, top_n: int) -> tuple[Breakdown, ...]:
    """What changed since the baseline, then the largest packages and blobs, as far as
    the result has them; nothing for a budget that could not be checked."""
    if result.error is not None:
        return ()
    out: list[Breakdown] = []
    if result.diff:
        out.append(changes_breakdown(result.diff, top_n))
    if result.packages or result.fixed_bytes:
        out.append(packages_breakdown(result.packages, top_n, result.fixed_bytes))
    if any(p.blobs for p in result.packages):
        out.append(blobs_breakdown(result.packages, top_n))
    return tuple(out)


def figures_breakdown(title: str, figures: Sequence[tuple[str, str]]) -> Breakdown:
    """Key figures as a two-column table (a budget whose parts are not packages)."""
    return Breakdown(title=title, columns=("figure", "value"), align="<>", rows=tuple(figures))
