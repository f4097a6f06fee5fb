"""Buildhistory trees and pkgdata directories written as OpenEmbedded writes them.

Each package's files are staged in a real directory first; from it, as oe-core does:
``PKGSIZE`` is the sum of ``lstat().st_size`` over the package's files with each inode
once (``packagedata.py``), ``FILES_INFO`` maps every path to its ``lstat`` size, and
``files-in-package.txt`` / ``files-in-image.txt`` come from GNU ``find -printf "%M %-10u
%-10g %10s %p -> %l"`` sorted on the path, with the empty `` -> `` stripped
(``buildhistory.bbclass``).  ``installed-package-sizes.txt`` holds ``(bytes + 512) //
1024`` KiB per package, largest first, as ``oe-pkgdata-util read-value PKGSIZE`` rounds.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

# A file's content, or ("link", target) for a symbolic link, or ("hardlink", other path).
Content = bytes | tuple[str, str]


@dataclass
class YoctoPackageSpec:
    name: str
    files: Mapping[str, Content]  # absolute in-image path ("/usr/bin/x") -> content
    pn: str = ""  # recipe; defaults to the name
    arch: str = "core2-64"
    renamed: str | None = None  # PKG: the name the image installs it as
    extra_files: Mapping[str, Content] = field(default_factory=dict)


def stage(directory: Path, files: Mapping[str, Content]) -> None:
    for path, content in sorted(files.items(), key=lambda kv: isinstance(kv[1], tuple)):
        target = directory / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        elif content[0] == "link":
            target.symlink_to(content[1])
        else:
            os.link(directory / content[1].lstrip("/"), target)


def pkgsize(directory: Path) -> int:
    """As ``emit_pkgdata``: lstat sizes of the files ``os.walk`` lists, each inode once."""
    seen: set[int] = set()
    total = 0
    for dirpath, _, filenames in os.walk(directory):
        for name in filenames:
            st = os.lstat(Path(dirpath, name))
            if st.st_ino not in seen:
                seen.add(st.st_ino)
                total += st.st_size
    return total


def files_info(directory: Path) -> dict[str, int]:
    out = {}
    for dirpath, _, filenames in os.walk(directory):
        for name in filenames:
            p = Path(dirpath, name)
            out["/" + p.relative_to(directory).as_posix()] = os.lstat(p).st_size
    return out


def find_listing(directory: Path) -> str:
    """buildhistory's file list of a directory, made by GNU find as the class does."""
    out = subprocess.run(
        ["find", ".", "!", "-path", ".", "-printf", "%M %-10u %-10g %10s %p -> %l\n"],
        cwd=directory,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    lines = sorted(out.splitlines(), key=lambda line: line.split(None, 4)[4])
    return "".join(re.sub(r" * -> $", "", line) + "\n" for line in lines)


def write_buildhistory(
    root: Path,
    packages: Sequence[YoctoPackageSpec],
    *,
    image: str = "core-image-minimal",
    machine: str = "qemux86_64",
    libc: str = "glibc",
    with_latest: bool = True,
    with_file_lists: bool = True,
    scratch: Path | None = None,
) -> dict[str, int]:
    """A buildhistory tree with one image installing ``packages``; returns PKGSIZE by
    installed name."""
    scratch = scratch or root.parent / f".{root.name}-staging"
    rootfs = scratch / "rootfs"
    rootfs.mkdir(parents=True, exist_ok=True)
    sizes: dict[str, int] = {}
    for spec in packages:
        staged = scratch / "pkgs" / spec.name
        staged.mkdir(parents=True, exist_ok=True)
        stage(staged, spec.files)
        stage(rootfs, spec.files)
        size = pkgsize(staged)
        installed_name = spec.renamed or spec.name
        sizes[installed_name] = size
        if with_latest:
            pkgdir = root / "packages" / spec.arch / (spec.pn or spec.name) / spec.name
            pkgdir.mkdir(parents=True, exist_ok=True)
            lines = ["PV = 1.0", "PR = r0", "RDEPENDS = ", "RRECOMMENDS = "]
            if spec.renamed:
                lines.append(f"PKG = {spec.renamed}")
            lines += [f"PKGSIZE = {size}", f"FILES = {' '.join(sorted(spec.files))}"]
            lines.append(f"FILELIST = {' '.join(sorted(spec.files))}")
            (pkgdir / "latest").write_text("\n".join(lines) + "\n")
            if with_file_lists:
                (pkgdir / "files-in-package.txt").write_text(find_listing(staged))
            recipe = pkgdir.parent / "latest"
            recipe.write_text(f"PV = 1.0\nPR = r0\nPACKAGES = {spec.name}\n")
    imgdir = root / "images" / machine / libc / image
    imgdir.mkdir(parents=True, exist_ok=True)
    ordered = sorted(sizes.items(), key=lambda kv: (-((kv[1] + 512) // 1024), kv[0]))
    (imgdir / "installed-package-sizes.txt").write_text(
        "".join(f"{(size + 512) // 1024}\tKiB\t{name}\n" for name, size in ordered)
    )
    (imgdir / "installed-package-names.txt").write_text(
        "".join(f"{name}\n" for name in sorted(sizes))
    )
    (imgdir / "image-info.txt").write_text(f"DISTRO = poky\nIMAGESIZE = {len(sizes) * 4}\n")
    if with_file_lists:
        (imgdir / "files-in-image.txt").write_text(find_listing(rootfs))
    return sizes


def write_pkgdata(root: Path, packages: Sequence[YoctoPackageSpec], scratch: Path) -> None:
    """``tmp/pkgdata/<machine>``: runtime/<pkg> files with ``VAR:pkg: value`` lines."""
    (root / "runtime").mkdir(parents=True, exist_ok=True)
    (root / "runtime-reverse").mkdir(parents=True, exist_ok=True)
    for spec in packages:
        staged = scratch / "pkgdata-stage" / spec.name
        staged.mkdir(parents=True, exist_ok=True)
        stage(staged, spec.files)
        pkg = spec.name
        lines = [f"PN: {spec.pn or pkg}", "PV: 1.0", "PR: r0", f"PKG:{pkg}: {spec.renamed or pkg}"]
        info = json.dumps(files_info(staged), sort_keys=True)
        lines.append(f"FILES_INFO:{pkg}: {info}")
        lines.append(f"PKGSIZE:{pkg}: {pkgsize(staged)}")
        (root / "runtime" / pkg).write_text("\n".join(lines) + "\n")
        (root / "runtime" / f"{pkg}.packaged").write_text("")
        (root / "runtime-reverse" / (spec.renamed or pkg)).symlink_to(f"../runtime/{pkg}")
