"""Budget file -> ``BudgetFile``: every problem found is reported at once, with positions.

Accepted: Fuchsia's ``ffx assembly size-check package`` budget JSON of every version
(the V0 top-level list, ``merge``, ``resource_budgets``, ``total_budget_bytes``), plus
this plugin's top-level keys.  Unknown keys are errors: a typo must not silently turn
a budget off.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, cast

from pytest_sizebudget.errors import BudgetFileError

from .fields import FieldReader, KeyPath, common_fields, dotted
from .image_budget import parse_image_budget
from .json5_source import Json5Document, load_json5
from .model import (
    LAYOUTS,
    SHARING_MODES,
    Budget,
    BudgetFile,
    FileRef,
    Layout,
    PackageSetBudget,
    ResourceBudget,
    Sharing,
    TotalBudget,
)
from .product_budget import parse_product, parse_update

BudgetParser = Callable[[FieldReader, Mapping[str, Any], KeyPath, Path], Budget | None]

_COMMON = ("name", "budget_bytes", "creep_budget_bytes", "owner")


def _package_set(
    r: FieldReader, entry: Mapping[str, Any], path: KeyPath, root: Path
) -> Budget | None:
    if r.object(entry, path, (*_COMMON, "packages", "merge")) is None:
        return None
    common = common_fields(r, entry, path)
    packages = r.strings(entry, path, "packages", required=True)
    merge = r.boolean(entry, path, "merge")
    if common is None or packages is None:
        return None
    refs = tuple(FileRef(raw=v, path=root / v, key=dotted(p)) for p, v in packages)
    return PackageSetBudget(**common, packages=refs, merge=bool(merge))


def _resource(r: FieldReader, entry: Mapping[str, Any], path: KeyPath, root: Path) -> Budget | None:
    if r.object(entry, path, (*_COMMON, "paths")) is None:
        return None
    common = common_fields(r, entry, path)
    paths = r.strings(entry, path, "paths", required=True)
    if paths is not None and not paths:
        r.error((*path, "paths"), "must name at least one in-package path")
        return None
    if common is None or paths is None:
        return None
    return ResourceBudget(**common, paths=tuple(v for _, v in paths))


# Budget kinds by their top-level key, in the order their items are collected.
BUDGET_KINDS: dict[str, BudgetParser] = {
    "package_set_budgets": _package_set,
    "resource_budgets": _resource,
    "product_budgets": parse_product,
    "update_budgets": parse_update,
    "image_budgets": parse_image_budget,
}

_SETTINGS = ("blob_sizes", "sharing", "blobfs_layout", "root", "include_subpackages")


def load_budget_file(
    path: Path, *, display: str | None = None, root_override: Path | None = None
) -> BudgetFile:
    """Read and validate a budget file; raises ``BudgetFileError(s)`` naming every problem."""
    path = path.absolute()
    return parse_budget_document(
        load_json5(path, display), display=display, root_override=root_override
    )


def parse_budget_document(
    doc: Json5Document, *, display: str | None = None, root_override: Path | None = None
) -> BudgetFile:
    r = FieldReader(doc)
    value = doc.value
    if isinstance(value, list):
        # V0 of ffx's format: a bare list of package-set budgets.
        value = {"package_set_budgets": value}
        r.doc = Json5Document(doc.path, value, _wrap_positions(doc), doc.display)
    top = r.object(value, (), (*BUDGET_KINDS, "total_budget_bytes", *_SETTINGS))
    if top is None:
        r.raise_if_errors()
        raise AssertionError("unreachable")  # pragma: no cover

    base = doc.path.parent
    root_raw = r.string(top, (), "root")
    root = root_override or (base / root_raw if root_raw else base)
    sharing = r.string(top, (), "sharing", choices=SHARING_MODES) or "global"
    layout = r.string(top, (), "blobfs_layout", choices=LAYOUTS) or "compact"
    subpackages = r.boolean(top, (), "include_subpackages")
    blob_sizes = r.strings(top, (), "blob_sizes", allow_single=True) or []

    budgets: list[Budget] = []
    entries = 0
    for key, parser in BUDGET_KINDS.items():
        for entry_path, entry in r.list_of(top, (), key) or []:
            entries += 1
            budget = parser(r, entry, entry_path, root)
            if budget is None:
                continue
            clash = next((b for b in budgets if b.name == budget.name), None)
            if clash is not None:
                r.error(
                    (*entry_path, "name"),
                    f"budget name {budget.name!r} is already used by {clash.key} on line "
                    f"{clash.line}; names must be unique because reports are keyed by them",
                )
            budgets.append(budget)
    if not entries:
        # As ffx does: a file that checks nothing is a mistake, not a pass.
        kinds = list(BUDGET_KINDS)
        listed = f"{', '.join(kinds[:-1])} and {kinds[-1]}" if len(kinds) > 1 else kinds[0]
        r.error((), f"no budgets: {listed} are missing or empty")

    total = None
    total_bytes = r.size(top, (), "total_budget_bytes")
    if total_bytes is not None:
        total = TotalBudget(total_bytes=total_bytes, line=r.line(("total_budget_bytes",)))

    r.raise_if_errors()
    return BudgetFile(
        path=doc.path,
        display=display or str(doc.path),
        root=root,
        sharing=cast(Sharing, sharing),
        blobfs_layout=cast(Layout, layout),
        include_subpackages=bool(subpackages),
        blob_sizes=tuple(FileRef(raw=v, path=root / v, key=dotted(p)) for p, v in blob_sizes),
        budgets=tuple(budgets),
        total=total,
    )


def _wrap_positions(doc: Json5Document) -> Any:
    from .json5_source import Position

    top = Position(doc.positions.line, doc.positions.column)
    top.children["package_set_budgets"] = doc.positions
    return top


__all__ = ["BUDGET_KINDS", "BudgetFileError", "load_budget_file", "parse_budget_document"]
