"""Product and update budgets: what a budget file says about whole systems (pytest-free).

``product_budgets`` check a product's blob contents against a maximum, as
``ffx assembly size-check product`` does; ``update_budgets`` compare two products and
check what an over-the-air update downloads and the space it needs while it runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from .fields import FieldReader, KeyPath, common_fields, dotted
from .model import Budget, FileRef

SystemForm = Literal["packages", "images_manifest", "report"]
SYSTEM_FORMS: tuple[SystemForm, ...] = ("packages", "images_manifest", "report")


@dataclass(frozen=True, slots=True, kw_only=True)
class SystemSpec:
    """One system (a product release), given one of three ways.

    ``packages``: package manifests or directories; ``images_manifest``: Fuchsia's
    images.json; ``report``: a JSON report of this plugin, optionally only the budgets
    named in ``budgets``.  ``blob_sizes`` adds blobs.json files for this system.
    """

    key: str  # e.g. "update_budgets[0].from"
    form: SystemForm
    files: tuple[FileRef, ...]
    budgets: tuple[str, ...] = ()
    blob_sizes: tuple[FileRef, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class ProductBudget(Budget):
    """``budget_bytes`` is ``max_contents_bytes``."""

    system: SystemSpec

    @property
    def kind(self) -> str:
        return "product"


@dataclass(frozen=True, slots=True, kw_only=True)
class UpdateBudget(Budget):
    """``budget_bytes`` is ``capacity_bytes``, checked against the peak."""

    source: SystemSpec  # "from": what the device runs now
    target: SystemSpec  # "to": what the update installs
    update_package: FileRef | None = None
    download_budget_bytes: int | None = None
    slots: int = 1

    @property
    def kind(self) -> str:
        return "update"


_COMMON = ("name", "creep_budget_bytes", "owner")


def _refs(r: FieldReader, obj: Mapping[str, Any], path: KeyPath, key: str, root: Path) -> Any:
    items = r.strings(obj, path, key, allow_single=True)
    if items is None:
        return None
    return tuple(FileRef(raw=v, path=root / v, key=dotted(p)) for p, v in items)


def _system(
    r: FieldReader,
    obj: Mapping[str, Any],
    path: KeyPath,
    root: Path,
    forms: tuple[SystemForm, ...],
    extra_keys: tuple[str, ...] = (),
) -> SystemSpec | None:
    """Exactly one of ``forms`` must be present in ``obj``."""
    given = [f for f in forms if f in obj]
    if len(given) != 1:
        what = "none" if not given else " and ".join(repr(g) for g in given)
        r.error(path, f"needs exactly one of {', '.join(repr(f) for f in forms)}; got {what}")
        return None
    form = given[0]
    if form == "packages":
        files = _refs(r, obj, path, "packages", root)
        if files is not None and not files:
            r.error((*path, "packages"), "must name at least one package manifest or directory")
            return None
    else:
        value = r.string(obj, path, form)
        if value is not None and not value:
            r.error((*path, form), "must not be empty")
            value = None
        files = None
        if value is not None:
            files = (FileRef(raw=value, path=root / value, key=dotted((*path, form))),)
    budgets: tuple[str, ...] = ()
    if "budgets" in extra_keys and "budgets" in obj:
        if form != "report":
            r.error((*path, "budgets"), "only applies to a 'report'")
        names = r.strings(obj, path, "budgets")
        budgets = tuple(v for _, v in names or ())
    blob_sizes: tuple[FileRef, ...] = ()
    if "blob_sizes" in extra_keys:
        blob_sizes = _refs(r, obj, path, "blob_sizes", root) or ()
    if files is None:
        return None
    return SystemSpec(
        key=dotted(path), form=form, files=files, budgets=budgets, blob_sizes=blob_sizes
    )


def parse_product(
    r: FieldReader, entry: Mapping[str, Any], path: KeyPath, root: Path
) -> Budget | None:
    forms: tuple[SystemForm, ...] = ("packages", "images_manifest")
    if r.object(entry, path, (*_COMMON, "max_contents_bytes", *forms)) is None:
        return None
    common = common_fields(r, entry, path, "max_contents_bytes")
    system = _system(r, entry, path, root, forms)
    if common is None or system is None:
        return None
    return ProductBudget(**common, system=system)


_SIDE_KEYS = (*SYSTEM_FORMS, "budgets", "blob_sizes")


def parse_update(
    r: FieldReader, entry: Mapping[str, Any], path: KeyPath, root: Path
) -> Budget | None:
    known = (
        *_COMMON,
        "capacity_bytes",
        "download_budget_bytes",
        "slots",
        "from",
        "to",
        "update_package",
    )
    if r.object(entry, path, known) is None:
        return None
    common = common_fields(r, entry, path, "capacity_bytes")
    download = r.size(entry, path, "download_budget_bytes")
    slots = 1
    if "slots" in entry:
        raw = entry["slots"]
        if isinstance(raw, bool) or not isinstance(raw, int) or raw < 1:
            r.error((*path, "slots"), f"expected a positive integer (1, or 2 for A/B), got {raw!r}")
        else:
            slots = raw
    sides: list[SystemSpec | None] = []
    for side in ("from", "to"):
        if side not in entry:
            r.error(path, f"missing required key {side!r}")
            sides.append(None)
            continue
        obj = r.object(entry[side], (*path, side), _SIDE_KEYS)
        sides.append(
            None
            if obj is None
            else _system(r, obj, (*path, side), root, SYSTEM_FORMS, ("budgets", "blob_sizes"))
        )
    update_package = None
    raw_up = r.string(entry, path, "update_package")
    if raw_up:
        update_package = FileRef(
            raw=raw_up, path=root / raw_up, key=dotted((*path, "update_package"))
        )
    elif raw_up is not None:
        r.error((*path, "update_package"), "must not be empty")
    source, target = sides
    if common is None or source is None or target is None:
        return None
    return UpdateBudget(
        **common,
        source=source,
        target=target,
        update_package=update_package,
        download_budget_bytes=download,
        slots=slots,
    )
