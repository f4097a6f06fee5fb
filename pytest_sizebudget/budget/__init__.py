"""Budget files: JSON5 loading with positions, validation into frozen dataclasses."""

from __future__ import annotations
