"""``image_budgets`` entries: an image (or the pieces of a split one) must fit its partition.

The check is ``expanded_bytes + reserve_bytes <= budget_bytes``: ``budget_bytes`` is the
partition size, ``expanded_bytes`` what the image takes once written to it, and
``reserve_bytes`` space the partition must keep free on top (Android's AVB hash footer
needs 69,632 bytes).  ``warn_at`` is a percentage of the partition: a passing image whose
expanded size plus reserve is above it passes with a warning, like Android's 95% warning.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pytest_sizebudget.errors import kind_of
from pytest_sizebudget.images.model import COMPRESSIONS, FORMATS

from .fields import FieldReader, KeyPath, common_fields, dotted
from .model import Budget, FileRef

AUTO = "auto"
IMAGE_FORMATS: tuple[str, ...] = (AUTO, *FORMATS, *COMPRESSIONS)
_KEYS = (
    "name",
    "budget_bytes",
    "creep_budget_bytes",
    "owner",
    "image",
    "format",
    "reserve_bytes",
    "warn_at",
)


@dataclass(frozen=True, slots=True, kw_only=True)
class ImageBudget(Budget):
    images: tuple[FileRef, ...]  # several: the pieces of one split Android sparse image
    format: str | None = None  # None: detected from the content
    reserve_bytes: int = 0
    warn_at: float | None = None  # percent of budget_bytes

    @property
    def kind(self) -> str:
        return "image"


def parse_image_budget(
    r: FieldReader, entry: Mapping[str, Any], path: KeyPath, root: Path
) -> Budget | None:
    # Imported here: parse.py registers this parser, so it cannot be imported at load time.

    if r.object(entry, path, _KEYS) is None:
        return None
    common = common_fields(r, entry, path)
    images = r.strings(entry, path, "image", required=True, allow_single=True)
    if images is not None and not images and "image" in entry:
        r.error((*path, "image"), "must name at least one image file")
        images = None
    fmt = r.string(entry, path, "format", choices=IMAGE_FORMATS)
    reserve = r.size(entry, path, "reserve_bytes")
    warn_at = _percent(r, entry, path, "warn_at")
    if common is not None and reserve is not None and reserve >= common["budget_bytes"]:
        r.error(
            (*path, "reserve_bytes"),
            f"reserve_bytes ({reserve:,}) leaves no room in budget_bytes "
            f"({common['budget_bytes']:,}): nothing could fit",
        )
        return None
    if common is None or not images:
        return None
    return ImageBudget(
        **common,
        images=tuple(FileRef(raw=v, path=root / v, key=dotted(p)) for p, v in images),
        format=None if fmt in (None, AUTO) else fmt,
        reserve_bytes=reserve or 0,
        warn_at=warn_at,
    )


def _percent(r: FieldReader, entry: Mapping[str, Any], path: KeyPath, key: str) -> float | None:
    if key not in entry:
        return None
    value = entry[key]
    if isinstance(value, bool) or not isinstance(value, int | float):
        r.error((*path, key), f"expected a percentage (a number such as 95), got {kind_of(value)}")
        return None
    if not math.isfinite(value) or not 0 <= value <= 100:
        r.error((*path, key), f"must be a percentage between 0 and 100, got {value!r}")
        return None
    return value
