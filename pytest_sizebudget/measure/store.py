"""Files of the cache directory: sealed entries, atomic writes, and packs of entries.

The cache directory is shared by every process that measures (xdist workers, parallel
CI jobs on one machine) and may be damaged by anything (a full disk, a killed process,
a stray file), so:

- every entry carries a checksum of its content (``seal``); a reader that finds
  anything else treats it as a miss (``unseal`` gives ``None``);
- every write goes to a temporary file in the destination directory and is published
  with ``os.replace``: readers see the old file or the new one, never half of one;
- a path is read only if it is a regular file (``read_entry``): a FIFO or device planted
  in the cache directory must not hang the run.

A ``PackDir`` holds many entries per file ("packs"), each written once under a fresh
name, so writers need no lock; a file per entry cost about 1.3 ms per entry on the
machine this was measured on (docs/performance.md).  Readers read every pack once and
merge them into one when there are more than ``PACK_MERGE_AT``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Final

from pytest_sizebudget.paths import PathProblem, read_bytes

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: two readers may merge at once
    fcntl = None  # type: ignore[assignment]

PACK_MERGE_AT: Final = 64  # more packs than this are merged into one by the next reader
PACK_SUFFIX: Final = ".pack"


def _checksum(body: dict[str, object]) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def seal(body: dict[str, object]) -> bytes:
    return json.dumps({**body, "checksum": _checksum(body)}, sort_keys=True).encode()


def unseal(raw: bytes) -> dict[str, object] | None:
    """The entry's body if it is intact JSON with a matching checksum, else ``None``."""
    try:
        entry = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(entry, dict):
        return None
    claimed = entry.pop("checksum", None)
    if claimed != _checksum(entry):
        return None
    return entry


def write_atomically(path: Path, data: bytes) -> bool:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".part")
    except OSError:
        return False
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
        return True
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        return False


def read_entry(path: Path) -> bytes | None:
    """The bytes of a cache file, or ``None`` (a miss) if it is not a readable regular
    file."""
    try:
        return read_bytes(path, str(path))
    except PathProblem:
        return None


class PackDir:
    """The packs of one ``kind`` in ``directory``.  Writers name a pack (``new_name``) and
    ``write`` it; readers list the names, ``read`` those they have not read, and
    ``merge`` when ``len(names) > PACK_MERGE_AT``."""

    def __init__(self, directory: Path, kind: str) -> None:
        self.directory = directory
        self.kind = kind

    @staticmethod
    def new_name() -> str:
        return f"{uuid.uuid4().hex}{PACK_SUFFIX}"

    def write(self, name: str, body: dict[str, object]) -> bool:
        """Publish a pack; whether it was written (a failure costs speed only)."""
        return write_atomically(self.directory / name, seal({**body, "kind": self.kind}))

    def names(self) -> list[str]:
        """The packs there now, in a fixed order; none if the directory cannot be read."""
        try:
            with os.scandir(self.directory) as entries:
                return sorted(e.name for e in entries if e.name.endswith(PACK_SUFFIX))
        except OSError:
            return []

    def read(self, name: str) -> dict[str, object] | None:
        """A pack's body, or ``None`` when it is gone, damaged or of another kind."""
        raw = read_entry(self.directory / name)
        body = None if raw is None else unseal(raw)
        if body is None or body.get("kind") != self.kind:
            return None
        return body

    def merge(self, names: Sequence[str], write: Callable[[], bool]) -> None:
        """Replace ``names`` by what ``write`` publishes, unless another process is
        merging (a pack a reader misses meanwhile costs it only a measurement)."""
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.directory / ".merge.lock", os.O_RDWR | os.O_CREAT, 0o644)
        except OSError:
            return
        try:
            if fcntl is not None:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError:
                    return  # another process merges
            if write():
                for old in names:
                    with contextlib.suppress(OSError):
                        os.unlink(self.directory / old)
        finally:
            os.close(fd)
