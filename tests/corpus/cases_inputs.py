"""Input paths and the files they name: manifests, blobs.json, directory packages, blob
sources, cache contents, images, product inputs, budget files themselves, NUL bytes.

Every case has the good budget file beside it (``GOOD_FILES``), whose budget must still
pass and reach the JSON report.  A case whose input could hang a run that reads it (a
FIFO, /dev/zero) runs in a child process with a timeout.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pytest_sizebudget.measure.blob import measure_file
from pytest_sizebudget.measure.cache import BlobCache
from pytest_sizebudget.measure.merkle import merkle_root
from pytest_sizebudget.measure.sizer import PackedSizes

from .runner import GOOD_FILES, Case, FileContent, manifest, package_set_file

ROOT_READS_ALL = pytest.mark.skipif(
    hasattr(os, "geteuid") and os.geteuid() == 0, reason="root reads files whatever their mode"
)
M = "0" * 64
SET = "package_set_budgets[0].packages[0]"
BLOB = b"a blob of forty bytes, give or take one."
BLOB_MERKLE = merkle_root(BLOB)


def pat(text: str) -> str:
    """``text`` as an fnmatch pattern: literal but for ``*`` (an absolute path, a number)."""
    return "".join(f"[{c}]" if c in "[]?" else c for c in text)


def literal(text: str) -> str:
    """The longest part of ``text`` without a ``*``: what the JSON report must contain."""
    return max(text.split("*"), key=len)


def fifo(path: Path) -> None:
    os.mkfifo(path)


def link(target: str) -> Callable[[Path], None]:
    return lambda path: path.symlink_to(target)


def unix_socket(path: Path) -> None:
    # AF_UNIX names are limited to ~100 bytes, pytester's directories are longer.
    here = os.getcwd()
    os.chdir(path.parent)
    try:
        with socket.socket(socket.AF_UNIX) as s:
            s.bind(path.name)  # the socket file stays after close
    finally:
        os.chdir(here)


def unreadable(content: bytes) -> Callable[[Path], None]:
    def make(path: Path) -> None:
        path.write_bytes(content)
        path.chmod(0)

    return make


def with_blob(name: str = "m", size: int | None = len(BLOB), source: str = "src/b") -> str:
    entry: dict[str, Any] = {"source_path": source, "path": "data/b", "merkle": BLOB_MERKLE}
    if size is not None:
        entry["size"] = size
    return manifest(name, [entry])


def failing(
    id: str,
    files: dict[str, FileContent],
    error: str,
    *,
    packages: tuple[str, ...] = ("bad/m.json",),
    top: dict[str, Any] | None = None,
    **extra: Any,
) -> Case:
    """The package set "set" of bad.sizebudget.json cannot be checked, with ``error`` as the
    whole message line (and in the JSON report); "Good" in good.sizebudget.json5 passes."""
    return Case(
        id=f"inputs-{id}",
        files={
            **GOOD_FILES,
            **files,
            "bad.sizebudget.json": package_set_file(list(packages), **(top or {})),
        },
        outcomes={"passed": 3, "failed": 1},
        lines=("*_ size budget: set _*", "Package set 'set' could not be checked", pat(error)),
        report={"Good": None, "set": literal(error)},
        **extra,
    )


def manifest_case(id: str, content: FileContent, problem: str, **extra: Any) -> Case:
    """``problem`` follows "bad/m.json: ", or "bad/m.json" when it starts with a colon (a
    line and column)."""
    sep = "" if problem.startswith(":") else ": "
    return failing(id, {"bad/m.json": content}, f"{SET}: bad/m.json{sep}{problem}", **extra)


def blobs_json_case(id: str, content: FileContent, problem: str, **extra: Any) -> Case:
    return failing(
        id,
        {"bad/m.json": manifest("m", [{"path": "data/b", "merkle": M}]), "bad/blobs.json": content},
        f"blob_sizes: bad/blobs.json{'' if problem.startswith(':') else ': '}{problem}",
        top={"blob_sizes": ["bad/blobs.json"]},
        **extra,
    )


def directory_case(id: str, files: dict[str, FileContent], problem: str, **extra: Any) -> Case:
    return failing(
        id,
        {"bad/pkg/ok": b"fine", **{f"bad/pkg/{k}": v for k, v in files.items()}},
        f"{SET}: bad/pkg{problem}",
        packages=("bad/pkg",),
        **extra,
    )


def blob_source_case(id: str, source: FileContent | None, problem: str, **extra: Any) -> Case:
    """A manifest blob no blobs.json sizes, so the engine measures src/b."""
    files: dict[str, FileContent] = {"bad/m.json": with_blob()}
    if source is not None:
        files["src/b"] = source
    return failing(
        id,
        files,
        f"  package 'm' (bad/m.json) path 'data/b' merkle {BLOB_MERKLE}: blob *src/b: {problem}",
        **extra,
    )


def blob_source_failing(
    id: str, files: dict[str, FileContent], blob: str, problem: str, **extra: Any
) -> Case:
    """Like ``failing``, for a message that holds an absolute path (matched with *)."""
    return Case(
        id=f"inputs-{id}",
        files={**GOOD_FILES, **files, "bad.sizebudget.json": package_set_file(["bad/m.json"])},
        outcomes={"passed": 3, "failed": 1},
        lines=(
            "Package set 'set' could not be checked",
            f"  package 'm' (bad/m.json) path 'data/b' merkle {BLOB_MERKLE}: blob {blob}: "
            + problem,
        ),
        report={"Good": None, "set": problem},
        **extra,
    )


def warm_cache_of_original_blob(root: Path) -> None:
    """A cache filled by a run on the blob as built; the file on disk then grew."""
    original = root / "original"
    original.write_bytes(BLOB)
    BlobCache(root / "cache", "compact").put(measure_file(original, "compact")[0])
    original.unlink()


def cache_entry_path(root: Path, merkle: str) -> Path:
    return BlobCache(root / "cache", "compact").entry_path(merkle)


def plant_in_cache(make: Callable[[Path], object]) -> Callable[[Path], None]:
    def setup(root: Path) -> None:
        path = cache_entry_path(root, BLOB_MERKLE)
        path.parent.mkdir(parents=True, exist_ok=True)
        make(path)

    return setup


def packed_fifo(root: Path) -> None:
    packed = PackedSizes(BlobCache(root / "cache", "compact")).path
    assert packed is not None
    packed.parent.mkdir(parents=True, exist_ok=True)
    os.mkfifo(packed)


def passing_measured(id: str, setup: Callable[[Path], None], **extra: Any) -> Case:
    """The blob is measured from src/b whatever the cache holds, and fits: 2 files pass."""
    return Case(
        id=f"inputs-{id}",
        files={
            **GOOD_FILES,
            "bad/m.json": with_blob(),
            "src/b": BLOB,
            "bad.sizebudget.json": package_set_file(["bad/m.json"]),
        },
        args=("--sizebudget", "--sizebudget-cache-dir=cache"),
        ret=0,
        outcomes={"passed": 4},
        lines=("blob measurement: 1 blobs measured (0 compressed), 0 cache hits*",),
        report={"Good": None, "set": None},
        setup=setup,
        **extra,
    )


def budget_file_case(id: str, content: FileContent, problem: str, **extra: Any) -> Case:
    """A budget file that is not a regular file: its own 'budget file' item fails."""
    return Case(
        id=f"inputs-{id}",
        files={**GOOD_FILES, "bad.sizebudget.json": content},
        outcomes={"passed": 2, "failed": 1},
        lines=("*_ size budget: budget file _*", pat(f"bad.sizebudget.json: {problem}")),
        report={"Good": None},
        **extra,
    )


def image_case(
    id: str, images: list[str], files: dict[str, FileContent], problem: str, **extra: Any
) -> Case:
    budget = {
        "name": "img",
        "image": images if len(images) > 1 else images[0],
        "budget_bytes": "1 MiB",
    }
    return Case(
        id=f"inputs-{id}",
        files={
            **GOOD_FILES,
            **files,
            "bad.sizebudget.json": json.dumps({"image_budgets": [budget]}),
        },
        outcomes={"passed": 3, "failed": 1},
        lines=("Image budget 'img' could not be checked", pat(problem)),
        report={"Good": None, "img": problem.rpartition(": ")[2]},
        **extra,
    )


def update_case(
    id: str, spec: dict[str, str], files: dict[str, FileContent], problem: str, **extra: Any
) -> Case:
    budget = {
        "name": "ota",
        "capacity_bytes": "1 MiB",
        "from": spec,
        "to": {"packages": ["good/package_manifest.json"]},
    }
    return Case(
        id=f"inputs-{id}",
        files={
            **GOOD_FILES,
            **files,
            "bad.sizebudget.json": json.dumps(
                {"blob_sizes": ["good/blobs.json"], "update_budgets": [budget]}
            ),
        },
        outcomes={"passed": 3, "failed": 1},
        lines=("Update 'ota' could not be checked", pat(problem)),
        report={"Good": None, "ota": problem},
        **extra,
    )


def product_case(
    id: str, fields: dict[str, Any], files: dict[str, FileContent], problem: str, **extra: Any
) -> Case:
    """Product 'prod' of bad.sizebudget.json cannot be checked (a None field is left out)."""
    full = {
        "name": "prod",
        "max_contents_bytes": "1 MiB",
        "packages": ["good/package_manifest.json"],
        **fields,
    }
    budget = {k: v for k, v in full.items() if v is not None}
    return Case(
        id=f"inputs-{id}",
        files={
            **GOOD_FILES,
            **files,
            "bad.sizebudget.json": json.dumps(
                {"blob_sizes": ["good/blobs.json"], "product_budgets": [budget]}
            ),
        },
        outcomes={"passed": 3, "failed": 1},
        lines=("Product 'prod' could not be checked", pat(problem)),
        report={"Good": None, "prod": problem},
        **extra,
    )


def images_json(maximum: object = 100) -> str:
    contents = {"packages": {"base": [], "cache": []}, "maximum_contents_size": maximum}
    return json.dumps([{"type": "blk", "name": "blob", "path": "b", "contents": contents}])


HANGS: dict[str, Any] = {"subprocess": True, "timeout": 60.0}
DEEP = "[" * 100_000 + "]" * 100_000

CASES = [
    # -- package manifests: shape ---------------------------------------------------------
    manifest_case(
        "manifest-version-missing",
        json.dumps({"package": {"name": "m"}, "blobs": []}),
        'version: unsupported manifest version missing; expected "1"',
    ),
    manifest_case(
        "manifest-not-an-object",
        "[]",
        "a package manifest must be a JSON object, got a list",
    ),
    manifest_case(
        "manifest-blobs-not-a-list",
        json.dumps({"version": "1", "package": {"name": "m"}, "blobs": {}}),
        "blobs: missing or not a list",
    ),
    manifest_case(
        "manifest-bad-merkle",
        manifest("m", [{"path": "a", "merkle": "XYZ"}]),
        "blobs[0].merkle: expected 64 lowercase hex digits, got 'XYZ'",
    ),
    manifest_case(
        "manifest-merkle-is-a-list",
        manifest("m", [{"path": "a", "merkle": [[[M]]]}]),
        "blobs[0].merkle: expected 64 lowercase hex digits, got a list of 1 item",
    ),
    manifest_case(
        "manifest-size-a-string",
        manifest("m", [{"path": "a", "merkle": M, "size": "9"}]),
        "blobs[0].size: expected a non-negative integer, got '9'",
    ),
    manifest_case(
        "manifest-size-negative",
        manifest("m", [{"path": "a", "merkle": M, "size": -1}]),
        "blobs[0].size: expected a non-negative integer, got -1",
    ),
    manifest_case(
        "manifest-size-beyond-2-63",
        manifest("m", [{"path": "a", "merkle": M, "size": 2**64}]),
        "blobs[0].size: 18446744073709551616 is more than 2**63 - 1 bytes",
    ),
    manifest_case(
        "manifest-path-lone-surrogate",
        manifest("m", [{"path": "a\ud800", "merkle": M}]),
        "blobs[0].path: the string has a lone surrogate \\ud800 at character 2, "
        "which is not a Unicode character",
    ),
    manifest_case(
        "manifest-source-lone-surrogate",
        manifest("m", [{"path": "a", "merkle": M, "source_path": "b\udc00"}]),
        "blobs[0].source_path: the string has a lone surrogate \\udc00 at character 2, "
        "which is not a Unicode character",
    ),
    manifest_case(
        "manifest-invalid-json",
        '{"version": "1",\n  "blobs": [,]}',
        ":2:13: invalid JSON: Expecting value",
    ),
    manifest_case("manifest-not-utf8", b'{"version": "\xff"}', "not UTF-8 text (byte offset 13)"),
    # -- package manifests: hostile content (tracebacks before) ------------------------------
    manifest_case(
        "manifest-nested-deeply",
        '{"version": "1", "blobs": ' + DEEP + "}",
        ":1:100026: nested too deeply: arrays and objects 100,001 levels inside each other "
        "(no input file of this kind is more than a few levels deep)",
    ),
    manifest_case(
        "manifest-number-past-the-digit-limit",
        '{"version": "1", "blobs": [{"size": ' + "7" * 5000 + "}]}",
        ":1:37: invalid number: Exceeds the limit (4300 digits) for integer string "
        "conversion: value has 5000 digits; use sys.set_int_max_str_digits() to increase the "
        "limit",
    ),
    # -- package manifests: what the path is ------------------------------------------------
    manifest_case(
        "manifest-fifo", fifo, "is a FIFO (named pipe), not a file or a directory", **HANGS
    ),
    manifest_case(
        "manifest-symlink-loop", link("m.json"), "is a symbolic link loop (or passes through one)"
    ),
    manifest_case(
        "manifest-dangling-symlink", link("gone.json"), "is a dangling symbolic link (-> gone.json)"
    ),
    manifest_case("manifest-socket", unix_socket, "is a socket, not a file or a directory"),
    manifest_case(
        "manifest-unreadable",
        unreadable(b"{}"),
        "cannot be read: permission denied",
        marks=(ROOT_READS_ALL,),
    ),
    failing(
        "manifest-dev-null",
        {},
        f"{SET}: /dev/null: is a character device, not a file or a directory",
        packages=("/dev/null",),
    ),
    failing(
        "manifest-dev-zero",  # infinite: refused before a byte is read
        {},
        f"{SET}: /dev/zero: is a character device, not a file or a directory",
        packages=("/dev/zero",),
        **HANGS,
    ),
    failing(
        "manifest-nul-byte-in-path",
        {},
        f"{SET}: bad/\\x00/m.json: the path contains a NUL byte",
        packages=("bad/\0/m.json",),
    ),
    failing(
        "manifest-path-too-long",
        {},
        f"{SET}: {'x' * 300}/m.json: the path is too long for the file system (*)",
        packages=("x" * 300 + "/m.json",),
    ),
    failing(
        "manifest-subpackage-is-a-fifo",
        {
            "bad/sub.json": fifo,
            "bad/m.json": json.dumps(
                {
                    "version": "1",
                    "package": {"name": "m"},
                    "blobs": [],
                    "blob_sources_relative": "file",
                    "subpackages": [{"manifest_path": "sub.json", "name": "sub"}],
                }
            ),
        },
        f"{SET}: bad/m.json: subpackages[0].manifest_path: sub.json: "
        "is a FIFO (named pipe), not a file",
        top={"include_subpackages": True},
        **HANGS,
    ),
    # -- blobs.json ---------------------------------------------------------------------------
    blobs_json_case(
        "blobs-json-not-a-list",
        "{}",
        "a blobs.json must be a JSON list of {merkle, size} objects, got an object",
    ),
    blobs_json_case(
        "blobs-json-entry-not-an-object", "[7]", "[0]: expected an object, got an integer"
    ),
    blobs_json_case(
        "blobs-json-bad-merkle",
        json.dumps([{"merkle": "g" * 64, "size": 1}]),
        f"[0].merkle: expected 64 lowercase hex digits, got '{'g' * 56}...",
    ),
    blobs_json_case(
        "blobs-json-size-beyond-2-63",
        json.dumps([{"merkle": M, "size": 2**63}]),
        "[0].size: 9223372036854775808 is more than 2**63 - 1 bytes",
    ),
    blobs_json_case(
        "blobs-json-size-a-float",
        json.dumps([{"merkle": M, "size": 1.5}]),
        "[0].size: expected a non-negative integer, got 1.5",
    ),
    blobs_json_case(
        "blobs-json-nested-deeply",
        DEEP,
        ":1:100000: nested too deeply: arrays and objects 100,000 levels inside each other "
        "(no input file of this kind is more than a few levels deep)",
    ),
    failing(
        "blobs-json-missing",
        {"bad/m.json": manifest("m", [{"path": "data/b", "merkle": M}])},
        "blob_sizes: bad/blobs.json: does not exist",
        top={"blob_sizes": ["bad/blobs.json"]},
    ),
    blobs_json_case("blobs-json-fifo", fifo, "is a FIFO (named pipe), not a file", **HANGS),
    blobs_json_case("blobs-json-directory", lambda p: p.mkdir(), "is a directory, not a file"),
    failing(
        "blobs-json-dev-zero",
        {"bad/m.json": manifest("m", [{"path": "data/b", "merkle": M}])},
        "blob_sizes: /dev/zero: is a character device, not a file",
        top={"blob_sizes": ["/dev/zero"]},
        **HANGS,
    ),
    failing(
        "blobs-json-nul-byte-in-path",
        {"bad/m.json": manifest("m", [{"path": "data/b", "merkle": M}])},
        "blob_sizes: bad/blobs\\x00.json: the path contains a NUL byte",
        top={"blob_sizes": ["bad/blobs\0.json"]},
    ),
    # -- directory packages --------------------------------------------------------------------
    directory_case(
        "directory-holds-package-manifest",  # counted as a one-blob package before
        {"package_manifest.json": with_blob()},
        ": is a directory that holds package_manifest.json: name that file instead "
        "(bad/pkg/package_manifest.json); a directory given as a package counts every file "
        "in it as a blob, the manifest too",
    ),
    directory_case(
        "directory-symlink-loop-to-ancestor",
        {"sub/up": link("..")},
        "/sub/up: symbolic link loop back to *",
    ),
    directory_case(
        "directory-fifo-inside",
        {"pipe": fifo},
        "/pipe: is a FIFO (named pipe), which cannot be a blob; remove it or package the directory without it",
        **HANGS,
    ),
    directory_case(
        "directory-socket-inside",
        {"sock": unix_socket},
        "/sock: is a socket, which cannot be a blob; remove it or package the directory without it",
    ),
    directory_case(
        "directory-dev-zero-link-inside",
        {"zero": link("/dev/zero")},
        "/zero: is a character device, which cannot be a blob; remove it or package the directory without it",
        **HANGS,
    ),
    directory_case(
        "directory-dangling-link-inside",
        {"gone": link("nowhere")},
        "/gone: is a dangling symbolic link (-> nowhere)",
    ),
    directory_case(
        "directory-link-loop-inside",
        {"a": link("b"), "b": link("a")},
        "/a: is a symbolic link loop (or passes through one)",
    ),
    directory_case(
        "directory-unreadable-file",
        {"secret": unreadable(b"x")},
        "/secret: blob *secret: cannot be read: permission denied",
        marks=(ROOT_READS_ALL,),
    ),
    # -- blob source files (measured: no blobs.json sizes them) -------------------------------
    blob_source_case("blob-source-fifo", fifo, "is a FIFO (named pipe), not a file", **HANGS),
    blob_source_case("blob-source-missing", None, "does not exist"),
    blob_source_case("blob-source-directory", lambda p: p.mkdir(), "is a directory, not a file"),
    blob_source_case(
        "blob-source-changed-size-cold",
        BLOB + b"more",
        f"file is {len(BLOB) + 4} bytes but {len(BLOB)} bytes were expected",
    ),
    # The same change with a warm cache (filled while the blob was as built): the same error.
    blob_source_case(
        "blob-source-changed-size-warm",
        BLOB + b"more",
        f"file is {len(BLOB) + 4} bytes but {len(BLOB)} bytes were expected",
        args=("--sizebudget", "--sizebudget-cache-dir=cache"),
        setup=warm_cache_of_original_blob,
    ),
    blob_source_failing(
        "blob-source-dev-zero",
        {"bad/m.json": with_blob(source="/dev/zero")},
        "/dev/zero",
        "is a character device, not a file",
        **HANGS,
    ),
    blob_source_failing(
        "blob-source-nul-byte",
        {"bad/m.json": with_blob(source="src/b\0")},
        "*/src/b\\x00",
        "the path contains a NUL byte",
    ),
    # -- cache contents: never trusted over the file, never a hang ---------------------------
    passing_measured(
        "cache-entry-corrupt", plant_in_cache(lambda p: p.write_text('{"kind": "blo'))
    ),
    passing_measured("cache-entry-is-a-directory", plant_in_cache(lambda p: p.mkdir())),
    passing_measured("cache-entry-is-a-fifo", plant_in_cache(fifo), **HANGS),
    passing_measured("cache-packed-file-is-a-fifo", packed_fifo, **HANGS),
    # -- budget files that are not regular files (pytest's walk skipped them silently) -------
    budget_file_case("budget-file-fifo", fifo, "is a FIFO (named pipe), not a file", **HANGS),
    budget_file_case(
        "budget-file-dangling-link", link("gone.json"), "is a dangling symbolic link (-> gone.json)"
    ),
    budget_file_case(
        "budget-file-dev-zero-link", link("/dev/zero"), "is a character device, not a file", **HANGS
    ),
    Case(
        id="inputs-budget-file-fifo-named-on-the-command-line",
        files={"bad.sizebudget.json": fifo},
        args=("--sizebudget", "bad.sizebudget.json"),
        outcomes={"failed": 1},
        lines=("bad.sizebudget.json: is a FIFO (named pipe), not a file",),
        subprocess=True,
        timeout=60.0,
    ),
    # -- images and product inputs ------------------------------------------------------------
    image_case(
        "image-fifo",
        ["img.raw"],
        {"img.raw": fifo},
        "image_budgets[0].image: img.raw: is a FIFO, not a regular file",
        **HANGS,
    ),
    image_case(
        "image-dev-zero",
        ["/dev/zero"],
        {},
        "image_budgets[0].image: /dev/zero: is a character device, not a regular file",
        **HANGS,
    ),
    image_case(
        "image-piece-nul-byte",
        ["b\0.simg", "a.simg"],
        {"a.simg": b"x"},
        "image_budgets[0].image[0]: b\\x00.simg: cannot open: embedded null byte",
    ),
    update_case(
        "images-json-fifo",
        {"images_manifest": "images.json"},
        {"images.json": fifo},
        "update_budgets[0].from.images_manifest: images.json: is a FIFO (named pipe), not a file",
        **HANGS,
    ),
    update_case(
        "report-input-nested-deeply",
        {"report": "old.json"},
        {"old.json": '{"budgets": ' + DEEP + "}"},
        "update_budgets[0].from.report: old.json:1:100012: nested too deeply: arrays and "
        "objects 100,001 levels inside each other (no input file of this kind is more than "
        "a few levels deep)",
    ),
    product_case(
        "product-base-fifo",
        {"base": "old.json"},
        {"old.json": fifo},
        "product_budgets[0].base: old.json: is a FIFO (named pipe), not a file",
        **HANGS,
    ),
    product_case(
        "product-base-without-blob-image",
        {"base": "old.json"},
        {"old.json": '[{"type": "zbi", "name": "zircon-a", "path": "z"}]'},
        "product_budgets[0].base: old.json: no blobfs or fxfs image with contents.packages "
        "among its 1 image(s)",
    ),
    product_case(
        "product-base-report-without-the-budget-or-packages",
        {"base": "old.json"},
        {"old.json": '{"budgets": []}'},
        "product_budgets[0].base: old.json: the report lists no packages to read a system from",
    ),
    product_case(
        "product-maximum-contents-size-not-a-size",
        {"packages": None, "max_contents_bytes": None, "images_manifest": "images.json"},
        {"images.json": images_json("big")},
        "product_budgets[0].images_manifest: images.json: "
        "images[0].contents.maximum_contents_size: expected a non-negative integer, got 'big'",
    ),
    product_case(
        "product-platform-resources-budget-above-the-maximum",
        {"platform_resources_budget_bytes": "2 MiB"},
        {},
        "product_budgets[0].platform_resources_budget_bytes: 2,097,152 B is more than the "
        "product's maximum 1,048,576 B",
    ),
    Case(
        id="inputs-baseline-fifo",
        files={**GOOD_FILES, "base.json": fifo},
        args=("--sizebudget", "--sizebudget-baseline=base.json"),
        ret=4,
        lines=("*baseline base.json: is a FIFO (named pipe), not a file",),
        subprocess=True,
        timeout=60.0,
    ),
]
