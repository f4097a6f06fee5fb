"""Image budgets: an image (or the pieces of a split one) must fit its partition.

The check is ``expanded_bytes + reserve_bytes <= budget_bytes``: ``budget_bytes`` is the
partition size, ``expanded_bytes`` what the image takes once written to it (the budget's
``used_bytes``), and ``reserve_bytes`` space the partition must keep free on top
(Android's AVB hash footer needs 69,632 bytes).  ``warn_at`` (a percentage of the
partition, like Android's 95% warning) is one of the limits every kind has: the core
reads and checks it, counting the reserve as used.  The JSON report's ``image`` object holds the
measurement.  A damaged or missing image fails its own budget with the file, offset and
problem, and never affects other budgets.

The measurement is given the room the partition leaves (``budget_bytes - reserve_bytes``)
so that a compressed image stops expanding as soon as it cannot fit; such a result's
details say ``stopped_early`` (and ``expanded_at_least`` when ``used_bytes`` is a lower
bound), and the failure text says "at least".
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, ClassVar

from pytest_sizebudget.budget.fields import FieldReader, KeyPath, common_fields
from pytest_sizebudget.budget.model import Budget, BudgetFile, FileRef
from pytest_sizebudget.images import ImageFormatError, ImageSizes, measure_image
from pytest_sizebudget.images.model import COMPRESSIONS, FORMATS
from pytest_sizebudget.paths import printable
from pytest_sizebudget.report.breakdown import Breakdown, figures_breakdown
from pytest_sizebudget.report.failure import creep_headline, creep_text
from pytest_sizebudget.report.model import BudgetResult, Details, HtmlPanel
from pytest_sizebudget.units import describe, format_bytes

from .base import BudgetKind, EntryParser, EvaluationContext

Display = Callable[[Path], str]

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
)


@dataclass(frozen=True, slots=True, kw_only=True)
class ImageBudget(Budget):
    images: tuple[FileRef, ...]  # several: the pieces of one split Android sparse image
    format: str | None = None  # None: detected from the content
    reserve_bytes: int = 0

    @property
    def kind(self) -> str:
        return "image"


def parse_image_budget(
    r: FieldReader, entry: Mapping[str, Any], path: KeyPath, root: Path
) -> Budget | None:
    if r.object(entry, path, _KEYS) is None:
        return None
    common = common_fields(r, entry, path)
    images = r.strings(entry, path, "image", required=True, allow_single=True)
    if images is not None and not images and "image" in entry:
        r.error((*path, "image"), "must name at least one image file")
        images = None
    fmt = r.string(entry, path, "format", choices=IMAGE_FORMATS)
    reserve = r.size(entry, path, "reserve_bytes")
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
        images=tuple(FileRef(raw=v, root=root, where=p) for p, v in images),
        format=None if fmt in (None, AUTO) else fmt,
        reserve_bytes=reserve or 0,
    )


def measure_budget(budget: ImageBudget, base: BudgetResult, display: Display) -> BudgetResult:
    shown = {str(ref.path): display(ref.path) for ref in budget.images}
    result = replace(
        base,
        reserve_bytes=budget.reserve_bytes,
        parameters={
            "format": budget.format or AUTO,
            "images": list(shown.values()),
        },
        details=ImageDetails(None),
    )
    paths = [ref.path for ref in budget.images]
    try:
        sizes = measure_image(
            paths[0] if len(paths) == 1 else paths,
            budget.format,
            limit=budget.budget_bytes - budget.reserve_bytes,
        )
    except ImageFormatError as exc:
        return result.with_error(_error_text(budget, exc, shown))
    except OSError as exc:  # e.g. permission denied half-way through a read
        where = exc.filename if isinstance(exc.filename, str) else ", ".join(shown.values())
        return result.with_error(
            f"{budget.key}.image: {shown.get(where, where)}: {exc.strerror or exc}"
        )
    details = ImageDetails(sizes, budget.reserve_bytes)
    return replace(result, used_bytes=sizes.expanded_bytes, details=details)


def _error_text(budget: ImageBudget, exc: ImageFormatError, shown: Mapping[str, str]) -> str:
    ref = next((r for r in budget.images if str(r.path) == exc.file), None)
    key = ref.key if ref is not None else f"{budget.key}.image"
    problem = exc.problem
    for absolute, short in shown.items():
        problem = problem.replace(absolute, short)
    where = printable(shown.get(exc.file, exc.file))  # a NUL byte or newline, escaped
    if exc.offset is not None:
        where += f": offset {exc.offset}"
    return f"{key}: {where}: {problem}"


@dataclass(frozen=True, slots=True)
class ImageDetails(Details):
    """The JSON report's ``image`` object: the measurement, or None when there is none."""

    image: ImageSizes | None
    reserve_bytes: int = 0

    def to_dict(self) -> dict[str, Any]:
        if self.image is None:
            return {"image": None}
        return {"image": {**self.image.to_dict(), "reserve_bytes": self.reserve_bytes}}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ImageDetails:
        image = data.get("image")
        if not isinstance(image, Mapping):
            return cls(None)
        sizes = {k: v for k, v in image.items() if k != "reserve_bytes"}
        return cls(ImageSizes.from_dict(sizes), int(image.get("reserve_bytes", 0)))


