"""``StatIndex``: which merkle root a file had, by its path and ``stat`` identity.

A directory package (a rootfs, a system's shared-data tree) names no merkle roots: each
file is hashed to learn which blob it is, unless the index knows it.  It answers for a
file whose size, mtime, ctime, inode and device are all what they were when it was
hashed, and records no file modified within ``racy_seconds`` of being hashed (its next
change might keep all five: git's "racily clean" rule).

Entries are kept in packs (``store.PackDir``): one pack per ``record`` call, which needs
no lock, and every pack read at the first lookup.  One file per source directory, read,
merged and replaced under a lock, cost a cold run of a 46,665-file tree (3,134
directories) 0.8-1.25 s of serial writes at the end, with the cores idle
(docs/performance.md).  When two packs have an entry for one path, the one recorded for
the newer state of the file (ctime, then mtime) is kept: either can only answer for the
state it was recorded for, and the newer one is the state the file is likely still in.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Final, cast

from .blob import FileIdentity
from .store import PACK_MERGE_AT, PackDir

# A file changed twice within the clock's resolution can keep its size and times; files
# modified this recently are therefore not indexed (git's "racily clean" rule).
DEFAULT_RACY_SECONDS: Final = 2.0

# [size, mtime_ns, ctime_ns, inode, device, merkle]: a list, as JSON gives it back.
Entry = list[object]
Entries = dict[str, dict[str, Entry]]  # directory -> name -> entry


def _fields(identity: FileIdentity) -> Entry:
    """An entry's first five fields, in its order."""
    return [identity.size, identity.mtime_ns, identity.ctime_ns, identity.inode, identity.device]


def _valid(entry: object) -> bool:
    return (
        isinstance(entry, list)
        and len(entry) == 6
        and all(type(v) is int for v in entry[:5])
        and isinstance(entry[5], str)
        and len(entry[5]) == 64
    )


def _state(entry: Entry) -> tuple[int, int]:
    return cast(int, entry[2]), cast(int, entry[1])  # ctime, then mtime (_valid: ints)


def _merge_into(target: dict[str, Entry], entries: dict[object, object]) -> None:
    for name, entry in entries.items():
        if not (isinstance(name, str) and _valid(entry)):
            continue
        entry = cast(Entry, entry)
        kept = target.get(name)
        if kept is None or _state(entry) > _state(kept):
            target[name] = entry


class StatIndex:
    """See the module docstring; ``StatIndex(None)`` is the disabled index."""

    def __init__(self, root: Path | None, *, racy_seconds: float = DEFAULT_RACY_SECONDS) -> None:
        self.root = root
        self.racy_ns = int(racy_seconds * 1e9)
        self._packs = None if root is None else PackDir(root / "packs", "stat-pack")
        self._lock = threading.Lock()
        self._entries: Entries | None = None  # every pack's, read at the first lookup

    @property
    def enabled(self) -> bool:
        return self.root is not None

    def _index(self) -> Entries:
        entries = self._entries
        if entries is None:
            with self._lock:
                if self._entries is None:
                    self._entries = self._load()
                entries = self._entries
        return entries

    def _load(self) -> Entries:
        entries: Entries = {}
        if self._packs is None:
            return entries
        names = self._packs.names()
        for name in names:
            body = self._packs.read(name)
            dirs = None if body is None else body.get("dirs")
            if not isinstance(dirs, dict):
                continue  # damaged or foreign: its files are hashed again
            for directory, found in dirs.items():
                if isinstance(directory, str) and isinstance(found, dict):
                    _merge_into(entries.setdefault(directory, {}), found)
        if len(names) > PACK_MERGE_AT:
            packs = self._packs
            self._packs.merge(names, lambda: packs.write(packs.new_name(), {"dirs": entries}))
        return entries

    @staticmethod
    def _split(path: Path) -> tuple[str, str]:
        directory, name = os.path.split(os.path.abspath(path))
        return directory, name

    def lookup(self, path: Path, identity: FileIdentity) -> str | None:
        if self.root is None:
            return None
        directory, name = self._split(path)
        found = self._index().get(directory)
        entry = None if found is None else found.get(name)
        if entry is None or entry[:5] != _fields(identity):
            return None
        merkle = entry[5]
        assert isinstance(merkle, str)  # _valid
        return merkle

    def record(self, items: Iterable[tuple[Path, FileIdentity, str]]) -> None:
        """Remember the merkle roots of files just hashed: one pack, and this process's
        lookups see them at once."""
        if self._packs is None:
            return
        now = time.time_ns()
        fresh: Entries = {}
        for path, identity, merkle in items:
            if now - max(identity.mtime_ns, identity.ctime_ns) < self.racy_ns:
                continue
            directory, name = self._split(path)
            fresh.setdefault(directory, {})[name] = [*_fields(identity), merkle]
        if not fresh:
            return
        entries = self._index()
        with self._lock:
            for directory, found in fresh.items():
                entries.setdefault(directory, {}).update(found)  # the state just hashed
        self._packs.write(self._packs.new_name(), {"dirs": fresh})
