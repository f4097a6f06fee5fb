"""Stash keys shared by the glue modules."""

from __future__ import annotations

from typing import Any

import pytest

from .kinds.registry import KindRegistry
from .settings import Settings

SETTINGS = pytest.StashKey[Settings]()
# The run's budget kinds, filled through the pytest_sizebudget_register_kinds hook.
KINDS = pytest.StashKey[KindRegistry]()
# What an item hands to its report: {"result": {...}}, {"problem": {...}}, {"engine": {...}}.
ITEM_REPORT = pytest.StashKey[dict[str, Any]]()
