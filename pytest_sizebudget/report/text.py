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


def shown(text: str) -> str:
    """``text`` as a terminal may print it: characters that are not printable (newlines,
    escape sequences, other control and format characters, lone surrogates) become
    Python-style escapes (``\\n``, ``\\x1b``, ``\\u202e``, ``\\udc80``); the rest is kept.

    Names and paths come from budget files and manifests, which anyone can write; printed
    raw, a newline would forge a summary row and an escape sequence would drive the
    terminal.  Reports written as files (JSON, Gerrit, HTML) keep the exact text.
    """
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
