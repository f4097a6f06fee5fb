"""``BudgetResult``: one budget, measured and judged, in a form that crosses processes.

Results travel from xdist workers to the controller as plain dicts (``to_dict``) and
come back with ``from_dict``; every report is rendered from them on the controller.
What only one kind of budget has lives in its ``details``, a frozen ``Details``
dataclass of that kind, whose keys ``to_dict`` writes beside the common ones.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from pytest_sizebudget.accounting import BlobCharge, PackageCharge

from .diff import BlobChange

# How a budget relates to the baseline (only with --sizebudget-baseline).
MATCHED, NEW = "matched", "new"


class Status(StrEnum):
    """A budget's verdict, worst first: every report shows this one value.

    ``new`` (no baseline entry) is not a verdict but a relation to the baseline: a new
    budget is judged like any other, and ``BudgetResult.baseline`` says that it is new.
    """

    ERROR = "error"  # could not be checked
    OVER = "over"  # over its absolute limit (or a kind's further limit)
    CREEP = "creep"  # grew since the baseline by more than its creep budget
    WARN = "warn"  # passes, but its kind warns (an image above ``warn_at``)
    OK = "ok"


class Details:
    """Kind-specific fields of a result; subclasses are frozen dataclasses.

    ``to_dict`` gives the JSON keys written beside the common ones (flat, so that a
    budget's JSON entry keeps the shape it always had); the kind's
    ``details_from_dict`` reads them back.
    """

    __slots__ = ()

    @property
    def failed_checks(self) -> tuple[str, ...]:
        """Limits besides ``budget_bytes`` that the budget exceeds (an update's download)."""
        return ()

    def to_dict(self) -> dict[str, Any]:
        return {}

    def gerrit_components(
        self, result: BudgetResult, name: str
    ) -> tuple[tuple[str, int, int, int], ...] | None:
        """``(name, used, budget, creep budget)`` of each Gerrit component, when the
        budget is reported as other ones than itself (a product's platform resources)."""
        return None


@dataclass(frozen=True, slots=True)
class NoDetails(Details):
    """A kind with nothing beyond the common fields."""


@dataclass(frozen=True, slots=True)
class RawDetails(Details):
    """Details of a kind this run does not know (a baseline written with a kind that is
    no longer registered): kept as read, so that they round-trip unchanged."""

    data: Mapping[str, Any]

    @property
    def failed_checks(self) -> tuple[str, ...]:
        checks = self.data.get("failed_checks")
        return tuple(str(c) for c in checks) if isinstance(checks, list) else ()

    def to_dict(self) -> dict[str, Any]:
        return dict(self.data)


DetailsDecoder = Callable[[str, Mapping[str, Any]], Details]
"""``(kind, leftover JSON keys) -> Details``: a registry's decoder for ``from_dict``."""


def _raw(kind: str, data: Mapping[str, Any]) -> Details:
    return RawDetails(dict(data)) if data else NoDetails()


@dataclass(frozen=True, slots=True, kw_only=True)
class BudgetResult:
    name: str
    kind: str
    file: str
    line: int
    key: str
    budget_bytes: int
    creep_budget_bytes: int = 0
    owner: str | None = None
    used_bytes: int | None = None  # None when the budget could not be measured
    error: str | None = None
    packages: Sequence[PackageCharge] = ()
    fixed_bytes: int = 0
    parameters: dict[str, Any] = field(default_factory=dict)  # sharing, layout, ...
    details: Details = field(default_factory=NoDetails)  # the kind's own fields
    # Against a baseline (all None without one): "matched" or "new", the baseline's used
    # bytes, used minus baseline, and the blob changes (matched budgets only).
    baseline: str | None = None
    baseline_used_bytes: int | None = None
    delta_bytes: int | None = None
    diff: tuple[BlobChange, ...] | None = None
    # Space the budget must keep free besides used_bytes (an image partition's AVB reserve).
    reserve_bytes: int = 0
    # Limits every kind has (``Budget``): pass with a warning above warn_at percent of
    # budget_bytes or above warn_bytes; creep limited to a percentage of the baseline.
    warn_at: float | None = None
    warn_bytes: int | None = None
    creep_budget_percent: float | None = None
    # Why a budget that passes warns (the shared limits above, then its kind's own
    # warning), set by the kind registry; it recomputes it when a result is read back.
    warning: str | None = None

    @property
    def passed(self) -> bool:
        return (
            self.error is None
            and self.used_bytes is not None
            and (self.used_bytes + self.reserve_bytes <= self.budget_bytes)
            # Kinds with further limits (an update's download) name those they exceed.
            and not self.details.failed_checks
            and not self.creep_exceeded
        )

    @property
    def over_budget(self) -> bool:
        """Measured and over its absolute budget (counting any reserve it must keep free)."""
        return (
            self.error is None
            and self.used_bytes is not None
            and (
                self.used_bytes + self.reserve_bytes > self.budget_bytes
                # Kinds with further limits (an update's download) name those they exceed.
                or bool(self.details.failed_checks)
            )
        )

    @property
    def status(self) -> Status:
        if self.error is not None:
            return Status.ERROR
        if self.over_budget:
            return Status.OVER
        if self.creep_exceeded:
            return Status.CREEP
        if self.used_bytes is None:  # neither measured nor failed: nothing to call ok
            return Status.ERROR
        return Status.WARN if self.warning is not None else Status.OK

    @property
    def creep_limit_bytes(self) -> int | None:
        """The growth allowed since the baseline, in bytes.

        ``creep_budget_bytes``; with ``creep_budget_percent``, that percentage of the
        baseline's used bytes (rounded down), the stricter of the two when both are given
        (a budget file cannot give a percentage beside a ``creep_budget_bytes`` of 0).
        None when a percentage has no baseline to be a percentage of.
        """
        if self.creep_budget_percent is None:
            return self.creep_budget_bytes
        if self.baseline_used_bytes is None:
            return None
        relative = percent_of(self.baseline_used_bytes, self.creep_budget_percent)
        return min(relative, self.creep_budget_bytes) if self.creep_budget_bytes else relative

    @property
    def creep_exceeded(self) -> bool:
        """Grew since the baseline by more than its creep limit (only with a baseline)."""
        limit = self.creep_limit_bytes
        return (
            self.error is None
            and self.delta_bytes is not None
            and limit is not None
            and self.delta_bytes > limit
        )

    @property
    def remaining_bytes(self) -> int | None:
        """Room left under the budget (negative: over by), the reserve counted as used.

        The one figure every report shows as "remaining"."""
        if self.used_bytes is None:
            return None
        return self.budget_bytes - self.used_bytes - self.reserve_bytes

    @property
    def used_percent(self) -> float | None:
        """Used bytes plus reserve as a percentage of the budget (None: no budget)."""
        if self.used_bytes is None or not self.budget_bytes:
            return None
        return 100 * (self.used_bytes + self.reserve_bytes) / self.budget_bytes

    def limit_warning(self, title: str) -> str | None:
        """The warning of the limits every kind has (``warn_at``, ``warn_bytes``), if any."""
        if not self.passed or self.used_bytes is None:
            return None
        occupied = self.used_bytes + self.reserve_bytes
        above = []
        percent = self.used_percent
        if self.warn_at is not None and percent is not None and percent > self.warn_at:
            above.append(f"warn_at {self.warn_at:g}%")
        if self.warn_bytes is not None and occupied > self.warn_bytes:
            above.append(f"warn_bytes {self.warn_bytes:,} B")
        if not above:
            return None
        at = "" if percent is None else f" is at {percent:.1f}% of its budget,"
        reserve = f" + reserve {self.reserve_bytes:,} B" if self.reserve_bytes else ""
        return (
            f"{title}{at} above {' and '.join(above)}: used {self.used_bytes:,} B{reserve} "
            f"of {self.budget_bytes:,} B ({self.file}:{self.line})"
        )

    @property
    def over_by(self) -> int | None:
        if self.used_bytes is None:
            return None
        return self.used_bytes + self.reserve_bytes - self.budget_bytes

    def with_error(self, error: str) -> BudgetResult:
        return replace(self, error=error)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "file": self.file,
            "line": self.line,
            "key": self.key,
            "budget_bytes": self.budget_bytes,
            "creep_budget_bytes": self.creep_budget_bytes,
            "owner": self.owner,
            "used_bytes": self.used_bytes,
            "error": self.error,
            "passed": self.passed,
            "fixed_bytes": self.fixed_bytes,
            "parameters": dict(self.parameters),
            "packages": [_package_dict(p) for p in self.packages],
            # Only where a budget has one, so other kinds' entries keep their shape.
            **({"reserve_bytes": self.reserve_bytes} if self.reserve_bytes else {}),
            # The verdict and the room left, computed here once for every report.
            "status": self.status.value,
            "remaining_bytes": self.remaining_bytes,
            **{k: v for k, v in self._limits().items() if v is not None},
            **self.details.to_dict(),
            **self._baseline_dict(),
        }

    def _limits(self) -> dict[str, Any]:
        # Only where given, so that entries without them keep their shape.
        return {
            "warn_at": self.warn_at,
            "warn_bytes": self.warn_bytes,
            "creep_budget_percent": self.creep_budget_percent,
            "warning": self.warning,
        }

    def _baseline_dict(self) -> dict[str, Any]:
        if self.baseline is None:
            return {}  # no baseline: the report keeps its pre-baseline shape
        return {
            "baseline": self.baseline,
            "baseline_used_bytes": self.baseline_used_bytes,
            "delta_bytes": self.delta_bytes,
            "creep_exceeded": self.creep_exceeded,
            **(
                {"creep_limit_bytes": self.creep_limit_bytes}
                if self.creep_budget_percent is not None
                else {}
            ),
            "diff": None if self.diff is None else [c.to_dict() for c in self.diff],
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], decode: DetailsDecoder = _raw) -> BudgetResult:
        """Inverse of ``to_dict``; ``decode`` turns the kind's keys into its details."""
        known = {
            "name",
            "kind",
            "file",
            "line",
            "key",
            "budget_bytes",
            "creep_budget_bytes",
            "owner",
            "used_bytes",
            "error",
            "passed",
            "fixed_bytes",
            "parameters",
            "packages",
            "baseline",
            "baseline_used_bytes",
            "delta_bytes",
            "creep_exceeded",
            "diff",
            "reserve_bytes",
            "status",
            "remaining_bytes",
            "warn_at",
            "warn_bytes",
            "creep_budget_percent",
            "creep_limit_bytes",
            "warning",
        }
        diff = d.get("diff")
        return cls(
            name=d["name"],
            kind=d["kind"],
            file=d["file"],
            line=d["line"],
            key=d["key"],
            budget_bytes=d["budget_bytes"],
            creep_budget_bytes=d["creep_budget_bytes"],
            owner=d["owner"],
            used_bytes=d["used_bytes"],
            error=d["error"],
            fixed_bytes=d["fixed_bytes"],
            parameters=dict(d["parameters"]),
            packages=tuple(_package_from(p) for p in d["packages"]),
            reserve_bytes=d.get("reserve_bytes", 0),
            warn_at=d.get("warn_at"),
            warn_bytes=d.get("warn_bytes"),
            creep_budget_percent=d.get("creep_budget_percent"),
            warning=d.get("warning"),
            details=decode(d["kind"], {k: v for k, v in d.items() if k not in known}),
            baseline=d.get("baseline"),
            baseline_used_bytes=d.get("baseline_used_bytes"),
            delta_bytes=d.get("delta_bytes"),
            diff=None if diff is None else tuple(BlobChange.from_dict(c) for c in diff),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class HtmlPanel:
    """How the HTML report draws one budget, besides its headline.

    ``treemap``: its packages as a treemap (package -> blob, by charged bytes);
    ``figures``: (label, value) rows of key numbers; ``bar``: (label, bytes) segments of
    what the budget uses, drawn in order against ``budget_bytes`` (the page colours the
    labels ``data``, ``holes``, ``used``, ``reserve``, ``headroom`` and ``over`` alike in
    every kind; without segments it draws used, reserve and headroom).
    """

    treemap: bool = False
    figures: tuple[tuple[str, str], ...] = ()
    bar: tuple[tuple[str, int], ...] = ()

    @classmethod
    def generic(cls, result: BudgetResult) -> HtmlPanel:
        """A treemap when the budget has packages, else its numbers and a bar."""
        if result.packages or result.fixed_bytes:
            return cls(treemap=True)
        figures = [
            ("used", _bytes_text(result.used_bytes)),
            ("budget", _bytes_text(result.budget_bytes)),
        ]
        bar: list[tuple[str, int]] = []
        if result.used_bytes is not None:
            bar.append(("used", result.used_bytes))
        if result.reserve_bytes:
            figures.append(("reserve", _bytes_text(result.reserve_bytes)))
            bar.append(("reserve", result.reserve_bytes))
        if result.remaining_bytes:
            bar.append(("headroom", max(result.remaining_bytes, 0)))
        return cls(figures=tuple(figures), bar=tuple(b for b in bar if b[1] > 0))

    def to_dict(self) -> dict[str, Any]:
        return {
            "treemap": self.treemap,
            "figures": [list(f) for f in self.figures],
            "bar": [list(b) for b in self.bar],
        }


def percent_of(amount: int, percent: float) -> int:
    """``percent`` of ``amount`` bytes, rounded down (a limit never allows a byte more)."""
    return int(amount * percent // 100)


def _bytes_text(n: int | None) -> str:
    return "?" if n is None else f"{n:,} B"


def _package_dict(p: PackageCharge) -> dict[str, Any]:
    return {
        "name": p.name,
        "manifest": p.origin,
        "used_space_in_blobfs": p.used_space_in_blobfs,
        "proportional_size": p.proportional_size,
        "blobs": [
            {
                "merkle": b.merkle,
                "path": b.path,
                "size": b.size,
                "share_count": b.share_count,
                "charged_bytes": b.charged_bytes,
                "excluded_by": b.excluded_by,
            }
            for b in p.blobs
        ],
    }


def _package_from(d: dict[str, Any]) -> PackageCharge:
    return PackageCharge(
        name=d["name"],
        origin=d["manifest"],
        used_space_in_blobfs=d["used_space_in_blobfs"],
        proportional_size=d["proportional_size"],
        blobs=tuple(
            BlobCharge(
                merkle=b["merkle"],
                path=b["path"],
                size=b["size"],
                share_count=b["share_count"],
                charged_bytes=b["charged_bytes"],
                excluded_by=b["excluded_by"],
            )
            for b in d["blobs"]
        ),
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class FileProblem:
    """A problem of a whole budget file (unreadable, invalid, totals that do not add up)."""

    file: str
    message: str
    check: str = "budget file"

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file, "check": self.check, "message": self.message}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> FileProblem:
        return cls(file=d["file"], check=d["check"], message=d["message"])
