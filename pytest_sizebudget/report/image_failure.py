"""Failure text of an image budget: the image against its partition, and what it is made of."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pytest_sizebudget.units import describe, format_bytes

from .model import BudgetResult

# The details worth a line in a failure, in this order; the JSON report has all of them.
_KEY_DETAILS = (
    "compression",
    "block_size",
    "total_blocks",
    "chunks",
    "pieces",
    "raw_bytes",
    "fill_bytes",
    "dont_care_bytes",
    "crc32_chunks",
    "slice_size",
    "partitions",
    "extents",
    "total_slices",
    "lz4",
    "expanded_from",
    "data_method",
    "allocated_bytes",
)


def image_numbers(result: BudgetResult) -> list[str]:
    """The rows under an over-budget image budget's headline."""
    used, budget, reserve = result.used_bytes or 0, result.budget_bytes, result.reserve_bytes
    rows = [("used", f"{describe(used, budget)}  (expanded size of the image)")]
    if reserve:
        rows.append(("reserve", f"{describe(reserve)}  (must stay free in the partition)"))
        rows.append(("used+reserve", describe(used + reserve, budget)))
    rows.append(("partition", f"{describe(budget, used + reserve)}  (budget_bytes)"))
    rows.append(("over by", describe(used + reserve - budget)))
    if result.creep_budget_bytes:
        rows.append(("creep budget", describe(result.creep_budget_bytes)))
    image: Mapping[str, Any] = result.extra.get("image") or {}
    if image:
        rows.append(("format", str(image["format"])))
        rows.append(("file bytes", f"{format_bytes(image['file_bytes'])}  (as stored)"))
        rows.append(("expanded", f"{format_bytes(image['expanded_bytes'])}  (as written)"))
        rows.append(("data bytes", f"{format_bytes(image['data_bytes'])}  (not holes)"))
        details: Mapping[str, Any] = image.get("details") or {}
        shown = [f"{k}: {_value(k, details[k])}" for k in _KEY_DETAILS if k in details]
        if shown:
            rows.append(("details", ", ".join(shown)))
    files = result.parameters.get("images") or []
    if files:
        rows.append(("image" if len(files) == 1 else "pieces", ", ".join(files)))
    return [f"  {label:<13} {value}" for label, value in rows]


def _value(key: str, value: Any) -> str:
    if key.endswith("_bytes") and isinstance(value, int) and not isinstance(value, bool):
        return format_bytes(value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)
