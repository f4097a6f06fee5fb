"""The ``packages`` list of a package-set budget: paths, and objects for what a path alone
cannot say.

- ``"path"``: a package manifest or a directory (links read as the budget's ``symlinks``).
- ``{path, symlinks}``: a directory with its own symlink policy.
- ``{buildhistory, image, pkgdata, packages, baseline}``: Yocto packages (``packages/yocto.py``).

A list of plain strings (every large Fuchsia file) takes ``FieldReader.file_refs``'s fast
path untouched; objects are read here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from pytest_sizebudget.budget.fields import FieldReader, KeyPath, dotted
from pytest_sizebudget.budget.model import FileRef
from pytest_sizebudget.errors import kind_of
from pytest_sizebudget.packages.model import Package
from pytest_sizebudget.packages.rootfs_walk import SYMLINK_POLICIES, SymlinkPolicy

if TYPE_CHECKING:  # Yocto's reader is imported by the budgets that have Yocto packages
    from pytest_sizebudget.packages.yocto import YoctoReader, YoctoSelection

_DIRECTORY_KEYS = ("path", "symlinks")
_YOCTO_KEYS = ("buildhistory", "image", "pkgdata", "packages", "baseline")


@dataclass(frozen=True, slots=True)
class PackageEntries:
    refs: tuple[FileRef, ...]
    policies: tuple[tuple[int, SymlinkPolicy], ...]  # index in refs -> its own policy
    yocto: tuple[YoctoSelection, ...]


def parse_packages(
    r: FieldReader, entry: Mapping[str, Any], path: KeyPath, root: Path
) -> PackageEntries | None:
    value = entry.get("packages")
    # The types in the list, found at C speed: a file names hundreds of thousands of paths.
    kinds = set(map(type, value)) if isinstance(value, list) else set()
    if not isinstance(value, list) or not any(issubclass(k, dict) for k in kinds):
        plain = r.file_refs(entry, path, "packages", root, required=True)
        return None if plain is None else PackageEntries(plain, (), ())
    refs: list[FileRef] = []
    policies: list[tuple[int, SymlinkPolicy]] = []
    yocto: list[YoctoSelection] = []
    ok = True
    for i, item in enumerate(value):
        where: KeyPath = (*path, "packages", i)
        if isinstance(item, str) and item:
            refs.append(FileRef(item, root, (*path, "packages"), i))
        elif isinstance(item, dict) and "path" in item:
            if r.object(item, where, _DIRECTORY_KEYS) is None:
                ok = False
                continue
            raw = r.string(item, where, "path", required=True)
            policy = r.string(item, where, "symlinks", choices=SYMLINK_POLICIES)
            if not raw:
                if raw == "":
                    r.error((*where, "path"), "must not be empty")
                ok = False
                continue
            if policy is not None:
                policies.append((len(refs), cast(SymlinkPolicy, policy)))
            refs.append(FileRef(raw, root, (*where, "path")))
        elif isinstance(item, dict):
            sel = _yocto(r, item, where, root)
            if sel is None:
                ok = False
            else:
                yocto.append(sel)
        else:
            r.error(where, f"expected a non-empty string or an object, got {kind_of(item)}")
            ok = False
    return PackageEntries(tuple(refs), tuple(policies), tuple(yocto)) if ok else None


def _yocto(
    r: FieldReader, item: Mapping[str, Any], where: KeyPath, root: Path
) -> YoctoSelection | None:
    if r.object(item, where, _YOCTO_KEYS) is None:
        return None
    history = r.string(item, where, "buildhistory")
    image = r.string(item, where, "image")
    pkgdata = r.string(item, where, "pkgdata")
    baseline = r.string(item, where, "baseline")
    names = r.strings(item, where, "packages")
    ok = True
    if not history and not pkgdata:
        r.error(
            where,
            "needs 'buildhistory' (a buildhistory tree) or 'pkgdata' (a pkgdata "
            "directory), or an unknown key was meant to be 'path'",
        )
        ok = False
    if image is not None and not history:
        r.error((*where, "image"), "an image is read from a buildhistory tree: add 'buildhistory'")
        ok = False
    if baseline is not None and not history:
        r.error(
            (*where, "baseline"), "a baseline is an earlier buildhistory tree: add 'buildhistory'"
        )
        ok = False
    if names is not None and not names:
        r.error(
            (*where, "packages"), "must name at least one package or glob (or leave it out: all)"
        )
        ok = False
    if not ok:
        return None
    from pytest_sizebudget.packages.yocto import YoctoSelection

    return YoctoSelection(
        key=dotted(where),
        buildhistory=root / history if history else None,
        image=image,
        pkgdata=root / pkgdata if pkgdata else None,
        names=tuple(v for _, v in names) if names else ("*",),
        baseline=root / baseline if baseline else None,
    )


# -- evaluation ------------------------------------------------------------------------

# Files listed per budget in its details: enough to find the culprits, bounded for reports.
LARGEST_FILES = 50


@dataclass(frozen=True, slots=True)
class LoadedSet:
    packages: list[Package]
    uncounted: tuple[tuple[str, str, str], ...]  # (package, path, why)
    largest_files: tuple[tuple[str, str, int], ...]  # (package, path, bytes)
    rounded: tuple[str, ...]  # Yocto packages only known in whole KiB


def load_set(
    load: Callable[[FileRef, SymlinkPolicy], Package],
    reader: YoctoReader,
    refs: Sequence[FileRef],
    default_policy: SymlinkPolicy,
    policies: Sequence[tuple[int, SymlinkPolicy]],
    yocto: Sequence[YoctoSelection],
    *,
    baseline: bool = False,
) -> LoadedSet:
    """A set's packages: paths through the loader, Yocto packages through the reader.
    With ``baseline``, selections that name a baseline tree are read from it."""
    own = dict(policies)
    packages = [load(ref, own.get(i, default_policy)) for i, ref in enumerate(refs)]
    files: list[tuple[str, str, int]] = []
    rounded: list[str] = []
    if yocto:
        from pytest_sizebudget.packages.yocto import as_package
    for sel in yocto:
        for p in reader.read(sel, baseline=baseline and sel.baseline is not None):
            packages.append(as_package(p, p.source))
            files.extend((p.name, path, size) for path, size in p.files)
            if not p.exact:
                rounded.append(p.name)
    files.sort(key=lambda f: (-f[2], f[1], f[0]))
    uncounted = tuple((p.name, path, why) for p in packages for path, why in p.uncounted)
    return LoadedSet(packages, uncounted, tuple(files[:LARGEST_FILES]), tuple(sorted(rounded)))
