"""The GitLab metrics report: OpenMetrics text that a merge request's widget compares with
the target branch (``artifacts:reports:metrics``).

Every budget gives two gauges, ``sizebudget_<name>_used_bytes`` (left out when the
budget could not be measured) and ``sizebudget_<name>_budget_bytes`` (``budget_bytes``
less any ``reserve_bytes``, as in the Gerrit report, so that used against budget is the
budget's own verdict).  Each family has ``# TYPE``, ``# UNIT`` and ``# HELP`` lines (the
budget's exact name and file are in the HELP text) and the file ends with ``# EOF``.

Names, not labels, carry the budget: GitLab's parser splits a line like a shell, keeps
the first word as the name and drops everything after a ``#``, so a label holding a
budget name with ``#``, a quote or a space would break the line.  ``<name>`` is the
budget name in lower case with every run of characters other than ``a-z0-9`` made one
``_``; budgets whose names sanitise alike are told apart by eight hex digits of a hash
of their file and name, which do not change when other budgets come and go.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Sequence

from .model import BudgetResult

PREFIX = "sizebudget"
_RUN = re.compile(r"[^a-z0-9]+")


def metric_stem(name: str) -> str:
    stem = _RUN.sub("_", name.lower()).strip("_")
    return stem or "budget"


def _help(text: str) -> str:
    """Text for a HELP line: OpenMetrics escapes backslash and newline; other control
    characters have no escape and are replaced."""
    text = text.replace("\\", "\\\\").replace("\n", "\\n")
    return "".join(c if c.isprintable() else "\ufffd" for c in text)


def metric_names(results: Sequence[BudgetResult]) -> dict[tuple[str, str], str]:
    """The metric name stem of each budget, by (file, name)."""
    budgets = sorted({(r.file, r.name) for r in results})
    stems = {fn: metric_stem(fn[1]) for fn in budgets}
    count = Counter(stems.values())
    out = {}
    for fn, stem in stems.items():
        if count[stem] > 1:
            digest = hashlib.sha256(f"{fn[0]}\0{fn[1]}".encode("utf-8", "surrogatepass"))
            stem = f"{stem}_{digest.hexdigest()[:8]}"
        out[fn] = f"{PREFIX}_{stem}"
    return out


def render_metrics(results: Sequence[BudgetResult]) -> str:
    """The metrics file: budgets by metric name, so the same results give the same bytes."""
    names = metric_names(results)
    families: list[tuple[str, str, int | None]] = []
    for r in results:
        stem = names[(r.file, r.name)]
        used = f"used bytes of {r.name!r} in {r.file}"
        families.append((f"{stem}_used_bytes", used, r.used_bytes))
        families.append(
            (
                f"{stem}_budget_bytes",
                f"budget bytes of {r.name!r} in {r.file}",
                r.budget_bytes - r.reserve_bytes,
            )
        )
    lines: list[str] = []
    for name, text, value in sorted(families):
        if value is None:
            continue  # not measured: the widget shows the metric as removed
        # A family with a unit has it as its name's suffix; a gauge's sample has the
        # family's name.
        lines += [
            f"# TYPE {name} gauge",
            f"# UNIT {name} bytes",
            f"# HELP {name} {_help(text)}",
            f"{name} {value}",
        ]
    lines.append("# EOF")
    return "\n".join(lines) + "\n"
