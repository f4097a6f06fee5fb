"""Yocto inputs and root filesystems: buildhistory trees, pkgdata, rootfs directories.

Every case has the good budget file beside it, whose budget must still pass; a bad tree
makes only its own package set "could not be checked", with the file, line or key.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .runner import GOOD_FILES, Case, FileContent

SEL = "package_set_budgets[0].packages[0]"
IMAGE = "bh/images/qemux86_64/glibc/core-image-minimal"
LATEST = "bh/packages/core2-64/busybox/busybox/latest"


def budget(entry: dict[str, Any], **budget_keys: Any) -> str:
    return json.dumps(
        {
            "package_set_budgets": [
                {"name": "set", "budget_bytes": "1 MiB", "packages": [entry], **budget_keys}
            ]
        }
    )


def tree(**overrides: FileContent) -> dict[str, FileContent]:
    files: dict[str, FileContent] = {
        f"{IMAGE}/installed-package-sizes.txt": "684\tKiB\tbusybox\n",
        f"{IMAGE}/files-in-image.txt": (
            "-rwxr-xr-x root       root           700001 ./bin/busybox\n"
        ),
        LATEST: "PV = 1.0\nPKGSIZE = 700008\n",
    }
    files.update(overrides)
    return {k: v for k, v in files.items() if v != ""}


def pat(text: str) -> str:
    """``text`` as an fnmatch pattern: literal but for ``*``."""
    return "".join(f"[{c}]" if c in "[]?" else c for c in text)


def fifo(path: Path) -> None:
    os.mkfifo(path)


def failing(id: str, files: dict[str, FileContent], error: str, **extra: Any) -> Case:
    entry = {"buildhistory": "bh", "image": "core-image-minimal", "packages": ["busybox"]}
    return Case(
        id=f"yocto-{id}",
        files={**GOOD_FILES, **files, "bad.sizebudget.json": budget(entry)},
        outcomes={"passed": 3, "failed": 1},
        lines=("Package set 'set' could not be checked", pat(error)),
        report={"Good": None, "set": error.strip("*")},
        **extra,
    )


def rootfs_with(make: Callable[[Path], None]) -> Callable[[Path], None]:
    def setup(root: Path) -> None:
        (root / "rootfs/bin").mkdir(parents=True)
        (root / "rootfs/bin/busybox").write_bytes(b"B" * 100)
        make(root / "rootfs")

    return setup


def odd_rootfs_entries(root: Path) -> None:
    os.mkfifo(root / "initctl")
    (root / "mtab").symlink_to("/proc/self/mounts")
    (root / "loop").symlink_to("loop")
    (root / "bin/sh").symlink_to("busybox")


CASES = [
    failing(
        "sizes-line",
        tree(**{f"{IMAGE}/installed-package-sizes.txt": "684 KiB busybox\n12 MiB oops\n"}),
        f"{SEL}: {IMAGE}/installed-package-sizes.txt:2: expected "
        "\"<size>\\tKiB\\t<package>\", got '12 MiB oops'",
    ),
    failing(
        "pkgsize-not-a-number",
        tree(**{LATEST: "PKGSIZE = 1.5M\n"}),
        f"{SEL}: {LATEST}: PKGSIZE: expected a number of bytes, got '1.5M'",
    ),
    failing(
        "files-in-image-line",
        tree(**{f"{IMAGE}/files-in-image.txt": "-rwxr-xr-x root root ./bin/busybox\n"}),
        f"{SEL}: {IMAGE}/files-in-image.txt:1: expected '<mode> <user> <group> <size> <path>', "
        "got '-rwxr-xr-x root root ./bin/busybox'",
    ),
    failing(
        "no-image",
        tree(**{f"{IMAGE}/installed-package-sizes.txt": "", f"{IMAGE}/files-in-image.txt": ""}),
        f"{SEL}: bh/images: no image 'core-image-minimal' (looked for */*/core-image-minimal)",
    ),
    failing(
        "different-builds",
        tree(**{LATEST: "PKGSIZE = 9000000\n"}),
        f"{SEL}: package 'busybox': {LATEST} says 9000000 bytes (8789 KiB) but the image's "
        "installed-package-sizes.txt says 684 KiB: the trees come from different builds",
    ),
    failing(
        "sizes-file-is-a-fifo",
        tree(**{f"{IMAGE}/installed-package-sizes.txt": fifo}),
        f"{SEL}: {IMAGE}/installed-package-sizes.txt: is a FIFO (named pipe), not a file",
        subprocess=True,
        timeout=60,
    ),
    failing(
        "buildhistory-is-a-file",
        {"bh": "not a tree\n"},
        f"{SEL}: buildhistory bh: is a regular file, not a directory",
    ),
    Case(
        id="yocto-pkgdata-files-info-not-json",
        files={
            **GOOD_FILES,
            "pkgdata/runtime/busybox": "PKGSIZE:busybox: 10\nFILES_INFO:busybox: {oops\n",
            "bad.sizebudget.json": budget({"pkgdata": "pkgdata"}),
        },
        outcomes={"passed": 3, "failed": 1},
        lines=(
            "Package set 'set' could not be checked",
            pat(f"{SEL}: pkgdata/runtime/busybox: FILES_INFO:busybox is not JSON: *"),
        ),
        report={"Good": None, "set": "FILES_INFO:busybox is not JSON"},
    ),
    Case(
        # Under "tree", what a rootfs holds that is not bytes is listed: the set passes.
        id="yocto-rootfs-tree-lists-instead-of-failing",
        files={**GOOD_FILES, "bad.sizebudget.json": budget({"path": "rootfs", "symlinks": "tree"})},
        setup=rootfs_with(odd_rootfs_entries),
        ret=0,
        outcomes={"passed": 4},
        report={"Good": None, "set": None},
    ),
    Case(
        id="yocto-rootfs-follow-still-fails-on-a-dangling-link",
        files={**GOOD_FILES, "bad.sizebudget.json": budget({"path": "rootfs"})},
        setup=rootfs_with(lambda r: (r / "mtab").symlink_to("/nonexistent/mounts")),
        outcomes={"passed": 3, "failed": 1},
        lines=(
            "Package set 'set' could not be checked",
            pat(f"{SEL}.path: rootfs/mtab: is a dangling symbolic link (-> /nonexistent/mounts)"),
        ),
        report={"Good": None, "set": "rootfs/mtab: is a dangling symbolic link"},
    ),
]
