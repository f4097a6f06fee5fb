"""Fuchsia ``package_manifest.json`` (version "1") reading.

Only the top-level ``blobs`` are read, as ``ffx assembly size-check`` does, unless
subpackages are asked for; then each subpackage's blobs are added once per package,
with their in-package paths prefixed by the subpackage name.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pytest_sizebudget.errors import InputError, kind_of
from pytest_sizebudget.input_json import PREVIEW_CHARS, preview, read_json
from pytest_sizebudget.paths import check_path, printable

from .model import MERKLE, BlobEntry, Package


def _fail(shown: str, key: str, message: str) -> InputError:
    return InputError(f"{printable(shown)}: {key + ': ' if key else ''}{message}")


def _read_json(path: Path, shown: str | None = None) -> Any:
    """The JSON of an input file; every problem (what the path is, encoding, syntax,
    nesting) is an ``InputError`` naming the file as ``shown``."""
    return read_json(path, shown or str(path))


def load_manifest(
    path: Path, *, working_dir: Path, include_subpackages: bool = False, display: str | None = None
) -> Package:
    """Read a package manifest; ``working_dir`` resolves ``source_path`` by default.

    Errors name the manifest as ``display`` (default: ``path``), and a subpackage's
    manifest by the key and the path its parent gives for it.
    """
    shown = display or str(path)
    blobs: list[BlobEntry] = []
    name = _load_into(path, shown, working_dir, include_subpackages, blobs, prefix="", seen=set())
    return Package(name=name, origin=shown, kind="manifest", blobs=tuple(blobs))


def _load_into(
    path: Path,
    shown: str,
    working_dir: Path,
    include_subpackages: bool,
    blobs: list[BlobEntry],
    prefix: str,
    seen: set[Path],
) -> str:
    data = _read_json(path, shown)
    if not isinstance(data, dict):
        raise _fail(shown, "", f"a package manifest must be a JSON object, got {kind_of(data)}")
    version = data.get("version")
    if version != "1":
        got = "missing" if version is None else preview(version)
        if isinstance(version, str) and len(version) < PREVIEW_CHARS:
            got = json.dumps(version)  # as the manifest writes it
        raise _fail(shown, "version", f'unsupported manifest version {got}; expected "1"')
    package = data.get("package")
    if not isinstance(package, Mapping) or not isinstance(package.get("name"), str):
        raise _fail(shown, "package.name", "missing or not a string")
    relative = data.get("blob_sources_relative", "working_dir")
    if relative not in ("working_dir", "file"):
        raise _fail(
            shown,
            "blob_sources_relative",
            f'must be "working_dir" or "file", got {preview(relative)}',
        )
    base = path.parent if relative == "file" else working_dir
    raw_blobs = data.get("blobs")
    if not isinstance(raw_blobs, list):
        raise _fail(shown, "blobs", "missing or not a list")
    for i, blob in enumerate(raw_blobs):
        blobs.append(_blob(shown, i, blob, base, prefix))
    if include_subpackages:
        subpackages = data.get("subpackages") or []
        if not isinstance(subpackages, list):
            raise _fail(shown, "subpackages", f"expected a list, got {kind_of(subpackages)}")
        for i, sub in enumerate(subpackages):
            key = f"subpackages[{i}]"
            if not isinstance(sub, Mapping):
                raise _fail(shown, key, f"expected an object, got {kind_of(sub)}")
            sub_path, sub_name = sub.get("manifest_path"), sub.get("name")
            if not isinstance(sub_path, str) or not isinstance(sub_name, str):
                raise _fail(shown, key, "needs string keys 'manifest_path' and 'name'")
            try:
                # What the path is, before resolve(): a symbolic link loop makes
                # resolve() raise RuntimeError, a NUL byte ValueError.
                check_path(base / sub_path, sub_path)
                resolved = (base / sub_path).resolve()
                if resolved in seen:  # a subpackage reached twice is stored once
                    continue
                seen.add(resolved)
                _load_into(
                    resolved,
                    sub_path,
                    working_dir,
                    include_subpackages,
                    blobs,
                    f"{prefix}{sub_name}/",
                    seen,
                )
            except InputError as exc:
                raise _fail(shown, f"{key}.manifest_path", str(exc)) from None
    return str(package["name"])


def _blob(shown: str, i: int, blob: object, base: Path, prefix: str) -> BlobEntry:
    key = f"blobs[{i}]"
    if not isinstance(blob, Mapping):
        raise _fail(shown, key, f"expected an object, got {kind_of(blob)}")
    merkle = blob.get("merkle")
    if not isinstance(merkle, str) or not MERKLE.fullmatch(merkle):
        raise _fail(
            shown, f"{key}.merkle", f"expected 64 lowercase hex digits, got {preview(merkle)}"
        )
    in_pkg = blob.get("path")
    if not isinstance(in_pkg, str) or not in_pkg:
        raise _fail(shown, f"{key}.path", f"expected a non-empty string, got {preview(in_pkg)}")
    source = blob.get("source_path")
    if source is not None and not isinstance(source, str):
        raise _fail(shown, f"{key}.source_path", f"expected a string, got {preview(source)}")
    size = blob.get("size")
    if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 0):
        raise _fail(shown, f"{key}.size", f"expected a non-negative integer, got {preview(size)}")
    return BlobEntry(
        merkle=merkle,
        path=prefix + in_pkg,
        source=base / source if source else None,
        size=size,
    )
