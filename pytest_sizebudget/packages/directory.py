"""A directory as a package: every regular file is a blob at its relative path.

Symbolic links are followed, as a packaging step that copies file contents would:
a link to a file is a blob with the target's content at the link's path; a link to a
directory is walked like a directory.  Loops (a link back to an ancestor) and dangling
links are errors, as are FIFOs, sockets and device files: none of them can be a blob,
and skipping them silently would hide bytes from the budget.

That is the ``symlinks: "follow"`` policy, right for a package's build directory.  A root
filesystem is read with ``"tree"`` or ``"link"`` instead (``rootfs_walk.py``): links are
not followed out of the tree, hard links count once, special files are listed.  A link
under ``"link"`` is a blob of its own whose size is its length, keyed by a digest of its
path and target (not a merkle root: no file holds these bytes, and a file whose content
happened to equal the target must not share its size).

A directory with a ``package_manifest.json`` at its top is refused with a hint to name
that file: it is a package's build directory, and walked as files it would count the
manifest as a blob instead of the blobs the manifest lists.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from pytest_sizebudget.errors import InputError
from pytest_sizebudget.paths import PathProblem, kind_of_mode, printable, stat_path

from .model import BlobEntry, Package
from .rootfs_walk import SymlinkPolicy, walk_tree

MANIFEST_NAME = "package_manifest.json"

# (path) -> (merkle root, size in bytes)
Hasher = Callable[[Path], tuple[str, int]]
# (paths) -> path -> merkle root, or the exception saying why the file cannot be hashed
BatchHasher = Callable[[Sequence[Path]], Mapping[Path, "str | Exception"]]


def list_directory_files(root: Path, display: str | None = None) -> list[tuple[str, Path]]:
    """(in-package path, file) for every regular file below ``root``, sorted by path.

    Errors name files as ``display`` (how reports name the package) plus the in-package path.
    """
    out: list[tuple[str, Path]] = []
    _walk(root, display or str(root), "", out, ancestors=frozenset())
    out.sort(key=lambda item: item[0])
    return out


def _walk(
    directory: Path,
    display: str,
    prefix: str,
    out: list[tuple[str, Path]],
    ancestors: frozenset[Path],
) -> None:
    real = directory.resolve()
    shown = f"{display}/{prefix.rstrip('/')}" if prefix else display
    if real in ancestors:
        raise InputError(f"{shown}: symbolic link loop back to {real}")
    ancestors = ancestors | {real}
    try:
        entries = sorted(os.scandir(directory), key=lambda e: e.name)
    except OSError as exc:
        raise InputError(f"{shown}: cannot list directory: {exc.strerror}") from None
    for entry in entries:
        rel = prefix + entry.name
        path = Path(entry.path)
        where = f"{display}/{rel}"
        st = stat_path(path, where)  # follows links on purpose
        if stat.S_ISDIR(st.st_mode):
            _walk(path, display, rel + "/", out, ancestors)
        elif stat.S_ISREG(st.st_mode):
            out.append((rel, path))
        else:
            raise PathProblem(
                where,
                f"is {kind_of_mode(st.st_mode)}, which cannot be a blob; "
                "remove it or package the directory without it",
            )


def refuse_manifest_directory(path: Path, shown: str) -> None:
    """A directory package must not be a package's build directory: its
    package_manifest.json would count as the package's (only) blob, and the blobs it
    lists would not count at all."""
    if os.path.lexists(path / MANIFEST_NAME):
        raise PathProblem(
            shown,
            f"is a directory that holds {MANIFEST_NAME}: name that file instead "
            f"({printable(shown)}/{MANIFEST_NAME}); a directory given as a package counts "
            "every file in it as a blob, the manifest too",
        )


def load_directory(path: Path, hasher: Hasher, *, display: str | None = None) -> Package:
    shown = display or str(path)
    refuse_manifest_directory(path, shown)
    blobs = []
    for rel, file in list_directory_files(path, shown):
        try:
            merkle, size = hasher(file)
        except OSError as exc:
            raise InputError(f"{shown}/{rel}: cannot read: {exc.strerror}") from None
        blobs.append(BlobEntry(merkle=merkle, path=rel, source=file, size=size))
    return Package(
        name=path.resolve().name, origin=display or str(path), kind="directory", blobs=tuple(blobs)
    )


def link_key(rel: str, target: str) -> str:
    """The blob key of a symbolic link under ``"link"``: 64 hex digits, like a merkle."""
    text = f"symlink\0{rel}\0{target}".encode("utf-8", "surrogateescape")
    return hashlib.sha256(text).hexdigest()


def load_directory_batch(
    path: Path,
    hash_files: BatchHasher,
    *,
    display: str | None = None,
    symlinks: SymlinkPolicy = "follow",
) -> Package:
    """``load_directory`` with every file hashed in one call (the engine's stat index and
    threads); the first file that cannot be hashed fails the package, naming the file."""
    shown = display or str(path)
    refuse_manifest_directory(path, shown)
    links: list[tuple[str, str, int]] = []
    uncounted: list[tuple[str, str]] = []
    if symlinks == "follow":
        files = list_directory_files(path, shown)
    else:
        listing = walk_tree(path, shown, symlinks)
        files, links, uncounted = listing.files, listing.links, listing.uncounted
    roots = hash_files([file for _, file in files])
    blobs = []
    for rel, file in files:
        merkle = roots[file]
        if isinstance(merkle, Exception):
            raise InputError(f"{shown}/{rel}: {merkle}")
        blobs.append(BlobEntry(merkle=merkle, path=rel, source=file))
    fixed = []
    for rel, target, size in links:
        key = link_key(rel, target)
        blobs.append(BlobEntry(merkle=key, path=rel, size=size))
        fixed.append((key, size))
    blobs.sort(key=lambda b: b.path)
    return Package(
        name=path.resolve().name,
        origin=display or str(path),
        kind="directory",
        blobs=tuple(blobs),
        fixed_sizes=tuple(fixed),
        uncounted=tuple(uncounted),
    )
