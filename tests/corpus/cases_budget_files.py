"""Budget files that are not what they should be."""

from __future__ import annotations

from .runner import GOOD_FILES, Case

CASES = [
    Case(
        id="budget-file-invalid-json5",
        files={
            **GOOD_FILES,
            "bad.sizebudget.json5": "{\n  package_set_budgets: [\n    {name: 'x',, }\n  ]\n}",
        },
        outcomes={"passed": 2, "failed": 1},
        lines=("bad.sizebudget.json5:3:16: invalid JSON5: *",),
        report={"Good": None},
    ),
]
