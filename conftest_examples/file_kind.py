"""An example of a custom budget kind: the total bytes of the files that globs match.

A budget file gains a ``file_budgets`` section::

    file_budgets: [
      {name: "Fonts on disk", files: ["out/fonts/*.ttf"], budget_bytes: "96 KiB"},
    ]

``conftest.py`` registers the kind through the plugin's hook; from then on its budgets
are items like any other, with failure text, a summary row, JSON, Gerrit, JUnit,
Markdown and HTML entries, baselines and creep, with and without ``-n``.  Everything specific to the
kind is in this one module.
"""

from __future__ import annotations

import glob
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, ClassVar

from pytest_sizebudget.budget.fields import FieldReader, KeyPath, common_fields
from pytest_sizebudget.budget.model import Budget, BudgetFile
from pytest_sizebudget.kinds.base import BudgetKind, EntryParser, EvaluationContext
from pytest_sizebudget.report.breakdown import Breakdown
from pytest_sizebudget.report.failure import render_generic_failure
from pytest_sizebudget.report.model import BudgetResult, Details, HtmlPanel


@dataclass(frozen=True, slots=True, kw_only=True)
class FileBudget(Budget):
    patterns: tuple[str, ...]  # globs, relative to the budget file's root
    root: Path

    @property
    def kind(self) -> str:
        return "files"


@dataclass(frozen=True, slots=True)
class FileDetails(Details):
    """Every matched file with its size, largest first (the JSON report's ``files``)."""

    files: tuple[tuple[str, int], ...]

    def to_dict(self) -> dict[str, Any]:
        return {"files": [{"path": p, "bytes": n} for p, n in self.files]}


def parse_file_budget(
    r: FieldReader, entry: Mapping[str, Any], path: KeyPath, root: Path
) -> Budget | None:
    if r.object(entry, path, ("name", "budget_bytes", "creep_budget_bytes", "owner", "files")) is None:
        return None
    common = common_fields(r, entry, path)
    patterns = r.strings(entry, path, "files", required=True, allow_single=True)
    if common is None or not patterns:
        return None
    return FileBudget(**common, patterns=tuple(v for _, v in patterns), root=root)


class FileKind(BudgetKind):
    name = "files"
    titles: ClassVar[Mapping[str, str]] = {"files": "Files"}
    sections: ClassVar[Mapping[str, EntryParser]] = {"file_budgets": parse_file_budget}

    def evaluate(
        self,
        context: EvaluationContext,
        budget_file: BudgetFile,
        budgets: Sequence[Budget],
        base: Mapping[str, BudgetResult],
    ) -> Mapping[str, BudgetResult]:
        out = {}
        for b in budgets:
            assert isinstance(b, FileBudget)
            files: dict[str, int] = {}
            empty = []
            for pattern in b.patterns:
                matched = sorted(glob.glob(str(b.root / pattern), recursive=True))
                regular = [Path(m) for m in matched if Path(m).is_file()]
                if not regular:
                    empty.append(pattern)
                for path in regular:
                    files[context.display(path)] = path.stat().st_size
            result = base[b.key]
            if empty:
                # A glob that matches nothing is a mistake, not a budget of zero bytes.
                out[b.key] = result.with_error(f"{b.key}.files: {', '.join(empty)} matched no file")
                continue
            ranked = tuple(sorted(files.items(), key=lambda f: (-f[1], f[0])))
            out[b.key] = replace(
                result,
                used_bytes=sum(files.values()),
                parameters={"files": list(b.patterns)},
                details=FileDetails(ranked),
            )
        return out

    def details_from_dict(self, data: Mapping[str, Any]) -> Details:
        return FileDetails(tuple((f["path"], int(f["bytes"])) for f in data.get("files", ())))

    def failure_text(self, result: BudgetResult, top_n: int) -> str:
        lines = [render_generic_failure(result, self.title(result), top_n), ""]
        files = result.details.files if isinstance(result.details, FileDetails) else ()
        lines.append(f"Largest files ({min(top_n, len(files)) if top_n else len(files)} of {len(files)}):")
        for path, size in files[:top_n] if top_n else files:
            lines.append(f"  {size:>12,} B  {path}")
        return "\n".join(lines)

    def breakdown(self, result: BudgetResult, top_n: int) -> Sequence[Breakdown]:
        # The Markdown report's collapsed section of a failing budget: its largest files.
        files = result.details.files if isinstance(result.details, FileDetails) else ()
        listed = files[:top_n] if top_n else files
        more = f"{len(files) - len(listed)} more files" if len(files) > len(listed) else None
        return (
            Breakdown(
                title=f"Largest files ({len(listed)} of {len(files)})",
                columns=("file", "bytes"),
                align="<>",
                rows=tuple((path, f"{size:,} B") for path, size in listed),
                more=more,
            ),
        )

    def html_panel(self, result: BudgetResult) -> HtmlPanel:
        files = result.details.files if isinstance(result.details, FileDetails) else ()
        return HtmlPanel(
            figures=tuple((path, f"{size:,} B") for path, size in files),
            bar=tuple(files),
        )
