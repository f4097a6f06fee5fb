"""Image budgets, measured and judged: ``ImageBudget`` in, ``BudgetResult`` out.

``used_bytes`` is the image's expanded size (what it takes once written to the
partition); the budget's ``reserve_bytes`` is carried separately and counts against the
partition in ``BudgetResult.passed``.  The JSON report's ``image`` object holds the
measurement.  A damaged or missing image fails its own budget with the file, offset and
problem, and never affects other budgets.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path

from .budget.image_budget import AUTO, ImageBudget
from .budget.model import BudgetFile
from .images import ImageFormatError, measure_image
from .report.model import BudgetResult

Display = Callable[[Path], str]


def evaluate_images(
    bf: BudgetFile, base: Mapping[str, BudgetResult], display: Display
) -> dict[str, BudgetResult]:
    """Results of the file's image budgets, by budget key."""
    return {
        b.key: measure_budget(b, base[b.key], display)
        for b in bf.budgets
        if isinstance(b, ImageBudget)
    }


def measure_budget(budget: ImageBudget, base: BudgetResult, display: Display) -> BudgetResult:
    shown = {str(ref.path): display(ref.path) for ref in budget.images}
    result = replace(
        base,
        reserve_bytes=budget.reserve_bytes,
        parameters={
            "format": budget.format or AUTO,
            "images": list(shown.values()),
            "warn_at": budget.warn_at,
        },
        extra={"image": None},
    )
    paths = [ref.path for ref in budget.images]
    try:
        sizes = measure_image(paths[0] if len(paths) == 1 else paths, budget.format)
    except ImageFormatError as exc:
        return result.with_error(_error_text(budget, exc, shown))
    except OSError as exc:  # e.g. permission denied half-way through a read
        where = exc.filename if isinstance(exc.filename, str) else ", ".join(shown.values())
        return result.with_error(
            f"{budget.key}.image: {shown.get(where, where)}: {exc.strerror or exc}"
        )
    image = {**sizes.to_dict(), "reserve_bytes": budget.reserve_bytes}
    return replace(result, used_bytes=sizes.expanded_bytes, extra={"image": image})


def _error_text(budget: ImageBudget, exc: ImageFormatError, shown: Mapping[str, str]) -> str:
    ref = next((r for r in budget.images if str(r.path) == exc.file), None)
    key = ref.key if ref is not None else f"{budget.key}.image"
    problem = exc.problem
    for absolute, short in shown.items():
        problem = problem.replace(absolute, short)
    where = shown.get(exc.file, exc.file)
    if exc.offset is not None:
        where += f": offset {exc.offset}"
    return f"{key}: {where}: {problem}"


def warning_text(result: BudgetResult) -> str | None:
    """The warning a passing image budget gives above its ``warn_at`` percentage, if any."""
    warn_at = result.parameters.get("warn_at") if result.kind == "image" else None
    if not isinstance(warn_at, int | float) or not result.passed or not result.budget_bytes:
        return None
    assert result.used_bytes is not None
    occupied = result.used_bytes + result.reserve_bytes
    percent = 100 * occupied / result.budget_bytes
    if percent <= warn_at:
        return None
    reserve = f" + reserve {result.reserve_bytes:,} B" if result.reserve_bytes else ""
    return (
        f"image budget {result.name!r} is at {percent:.1f}% of its partition, above "
        f"warn_at {warn_at:g}%: used {result.used_bytes:,} B{reserve} of "
        f"{result.budget_bytes:,} B ({result.file}:{result.line})"
    )
