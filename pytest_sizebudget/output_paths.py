"""Whether the files a run writes can be written, found out before the run starts.

A report path that is a directory, under a regular file or in a place nobody may write
would otherwise fail only at the end, after every budget was measured.  The checks do
what the write will do (create a file in the directory), because permission bits do not
tell (root, read-only mounts, ``/proc``).  Nothing is left behind but the directories a
cache needs.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path


def _what(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISREG(mode):
        return "a regular file"
    return "neither a regular file nor a directory"


def _probe(directory: Path) -> str | None:
    """Why no file can be created in ``directory``, or None when one can."""
    try:
        fd, name = tempfile.mkstemp(dir=directory, prefix=".sizebudget-probe-")
    except OSError as exc:
        return f"no file can be created in {directory}: {exc.strerror or exc}"
    os.close(fd)
    with contextlib.suppress(OSError):
        os.unlink(name)
    return None


def _existing_ancestor(path: Path) -> Path:
    """``path`` or its nearest ancestor that exists (as anything)."""
    while not os.path.lexists(path) and path.parent != path:
        path = path.parent
    return path


def report_path_problem(path: Path) -> str | None:
    """Why a report cannot be written to ``path``, or None.

    The file itself may exist (it is replaced) but must then be a regular file; missing
    parent directories are created when the report is written, so the nearest one that
    exists must be a directory in which a file can be created.
    """
    try:
        st = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        st = None
    except (OSError, ValueError) as exc:
        return f"cannot be used: {exc}"
    if st is not None and not stat.S_ISREG(st.st_mode):
        return f"is {_what(st.st_mode)}"
    ancestor = _existing_ancestor(path.parent)
    if not ancestor.is_dir():
        return f"cannot be created: {ancestor} is not a directory"
    return _probe(ancestor)


def cache_dir_problem(path: Path) -> str | None:
    """Why ``path`` cannot hold the measurement cache, or None (it then exists).

    The cache writes measurements and takes per-blob locks there, so it must be a
    directory in which files can be created; a missing one is created.
    """
    try:
        if os.path.lexists(path) and not path.is_dir():
            return f"is {_what(os.stat(path).st_mode)}, not a directory"
        path.mkdir(parents=True, exist_ok=True)
    except (OSError, ValueError) as exc:
        ancestor = _existing_ancestor(path.parent)
        if not ancestor.is_dir():
            return f"cannot be created: {ancestor} is not a directory"
        return f"cannot be created: {getattr(exc, 'strerror', None) or exc}"
    return _probe(path)
