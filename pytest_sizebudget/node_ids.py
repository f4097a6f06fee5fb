"""Budget items' node IDs, and the budget behind a node ID that reported no result.

Under xdist the controller collects nothing: when a worker dies under a budget item, or a
collected item never runs, all it has is the node ID (``<file>::<item name>``).  It reads
that budget file itself, with the run's kinds, and gives the budget an error result, so
that the budget still reaches every report.  Without xdist the same happens for items
the session never ran, from the items themselves.
"""

from __future__ import annotations

import os
from pathlib import Path

from .budget.model import Budget, BudgetFile
from .budget.parse import load_budget_file
from .errors import SizeBudgetError
from .evaluate import base_result
from .kinds.registry import KindRegistry
from .report.model import BudgetResult, FileProblem
from .report.text import shown
from .settings import Settings

FILE_ITEM_NAME = "budget file"
TOTAL_ITEM_NAME = "total_budget_bytes"
MEASURE_ITEM_NAME = "(measurement)"
_JSON_SUFFIXES = (".json", ".json5")


def item_names(bf: BudgetFile) -> dict[str, str]:
    """Each budget's item name (its node ID's last part), by budget key.

    The name as written, with characters a terminal must not print raw escaped
    (``shown``), so that node IDs, ``-v`` lines and the short summary stay one line each.
    Names are unique in a file, but an escaped name can meet another name as written, or
    the name of an item of the file that is not a budget: that budget's item name then
    ends in its key (``(measurement) [package_set_budgets[0]]``).
    """
    names: dict[str, str] = {}
    taken = {MEASURE_ITEM_NAME, *((TOTAL_ITEM_NAME,) if bf.total is not None else ())}
    written = {b.name for b in bf.budgets}
    for b in bf.budgets:
        name = shown(b.name)
        while name in taken or (name != b.name and name in written):
            name = f"{name} [{b.key}]"
        taken.add(name)
        names[b.key] = name
    return names


def problem_check(item_name: str) -> str:
    """The ``check`` of a problem of a file's item that is not a budget."""
    return "measurement" if item_name == MEASURE_ITEM_NAME else item_name


class NodeBudgets:
    """Reads the budget behind a node ID, each budget file at most once."""

    def __init__(self, settings: Settings, kinds: KindRegistry) -> None:
        self.settings = settings
        self.kinds = kinds
        # Each file's budgets by item name, or why the file cannot be read.
        self._files: dict[Path, dict[str, tuple[BudgetFile, Budget]] | str] = {}

    def split(self, nodeid: str) -> tuple[Path, str] | None:
        """The budget file and item name of a node ID that may be a budget file's item."""
        rel, sep, name = nodeid.partition("::")
        if not sep:
            return None
        path = Path(os.path.normpath(self.settings.rootdir / rel))
        if path.suffix not in _JSON_SUFFIXES and not self.settings.is_budget_file(path):
            return None
        return path, name

    def _load(self, path: Path) -> dict[str, tuple[BudgetFile, Budget]] | str:
        found = self._files.get(path)
        if found is None:
            try:
                bf = load_budget_file(
                    path,
                    display=self.settings.display(path),
                    root_override=self.settings.root,
                    kinds=self.kinds,
                )
            except SizeBudgetError as exc:
                found = str(exc).splitlines()[0]
            except (OSError, ValueError) as exc:  # gone, or not ours at all
                found = f"{self.settings.display(path)}: {exc}"
            else:
                names = item_names(bf)
                found = {names[b.key]: (bf, b) for b in bf.budgets}
            self._files[path] = found
        return found

    def errored(self, nodeid: str, reason: str) -> BudgetResult | FileProblem | None:
        """What the reports say of a node ID's item that gave no result: its budget with
        ``reason`` as the error, else a problem of its file, or None when the node ID is
        not a budget file's (a test of another plugin)."""
        where = self.split(nodeid)
        if where is None:
            return None
        path, name = where
        display = self.settings.display(path)
        budgets = self._load(path)
        if isinstance(budgets, str):
            # The file was read where the item ran; here it cannot be (changed since, or a
            # kind that a conftest.py the controller never loaded registers).
            return FileProblem(
                file=display,
                check=problem_check(name),
                message=(
                    f"{display}: {name}: {reason} (its budget file cannot be read here: {budgets})"
                ),
            )
        if name in budgets:
            bf, b = budgets[name]
            return base_result(bf, b, self.settings.owner_template).with_error(reason)
        return FileProblem(
            file=display, check=problem_check(name), message=f"{display}: {name}: {reason}"
        )
