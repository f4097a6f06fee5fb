"""How a budget file names a whole system (a product release): ``SystemSpec`` and its
parser, shared by the product and update budget kinds (pytest-free)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from .fields import FieldReader, KeyPath, dotted
from .model import FileRef

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


def parse_refs(r: FieldReader, obj: Mapping[str, Any], path: KeyPath, key: str, root: Path) -> Any:
    items = r.strings(obj, path, key, allow_single=True)
    if items is None:
        return None
    return tuple(FileRef(raw=v, root=root, where=p) for p, v in items)


def parse_system(
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
        files = parse_refs(r, obj, path, "packages", root)
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
            files = (FileRef(raw=value, root=root, where=(*path, form)),)
    budgets: tuple[str, ...] = ()
    if "budgets" in extra_keys and "budgets" in obj:
        if form != "report":
            r.error((*path, "budgets"), "only applies to a 'report'")
        names = r.strings(obj, path, "budgets")
        budgets = tuple(v for _, v in names or ())
    blob_sizes: tuple[FileRef, ...] = ()
    if "blob_sizes" in extra_keys:
        blob_sizes = parse_refs(r, obj, path, "blob_sizes", root) or ()
    if files is None:
        return None
    return SystemSpec(
        key=dotted(path), form=form, files=files, budgets=budgets, blob_sizes=blob_sizes
    )
