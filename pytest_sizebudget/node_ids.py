"""Budget items' names: the last part of their node IDs."""

from __future__ import annotations

from .budget.model import BudgetFile
from .report.text import shown

FILE_ITEM_NAME = "budget file"
TOTAL_ITEM_NAME = "total_budget_bytes"
MEASURE_ITEM_NAME = "(measurement)"


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
