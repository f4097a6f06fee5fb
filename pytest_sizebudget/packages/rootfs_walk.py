"""Walking a directory whose symbolic links must not be followed: root filesystems.

A package directory's links are followed (``symlinks: "follow"``, ``directory.py``): a
packaging step copies the content they point at.  A root filesystem (an unpacked Yocto
rootfs, a buildhistory image tree) is different: its links point at runtime locations,
absolute ones at the target's ``/``, not the build host's, and many of them dangle until
the system runs.  Two policies read such a tree as the target will see it:

- ``"tree"``: a link is resolved with the directory as its root (``/`` and ``..`` never
  leave it, as in a chroot) and costs nothing: what it points at is counted where it
  lies, once.  A link that resolves to nothing in the tree (dangling, a loop, more than
  40 hops) is listed, not an error.
- ``"link"``: a link is a link: it costs what the file system stores for it, the length
  of its target (``lstat().st_size``), as Yocto's ``PKGSIZE`` and ``directory_size``
  count it; it is never resolved, so it never dangles.

Under both, a file with several hard links is counted once (at its first path in sorted
order; the others are aliases), and FIFOs, sockets and device nodes (``/dev`` in a
rootfs) are listed, not failed: they hold no bytes.  One ``lstat`` per entry, from
``scandir`` and a ``readlink`` per link; ``"tree"`` then resolves every link against
what the walk found, in memory: linear in the tree's size, whatever the links' depth.
"""

from __future__ import annotations

import os
import stat
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pytest_sizebudget.errors import InputError
from pytest_sizebudget.paths import kind_of_mode, printable

SymlinkPolicy = Literal["follow", "tree", "link"]
SYMLINK_POLICIES: tuple[SymlinkPolicy, ...] = ("follow", "tree", "link")

# As Linux's path resolution: more links than this in one lookup is ELOOP.
MAX_HOPS = 40


@dataclass(slots=True)
class TreeListing:
    """What a no-follow walk found, every list sorted by in-package path."""

    files: list[tuple[str, Path]] = field(default_factory=list)  # counted regular files
    links: list[tuple[str, str, int]] = field(default_factory=list)  # (path, target, bytes)
    uncounted: list[tuple[str, str]] = field(default_factory=list)  # (path, why)
    hard_links: int = 0  # paths that are another path's inode, not counted again
    resolved_links: int = 0  # "tree": links that resolved inside the tree


def walk_tree(root: Path, display: str, policy: SymlinkPolicy) -> TreeListing:
    """Every entry below ``root`` under ``policy`` ("tree" or "link")."""
    out = TreeListing()
    inodes: dict[tuple[int, int], str] = {}
    # Every entry's mode and every link's target, by in-tree path: "tree" resolves links
    # against these once the walk is done, without another system call.
    modes: dict[str, int] = {"": stat.S_IFDIR}
    targets: dict[str, str] = {}
    pending: deque[tuple[Path, str]] = deque([(root, "")])
    while pending:
        directory, prefix = pending.popleft()
        try:
            with os.scandir(directory) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            where = f"{display}/{prefix.rstrip('/')}" if prefix else display
            raise InputError(f"{printable(where)}: cannot list directory: {exc.strerror}") from None
        for entry in entries:
            rel = prefix + entry.name
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError as exc:
                raise InputError(
                    f"{printable(display)}/{printable(rel)}: cannot stat: {exc.strerror}"
                ) from None
            mode = st.st_mode
            modes[rel] = mode
            if stat.S_ISDIR(mode):
                pending.append((Path(entry.path), rel + "/"))
            elif stat.S_ISREG(mode):
                if st.st_nlink > 1:
                    first = inodes.setdefault((st.st_dev, st.st_ino), rel)
                    if first != rel:
                        out.hard_links += 1
                        continue
                out.files.append((rel, Path(entry.path)))
            elif stat.S_ISLNK(mode):
                try:
                    targets[rel] = os.readlink(entry.path)
                except OSError as exc:
                    why = f"symbolic link that cannot be read: {exc.strerror}"
                    out.uncounted.append((rel, why))
                    continue
                if policy == "link":
                    out.links.append((rel, targets[rel], st.st_size))
            else:
                out.uncounted.append((rel, f"{kind_of_mode(mode)}, holds no bytes"))
    if policy == "tree":
        for rel, target in targets.items():
            found = resolve_in_tree(modes, targets, rel, target)
            if isinstance(found, str):
                out.uncounted.append((rel, f"symbolic link to {target}: {found}"))
            else:
                out.resolved_links += 1
    # Breadth-first order is not path order ("a/b" vs "a.txt"): sort once, at the end.
    out.files.sort(key=lambda item: item[0])
    out.links.sort()
    out.uncounted.sort()
    return out


def resolve_in_tree(
    modes: Mapping[str, int], targets: Mapping[str, str], rel: str, target: str
) -> tuple[str, int] | str:
    """Where the link at ``rel`` (pointing at ``target``) leads with the walked tree as
    ``/``: (in-tree path, its mode), or why it leads nowhere.  ``modes`` and ``targets``
    are what the walk found (every entry's mode, every link's target)."""
    parts: deque[str] = deque(target.split("/"))
    stack: list[str] = [] if target.startswith("/") else rel.split("/")[:-1]
    hops = 0
    mode = stat.S_IFDIR
    while parts:
        part = parts.popleft()
        if part in ("", "."):
            continue
        if part == "..":
            if stack:
                stack.pop()
            continue
        if not stat.S_ISDIR(mode):
            return f"dangling (/{'/'.join(stack)} is not a directory)"
        candidate = [*stack, part]
        path = "/".join(candidate)
        found = modes.get(path)
        if found is None:
            return f"dangling (/{path} is not in the tree)"
        if stat.S_ISLNK(found):
            hops += 1
            if hops > MAX_HOPS:
                return f"a loop (more than {MAX_HOPS} links in a row)"
            inner = targets.get(path)
            if inner is None:
                return "a link on the way cannot be read"
            if inner.startswith("/"):
                stack = []
            parts.extendleft(reversed(inner.split("/")))
            mode = stat.S_IFDIR
            continue
        stack = candidate
        mode = found
    return "/".join(stack), mode
