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

from pytest_sizebudget.budget.limits import MAX_DEPTH, MAX_INTEGER_DIGITS, first_problem
from pytest_sizebudget.budget.positions import dotted
from pytest_sizebudget.errors import InputError

from .model import MERKLE, BlobEntry, Package

_MAX_STRING = 1 << 20  # paths and names; only a runaway is refused
_HOSTILE = (
    f"not readable as JSON within the limits (objects and lists nested at most {MAX_DEPTH} "
    f"levels deep, integers of at most {MAX_INTEGER_DIGITS} digits)"
)


def _fail(path: Path, key: str, message: str) -> InputError:
    return InputError(f"{path}: {key + ': ' if key else ''}{message}")


def _read_json(path: Path) -> Any:
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except FileNotFoundError:
        raise InputError(f"{path}: file does not exist") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a directory, expected a JSON file") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text (byte offset {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}:{exc.lineno}:{exc.colno}: invalid JSON: {exc.msg}") from None
    except (RecursionError, ValueError):
        # Nesting deeper than json's scanner goes, or an integer of more than 4300 digits.
        raise InputError(f"{path}: {_HOSTILE}") from None
    # Manifests and blobs.json are written by tools, but a lone surrogate in a path
    # would crash writing the reports, and deep nesting the code that prints values.
    problem = first_problem(data, max_string=_MAX_STRING)
    if problem is not None:
        where, message = problem
        raise InputError(f"{path}: {dotted(where) + ': ' if where else ''}{message}")
    return data


def load_manifest(
    path: Path, *, working_dir: Path, include_subpackages: bool = False, display: str | None = None
) -> Package:
    """Read a package manifest; ``working_dir`` resolves ``source_path`` by default."""
    blobs: list[BlobEntry] = []
    name = _load_into(path, working_dir, include_subpackages, blobs, prefix="", seen=set())
    return Package(name=name, origin=display or str(path), kind="manifest", blobs=tuple(blobs))


def _load_into(
    path: Path,
    working_dir: Path,
    include_subpackages: bool,
    blobs: list[BlobEntry],
    prefix: str,
    seen: set[Path],
) -> str:
    data = _read_json(path)
    if not isinstance(data, dict):
        raise _fail(path, "", "a package manifest must be a JSON object")
    version = data.get("version")
    if version != "1":
        shown = json.dumps(version) if version is not None else "missing"
        raise _fail(path, "version", f'unsupported manifest version {shown}; expected "1"')
    package = data.get("package")
    if not isinstance(package, Mapping) or not isinstance(package.get("name"), str):
        raise _fail(path, "package.name", "missing or not a string")
    relative = data.get("blob_sources_relative", "working_dir")
    if relative not in ("working_dir", "file"):
        raise _fail(
            path, "blob_sources_relative", f'must be "working_dir" or "file", got {relative!r}'
        )
    base = path.parent if relative == "file" else working_dir
    raw_blobs = data.get("blobs")
    if not isinstance(raw_blobs, list):
        raise _fail(path, "blobs", "missing or not a list")
    for i, blob in enumerate(raw_blobs):
        blobs.append(_blob(path, i, blob, base, prefix))
    if include_subpackages:
        for i, sub in enumerate(data.get("subpackages") or []):
            key = f"subpackages[{i}]"
            if not isinstance(sub, Mapping):
                raise _fail(path, key, "expected an object")
            sub_path, sub_name = sub.get("manifest_path"), sub.get("name")
            if not isinstance(sub_path, str) or not isinstance(sub_name, str):
                raise _fail(path, key, "needs string keys 'manifest_path' and 'name'")
            resolved = (base / sub_path).resolve()
            if resolved in seen:  # a subpackage reached twice is stored once
                continue
            seen.add(resolved)
            _load_into(
                resolved, working_dir, include_subpackages, blobs, f"{prefix}{sub_name}/", seen
            )
    return str(package["name"])


def _blob(path: Path, i: int, blob: object, base: Path, prefix: str) -> BlobEntry:
    key = f"blobs[{i}]"
    if not isinstance(blob, Mapping):
        raise _fail(path, key, "expected an object")
    merkle = blob.get("merkle")
    if not isinstance(merkle, str) or not MERKLE.fullmatch(merkle):
        raise _fail(path, f"{key}.merkle", f"expected 64 lowercase hex digits, got {merkle!r}")
    in_pkg = blob.get("path")
    if not isinstance(in_pkg, str) or not in_pkg:
        raise _fail(path, f"{key}.path", f"expected a non-empty string, got {in_pkg!r}")
    source = blob.get("source_path")
    if source is not None and not isinstance(source, str):
        raise _fail(path, f"{key}.source_path", f"expected a string, got {source!r}")
    size = blob.get("size")
    if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 0):
        raise _fail(path, f"{key}.size", f"expected a non-negative integer, got {size!r}")
    return BlobEntry(
        merkle=merkle,
        path=prefix + in_pkg,
        source=base / source if source else None,
        size=size,
    )
