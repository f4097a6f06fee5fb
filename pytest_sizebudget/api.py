"""Size checks inside ordinary test functions (the ``sizebudget`` fixture's engine).

``SizeBudgetAPI.package_set`` measures packages with the session's evaluator (the same
blobs.json files, sizer and cache as the budget items) and returns a ``SizeUsage``: an
int-like value that compares with integers and size strings (``usage <= "40 KiB"``) and
that explains itself when an assertion fails (see ``explain``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .budget.model import DEFAULT_SHARING, BudgetFile, FileRef, Sharing
from .errors import InputError, SizeBudgetError
from .evaluate import BudgetEvaluator
from .kinds.package_set import PackageSetBudget
from .report.failure import render_breakdown
from .report.model import BudgetResult
from .units import describe, parse_size

if TYPE_CHECKING:
    from .images.model import ImageSizes


class UsageError(SizeBudgetError):
    """A package set that could not be measured (the message says why)."""


def _bytes(value: object) -> int:
    if isinstance(value, SizeUsage):
        return value.used_bytes
    return parse_size(value)


@dataclass(frozen=True, slots=True)
class SizeUsage:
    """What a package set uses, with the breakdown behind the number."""

    result: BudgetResult

    @property
    def used_bytes(self) -> int:
        return self.result.used_bytes or 0

    def __int__(self) -> int:
        return self.used_bytes

    def __index__(self) -> int:
        return self.used_bytes

    def __eq__(self, other: object) -> bool:
        try:
            return self.used_bytes == _bytes(other)
        except (ValueError, TypeError):
            return NotImplemented

    def __hash__(self) -> int:
        return hash(self.used_bytes)

    def __lt__(self, other: object) -> bool:
        return self.used_bytes < _bytes(other)

    def __le__(self, other: object) -> bool:
        return self.used_bytes <= _bytes(other)

    def __gt__(self, other: object) -> bool:
        return self.used_bytes > _bytes(other)

    def __ge__(self, other: object) -> bool:
        return self.used_bytes >= _bytes(other)

    def __repr__(self) -> str:
        return f"SizeUsage({self.used_bytes:,} B)"


def explain(op: str, left: object, right: object, top_n: int = 10) -> list[str] | None:
    """Assertion text for a failed comparison that involves a ``SizeUsage``, else None."""
    usage = left if isinstance(left, SizeUsage) else right
    if not isinstance(usage, SizeUsage) or op not in ("<", "<=", ">", ">=", "==", "!="):
        return None
    other = right if usage is left else left
    try:
        limit = _bytes(other)
    except (ValueError, TypeError):
        return None
    used = usage.used_bytes
    head = f"{usage.result.name} uses {describe(used, limit)}, limit {other!r} is {describe(limit)}"
    lines = [head]
    if used > limit:
        lines.append(f"over by {describe(used - limit)}")
    else:
        lines.append(f"under by {describe(limit - used)}")
    lines.extend(render_breakdown(usage.result.packages, top_n, usage.result.fixed_bytes))
    params = ", ".join(f"{k}: {v}" for k, v in sorted(usage.result.parameters.items()))
    lines.append(f"accounting: {params}")
    return lines


class SizeBudgetAPI:
    """What the ``sizebudget`` fixture returns."""

    def __init__(self, evaluator: BudgetEvaluator, root: Path) -> None:
        self.evaluator = evaluator
        self.root = root

    def package_set(
        self,
        paths: Sequence[str | Path] | str | Path,
        blob_sizes: Sequence[str | Path] | str | Path | None = None,
        sharing: Sharing = DEFAULT_SHARING,
        *,
        name: str | None = None,
    ) -> SizeUsage:
        """Measure package manifests or directories as one package set."""
        if isinstance(paths, str | Path):
            paths = [paths]
        if isinstance(blob_sizes, str | Path):
            blob_sizes = [blob_sizes]
        resolved = [(self.root / p).absolute() for p in paths]
        sizes = [(self.root / p).absolute() for p in blob_sizes or ()]
        if sharing not in ("global", "per_set"):
            raise ValueError(f"sharing must be 'global' or 'per_set', got {sharing!r}")
        label = name or f"package set of {len(resolved)} package{'s' * (len(resolved) != 1)}"
        # The evaluator measures each budget file once per process: the same question asked
        # twice is answered from its cache, keyed by what was asked.
        key = hashlib.sha256(
            json.dumps(
                [str(p) for p in resolved] + ["|"] + [str(p) for p in sizes] + [sharing]
            ).encode()
        ).hexdigest()[:16]
        budget = PackageSetBudget(
            name=label,
            key="package_set_budgets[0]",
            line=1,
            budget_bytes=0,
            packages=tuple(
                FileRef(raw=str(p), root=Path(), where=f"packages[{i}]")
                for i, p in enumerate(resolved)
            ),
        )
        bf = BudgetFile(
            path=self.root / f"<sizebudget fixture {key}>",
            display="<sizebudget fixture>",
            root=self.root,
            sharing=sharing,
            blob_sizes=tuple(
                FileRef(raw=str(p), root=Path(), where=f"blob_sizes[{i}]")
                for i, p in enumerate(sizes)
            ),
            budgets=(budget,),
        )
        result = self.evaluator.result(bf, budget.key)
        if result.error is not None or result.used_bytes is None:
            raise UsageError(f"{label}: {result.error}")
        return SizeUsage(result)

    def image(
        self, path: str | Path, format: str | None = None, *, limit: int | str | None = None
    ) -> ImageSizes:
        """Sizes of an image file (``expanded_bytes``, ``file_bytes``, ``data_bytes``).

        ``limit`` (bytes or a size string, e.g. the partition size) lets a compressed image
        stop expanding once it is known to be larger: the result's details then say
        ``stopped_early``, and ``expanded_at_least`` when ``expanded_bytes`` is a lower
        bound.  Without a limit, a compressed image is expanded up to
        ``pytest_sizebudget.images.limits.MAX_EXPANDED_BYTES`` (64 GiB); a larger one raises
        an ``InputError`` that names the cap.
        """
        from .images.measure import measure_image  # a budget run of packages needs none of it

        room = None if limit is None else parse_size(limit)
        try:
            return measure_image((self.root / path).absolute(), format, limit=room)
        except InputError:
            raise
        except OSError as exc:
            raise InputError(f"{path}: {exc.strerror or exc}") from None


__all__ = ["SizeBudgetAPI", "SizeUsage", "UsageError", "explain"]
