"""Stash keys shared by the glue modules."""

from __future__ import annotations

from typing import Any

import pytest

from .settings import Settings

SETTINGS = pytest.StashKey[Settings]()
# What an item hands to its report: {"result": {...}} or {"problem": {...}}.
ITEM_REPORT = pytest.StashKey[dict[str, Any]]()
