"""Inputs of product and update budgets: the systems being compared (pytest-free).

A system is a set of packages plus any on-disk sizes its source states: a Fuchsia
``images.json`` gives ``used_space_in_blobfs`` per blob, an earlier JSON report of this
plugin gives each blob's ``size``, and a blobs.json may give ``compressed_file_size``.
Stated sizes are checked, never guessed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import InputError, kind_of
from .input_json import preview, read_json
from .packages.model import MERKLE, BlobEntry, Package

# -- systems -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class System:
    """A product release as the accounting sees it."""

    label: str  # how messages name it: "from", "to", "update_package", or a budget's name
    description: str  # what it was read from
    packages: tuple[Package, ...]
    # On-disk sizes the input states itself (images manifest, JSON report), by merkle.
    given: Mapping[str, int] = field(default_factory=dict)
    # An images manifest's ``contents.maximum_contents_size`` (the board's limit), if any.
    maximum_contents_size: int | None = None
    # The blob filesystem the input says its sizes are for ("blobfs", "fxfs"), if it says.
    filesystem: str | None = None

    def merkles(self) -> set[str]:
        return {b.merkle for p in self.packages for b in p.blobs}


def _check_merkle(where: str, merkle: object) -> str:
    if not isinstance(merkle, str) or not MERKLE.fullmatch(merkle):
        raise InputError(f"{where}: expected 64 lowercase hex digits, got {preview(merkle)}")
    return merkle


def _check_size(where: str, size: object) -> int:
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        raise InputError(f"{where}: expected a non-negative integer, got {preview(size)}")
    return size


def _check_string(where: str, value: object) -> str:
    # str() of a deeply nested value would raise RecursionError; a report writes strings.
    if not isinstance(value, str):
        raise InputError(f"{where}: expected a string, got {kind_of(value)}")
    return value


def _give(given: dict[str, int], merkle: str, size: int, where: str) -> None:
    known = given.setdefault(merkle, size)
    if known != size:
        raise InputError(
            f"{where}: blob {merkle} has size {size} here and {known} elsewhere in the same file"
        )


def _read(path: Path, display: str) -> Any:
    """JSON of an input file; errors name it as the reports do."""
    return read_json(path, display)


def load_images_manifest(path: Path, display: str) -> tuple[tuple[Package, ...], dict[str, int]]:
    """Packages and ``used_space_in_blobfs`` of the blobfs/fxfs image of an images.json."""
    packages, given, _, _ = load_images_contents(path, display)
    return packages, given


def image_filesystem(image: Mapping[str, Any]) -> str | None:
    """Which blob filesystem an image entry is, where its ``type`` and ``name`` say so.

    BlobFS is ``type: "blk", name: "blob"``; sparse Fxfs ``name: "fxfs.fastboot"``; the
    raw Fxfs image (and the older Fxfs variant that carried contents) ``type: "fxfs-blk"``
    (reference fuchsia_current.md §2.2).
    """
    kind, name = image.get("type"), image.get("name")
    if kind == "fxfs-blk" or name == "fxfs.fastboot":
        return "fxfs"
    if kind == "blk" and name == "blob":
        return "blobfs"
    return None


def load_images_contents(
    path: Path, display: str
) -> tuple[tuple[Package, ...], dict[str, int], int | None, str | None]:
    """Packages, ``used_space_in_blobfs``, ``maximum_contents_size`` and the filesystem of
    the blob image of an images.json.

    Accepts the older top-level list of images and the ``AssembledSystem`` object that
    holds them under ``images``.  The first image whose ``contents`` has ``packages`` is
    read (blobfs, fxfs or sparse fxfs; the others hold no packages); its filesystem is
    ``image_filesystem``'s answer (``None`` when the entry does not say).
    """
    data = _read(path, display)
    images = data.get("images") if isinstance(data, dict) else data
    if not isinstance(images, list):
        raise InputError(
            f"{display}: an images manifest must be a list of images or an object with an "
            "'images' list (AssembledSystem)"
        )
    chosen = None
    for i, image in enumerate(images):
        contents = image.get("contents") if isinstance(image, dict) else None
        if isinstance(contents, dict) and isinstance(contents.get("packages"), dict):
            chosen = (i, contents["packages"])
            break
    if chosen is None:
        raise InputError(
            f"{display}: no blobfs or fxfs image with contents.packages among its "
            f"{len(images)} image(s)"
        )
    index, groups = chosen
    maximum = images[index]["contents"].get("maximum_contents_size")
    if maximum is not None:
        maximum = _check_size(f"{display}: images[{index}].contents.maximum_contents_size", maximum)
    filesystem = image_filesystem(images[index])
    packages: list[Package] = []
    given: dict[str, int] = {}
    for group in ("base", "cache"):
        listed = groups.get(group, [])
        gkey = f"images[{index}].contents.packages.{group}"
        if not isinstance(listed, list):
            raise InputError(f"{display}: {gkey}: expected a list")
        for j, pkg in enumerate(listed):
            pkey = f"{display}: {gkey}[{j}]"
            if not isinstance(pkg, dict) or not isinstance(pkg.get("name"), str):
                raise InputError(f"{pkey}: expected an object with a string 'name'")
            blobs = pkg.get("blobs")
            if not isinstance(blobs, list):
                raise InputError(f"{pkey}.blobs: missing or not a list")
            entries = []
            for k, blob in enumerate(blobs):
                bkey = f"{pkey}.blobs[{k}]"
                if not isinstance(blob, dict):
                    raise InputError(f"{bkey}: expected an object")
                merkle = _check_merkle(f"{bkey}.merkle", blob.get("merkle"))
                size = _check_size(f"{bkey}.used_space_in_blobfs", blob.get("used_space_in_blobfs"))
                in_pkg = blob.get("path")
                if not isinstance(in_pkg, str) or not in_pkg:
                    raise InputError(f"{bkey}.path: expected a non-empty string")
                _give(given, merkle, size, bkey)
                entries.append(BlobEntry(merkle=merkle, path=in_pkg))
            manifest = pkg.get("manifest")
            origin = manifest if isinstance(manifest, str) else f"{display} ({group})"
            packages.append(Package(pkg["name"], origin, "images_manifest", tuple(entries)))
    return tuple(packages), given, maximum, filesystem


def load_report(
    path: Path, display: str, names: Sequence[str]
) -> tuple[tuple[Package, ...], dict[str, int]]:
    """Packages and on-disk sizes recorded in a JSON report of this plugin.

    Without ``names``, every budget except update budgets is read; a package listed by
    several budgets is one package (its blobs are merged by path and merkle).
    """
    data = _read(path, display)
    budgets = data.get("budgets") if isinstance(data, dict) else None
    if not isinstance(budgets, list) or not all(isinstance(b, dict) for b in budgets):
        raise InputError(f"{display}: not a pytest-sizebudget JSON report (no 'budgets' list)")
    if names:
        by_name = {b.get("name"): b for b in budgets}
        unknown = [n for n in names if n not in by_name]
        if unknown:
            have = ", ".join(repr(n) for n in sorted(str(k) for k in by_name)) or "none"
            raise InputError(
                f"{display}: no budget named {', '.join(repr(n) for n in unknown)} "
                f"in the report (it has: {have})"
            )
        chosen = [by_name[n] for n in names]
    else:
        chosen = [b for b in budgets if b.get("kind") != "update"]
    merged: dict[tuple[str, str], dict[tuple[str, str], BlobEntry]] = {}
    given: dict[str, int] = {}
    for b in chosen:
        bname = b.get("name")
        packages = b.get("packages")
        if not isinstance(packages, list):
            raise InputError(f"{display}: budget {bname!r}: 'packages' missing or not a list")
        for i, p in enumerate(packages):
            pkey = f"{display}: budget {bname!r} packages[{i}]"
            if not isinstance(p, dict) or not isinstance(p.get("blobs"), list):
                raise InputError(f"{pkey}: expected an object with a 'blobs' list")
            name = _check_string(f"{pkey}.name", p.get("name"))
            origin = _check_string(f"{pkey}.manifest", p.get("manifest"))
            blobs = merged.setdefault((name, origin), {})
            for k, blob in enumerate(p["blobs"]):
                bkey = f"{pkey}.blobs[{k}]"
                if not isinstance(blob, dict):
                    raise InputError(f"{bkey}: expected an object")
                merkle = _check_merkle(f"{bkey}.merkle", blob.get("merkle"))
                size = blob.get("size")
                if size is None:
                    raise InputError(
                        f"{bkey}: blob {merkle} has no size: that run could not size it, so "
                        "the report cannot stand for the system"
                    )
                _give(given, merkle, _check_size(f"{bkey}.size", size), bkey)
                in_pkg = _check_string(f"{bkey}.path", blob.get("path"))
                blobs.setdefault((in_pkg, merkle), BlobEntry(merkle=merkle, path=in_pkg))
    if not merged:
        raise InputError(f"{display}: the report lists no packages to read a system from")
    packages_out = tuple(
        Package(name, origin, "report", tuple(blobs.values()))
        for (name, origin), blobs in merged.items()
    )
    return packages_out, given


def load_compressed_sizes(path: Path, display: str) -> dict[str, int]:
    """``compressed_file_size`` by merkle from a blobs.json (the stored data size)."""
    data = _read(path, display)
    out: dict[str, int] = {}
    if not isinstance(data, list):
        return out  # load_blobs_json reports the shape error
    for i, entry in enumerate(data):
        if isinstance(entry, dict) and "compressed_file_size" in entry:
            merkle = _check_merkle(f"{display}: [{i}].merkle", entry.get("merkle"))
            size = _check_size(
                f"{display}: [{i}].compressed_file_size", entry["compressed_file_size"]
            )
            _give(out, merkle, size, f"{display}: [{i}]")
    return out
