"""Aligned plain-text tables for failure text: what a CI log shows at a glance."""

from __future__ import annotations

from collections.abc import Sequence


def aligned_rows(header: Sequence[str], rows: Sequence[Sequence[str]], aligns: str) -> list[str]:
    """Header and rows, indented two spaces with columns two apart, trailing blanks cut.

    ``aligns`` holds one ``<`` (left) or ``>`` (right) per column.
    """
    table = [header, *rows]
    widths = [max(len(r[i]) for r in table) for i in range(len(aligns))]
    return [
        "  " + "  ".join(f"{c:{a}{w}}" for c, a, w in zip(r, aligns, widths, strict=True)).rstrip()
        for r in table
    ]
