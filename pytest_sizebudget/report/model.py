"""``BudgetResult``: one budget, measured and judged, in a form that crosses processes.

Results travel from xdist workers to the controller as plain dicts (``to_dict``) and
come back with ``from_dict``; every report is rendered from them on the controller.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from pytest_sizebudget.accounting import BlobCharge, PackageCharge

from .diff import BlobChange

# How a budget relates to the baseline (only with --sizebudget-baseline).
MATCHED, NEW = "matched", "new"


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
    packages: tuple[PackageCharge, ...] = ()
    fixed_bytes: int = 0
    parameters: dict[str, Any] = field(default_factory=dict)  # sharing, layout, ...
    extra: dict[str, Any] = field(default_factory=dict)  # kind-specific report fields
    # Against a baseline (all None without one): "matched" or "new", the baseline's used
    # bytes, used minus baseline, and the blob changes (matched budgets only).
    baseline: str | None = None
    baseline_used_bytes: int | None = None
    delta_bytes: int | None = None
    diff: tuple[BlobChange, ...] | None = None
    # Space the budget must keep free besides used_bytes (an image partition's AVB reserve).
    reserve_bytes: int = 0

    @property
    def passed(self) -> bool:
        return (
            self.error is None
            and self.used_bytes is not None
            and (self.used_bytes + self.reserve_bytes <= self.budget_bytes)
            # Kinds with further limits (an update's download) name those they exceed.
            and not self.extra.get("failed_checks")
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
                or bool(self.extra.get("failed_checks"))
            )
        )

    @property
    def creep_exceeded(self) -> bool:
        """Grew since the baseline by more than its creep budget (only with a baseline)."""
        return (
            self.error is None
            and self.delta_bytes is not None
            and self.delta_bytes > self.creep_budget_bytes
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
            **self.extra,
            **self._baseline_dict(),
        }

    def _baseline_dict(self) -> dict[str, Any]:
        if self.baseline is None:
            return {}  # no baseline: the report keeps its pre-baseline shape
        return {
            "baseline": self.baseline,
            "baseline_used_bytes": self.baseline_used_bytes,
            "delta_bytes": self.delta_bytes,
            "creep_exceeded": self.creep_exceeded,
            "diff": None if self.diff is None else [c.to_dict() for c in self.diff],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> BudgetResult:
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
            extra={k: v for k, v in d.items() if k not in known},
            baseline=d.get("baseline"),
            baseline_used_bytes=d.get("baseline_used_bytes"),
            delta_bytes=d.get("delta_bytes"),
            diff=None if diff is None else tuple(BlobChange.from_dict(c) for c in diff),
        )


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