class ImageKind(BudgetKind):
    name = "image"
    titles: ClassVar[Mapping[str, str]] = {"image": "Image budget"}
    sections: ClassVar[Mapping[str, EntryParser]] = {"image_budgets": parse_image_budget}
    descriptive_parameters = frozenset({"images"})

    def evaluate(
        self,
        context: EvaluationContext,
        budget_file: BudgetFile,
        budgets: Sequence[Budget],
        base: Mapping[str, BudgetResult],
    ) -> Mapping[str, BudgetResult]:
        return {
            b.key: measure_budget(b, base[b.key], context.display)
            for b in budgets
            if isinstance(b, ImageBudget)
        }

    def details_from_dict(self, data: Mapping[str, Any]) -> Details:
        return ImageDetails.from_dict(data)

    def failure_text(self, result: BudgetResult, top_n: int) -> str:
        lines = []
        if result.over_budget:
            over = _at_least(result) + describe(result.over_by or 0)
            lines.append(f"{self.title(result)} does not fit its partition: over by {over}")
        if result.creep_exceeded:
            lines.append(creep_headline(result, self.title(result)))
            lines.append(f"  baseline      {describe(result.baseline_used_bytes or 0)}")
            lines.append(f"  delta         {result.delta_bytes or 0:+,} B")
        lines.extend(image_numbers(result))
        lines.append(f"  file          {result.file}:{result.line} ({result.key})")
        return "\n".join(lines)

    def breakdown(self, result: BudgetResult, top_n: int) -> Sequence[Breakdown]:
        """The image against its partition: what it takes, the reserve, what is left."""
        if result.error is not None or result.used_bytes is None:
            return ()
        at_least = _at_least(result)
        figures = [("expanded image (used)", f"{at_least}{format_bytes(result.used_bytes)}")]
        if result.reserve_bytes:
            figures.append(("reserve (kept free)", format_bytes(result.reserve_bytes)))
        figures.append(("partition (budget_bytes)", format_bytes(result.budget_bytes)))
        left = result.budget_bytes - result.used_bytes - result.reserve_bytes
        figures.append(("remaining" if left >= 0 else "over by", format_bytes(abs(left))))
        image = _image(result)
        if image is not None:
            figures.append(("format", image.format))
            figures.append(("file bytes (as stored)", format_bytes(image.file_bytes)))
            figures.append(
                ("data bytes (not holes)", _data_text(image, format_bytes(image.data_bytes)))
            )
        files = result.parameters.get("images") or []
        if files:
            figures.append(("image" if len(files) == 1 else "pieces", ", ".join(map(str, files))))
        return (figures_breakdown("Image and partition", figures),)

    def html_panel(self, result: BudgetResult) -> HtmlPanel:
        """The partition as a bar: data, holes, reserve and headroom, the numbers the
        terminal shows (remaining counts the reserve as taken)."""
        image = _image(result)
        at_least = _at_least(result)
        used = "?" if result.used_bytes is None else f"{at_least}{result.used_bytes:,} B"
        figures = [
            ("partition (budget_bytes)", f"{result.budget_bytes:,} B"),
            ("expanded (used)", used),
        ]
        if result.reserve_bytes:
            figures.append(("reserve", f"{result.reserve_bytes:,} B"))
        if result.remaining_bytes is not None:
            figures.append(("remaining", f"{result.remaining_bytes:+,} B"))
        if image is not None:
            figures.append(("format", image.format))
            figures.append(("file bytes (as stored)", f"{image.file_bytes:,} B"))
            figures.append(("data bytes (not holes)", _data_text(image, f"{image.data_bytes:,} B")))
        return HtmlPanel(figures=tuple(figures), bar=partition_bar(result, image))


