"""Fuchsia ``package_manifest.json`` (version "1") reading.

Only the top-level ``blobs`` are read, as ``ffx assembly size-check`` does, unless
subpackages are asked for; then each subpackage's blobs are added once per package,
with their in-package paths prefixed by the subpackage name.

A product has about 100 blob instances per manifest and 100,000 in all, read on every
run, warm or cold: the per-blob path is kept short.  Only the values read are checked
(types, merkle, and the strings that reach reports), not every value of the file, and a
blob's host path stays the string the manifest gives, joined to its base: a ``Path``
per instance would cost more than reading the manifest (see ``BlobEntry.source``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pytest_sizebudget.budget.limits import string_problem
from pytest_sizebudget.errors import InputError, kind_of
from pytest_sizebudget.input_json import MAX_INPUT_STRING, PREVIEW_CHARS, preview, read_json
from pytest_sizebudget.paths import check_path, printable
from pytest_sizebudget.units import MAX_SIZE

from .model import MERKLE, BlobEntry, Package

_POSIX = os.sep == "/" and os.altsep is None


def _fail(shown: str, key: str, message: str) -> InputError:
    return InputError(f"{printable(shown)}: {key + ': ' if key else ''}{message}")


def _read_json(path: Path, shown: str | None = None) -> Any:
    """The JSON of an input file; every problem (what the path is, encoding, syntax,
    nesting) is an ``InputError`` naming the file as ``shown``.  Values are checked
    where they are read (``_text``), not all of them here."""
    return read_json(path, shown or str(path), check_values=False)


def load_manifest(
    path: Path,
    *,
    working_dir: Path,
    include_subpackages: bool = False,
    display: str | None = None,
) -> Package:
    """Read a package manifest; ``working_dir`` resolves ``source_path`` by default.

    Errors name the manifest as ``display`` (default: ``path``), and a subpackage's
    manifest by the key and the path its parent gives for it.
    """
    shown = display or str(path)
    blobs: list[BlobEntry] = []
    name = _load_into(
        path,
        shown,
        working_dir,
        include_subpackages,
        blobs,
        prefix="",
        seen=set(),
    )
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
    _text(shown, "package.name", package["name"])
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
    blobs.extend(_blobs(shown, raw_blobs, base, prefix))
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
                    f"{prefix}{_text(shown, f'{key}.name', sub_name)}/",
                    seen,
                )
            except InputError as exc:
                raise _fail(shown, f"{key}.manifest_path", str(exc)) from None
    return str(package["name"])


def _text(shown: str, key: str, value: str) -> str:
    """A string that reaches the reports: no lone surrogate, no runaway length."""
    if len(value) > MAX_INPUT_STRING or not value.isascii():
        problem = string_problem(value, MAX_INPUT_STRING)
        if problem is not None:
            raise _fail(shown, key, problem)
    return value


def _blobs(shown: str, raw_blobs: list[Any], base: Path, prefix: str) -> list[BlobEntry]:
    valid = MERKLE.fullmatch
    root = os.path.join(base, "")  # ends in a separator
    out: list[BlobEntry] = []
    add = out.append
    for i, blob in enumerate(raw_blobs):
        # The common case in one test per value; anything else goes to _blob, which
        # names what is wrong.
        if type(blob) is dict:
            merkle = blob.get("merkle")
            in_pkg = blob.get("path")
            source = blob.get("source_path")
            size = blob.get("size")
            if (
                type(merkle) is str
                and valid(merkle)
                and type(in_pkg) is str
                and in_pkg
                and len(in_pkg) <= MAX_INPUT_STRING
                and in_pkg.isascii()
                and (size is None or (type(size) is int and 0 <= size <= MAX_SIZE))
            ):
                if source is None or source == "":
                    add(BlobEntry(merkle, prefix + in_pkg, None, size))
                    continue
                if type(source) is str and len(source) <= MAX_INPUT_STRING and source.isascii():
                    if _POSIX and source[0] != "/":
                        host = root + source  # os.path.join, without its call
                    else:
                        host = os.path.join(base, source)
                    add(BlobEntry(merkle, prefix + in_pkg, host, size))
                    continue
        add(_blob(shown, i, blob, base, prefix))
    return out


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
    _text(shown, f"{key}.path", in_pkg)
    source = blob.get("source_path")
    if source is not None and not isinstance(source, str):
        raise _fail(shown, f"{key}.source_path", f"expected a string, got {preview(source)}")
    if source is not None:
        _text(shown, f"{key}.source_path", source)
    size = blob.get("size")
    if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 0):
        raise _fail(shown, f"{key}.size", f"expected a non-negative integer, got {preview(size)}")
    if size is not None and size > MAX_SIZE:
        raise _fail(shown, f"{key}.size", f"{preview(size)} is more than 2**63 - 1 bytes")
    return BlobEntry(
        merkle=merkle,
        path=prefix + in_pkg,
        source=os.path.join(base, source) if source else None,
        size=size,
    )
