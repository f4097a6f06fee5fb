"""Stash keys shared by the glue modules."""

from __future__ import annotations

from typing import Any

import pytest

from .budget.model import Budget, BudgetFile
from .kinds.registry import KindRegistry
from .settings import Settings

SETTINGS = pytest.StashKey[Settings]()
# The run's budget kinds, filled through the pytest_sizebudget_register_kinds hook.
KINDS = pytest.StashKey[KindRegistry]()
# What an item hands to its report: {"result": BudgetResult or its dict}, {"problem": {...}},
# {"engine": {...}}.
ITEM_REPORT = pytest.StashKey[dict[str, Any]]()
# On a budget item: the budget file and the budget it checks, so that a failure without
# a result, or a session that never runs it, still gives the budget a result.
BUDGET = pytest.StashKey[tuple[BudgetFile, Budget]]()