def partition_bar(result: BudgetResult, image: ImageSizes | None) -> tuple[tuple[str, int], ...]:
    """Segments of the partition, in order: what the image writes (data, then holes, when
    the data bytes are known), the reserve, and the headroom left (none when over)."""
    if result.used_bytes is None:
        return ()
    bar: list[tuple[str, int]] = []
    if image is not None and not image.details.get("stopped_early"):
        bar.append(("data", image.data_bytes))
        bar.append(("holes", result.used_bytes - image.data_bytes))
    else:
        bar.append(("image", result.used_bytes))
    if result.reserve_bytes:
        bar.append(("reserve", result.reserve_bytes))
    if result.remaining_bytes:
        bar.append(("headroom", max(result.remaining_bytes, 0)))
    return tuple((label, n) for label, n in bar if n > 0)


def _image(result: BudgetResult) -> ImageSizes | None:
    return result.details.image if isinstance(result.details, ImageDetails) else None


def _at_least(result: BudgetResult) -> str:
    """ "at least " when used_bytes is a lower bound: reading stopped once past the room."""
    image = _image(result)
    return "at least " if image is not None and image.details.get("expanded_at_least") else ""


def _data_text(image: ImageSizes, amount: str) -> str:
    """``amount`` of data bytes as far as it is known."""
    if not image.details.get("stopped_early"):
        return amount
    if image.details.get("expanded_at_least"):
        return f"at least {amount}"  # raw content: every byte read is data
    return NOT_COUNTED  # a sparse image stopped after its header


NOT_COUNTED = "not counted (reading stopped early)"
_STOPPED = (
    "reading stopped early: the part of the compressed image read already shows it cannot fit"
)

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
    at_least = _at_least(result)
    rows = [("used", f"{at_least}{describe(used, budget)}  (expanded size of the image)")]
    if reserve:
        rows.append(("reserve", f"{describe(reserve)}  (must stay free in the partition)"))
        rows.append(("used+reserve", at_least + describe(used + reserve, budget)))
    rows.append(("partition", f"{describe(budget, used + reserve)}  (budget_bytes)"))
    rows.append(("over by", at_least + describe(used + reserve - budget)))
    if result.creep_budget_bytes or result.creep_budget_percent is not None:
        rows.append(("creep budget", creep_text(result)))
    sizes = _image(result)
    image: Mapping[str, Any] = sizes.to_dict() if sizes is not None else {}
    if sizes is not None:
        rows.append(("format", str(image["format"])))
        rows.append(("file bytes", f"{format_bytes(image['file_bytes'])}  (as stored)"))
        expanded = at_least + format_bytes(image["expanded_bytes"])
        rows.append(("expanded", f"{expanded}  (as written)"))
        data = _data_text(sizes, format_bytes(image["data_bytes"]))
        rows.append(("data bytes", data if data == NOT_COUNTED else f"{data}  (not holes)"))
        if sizes.details.get("stopped_early"):
            rows.append(("stopped", _STOPPED))
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
