"""Remembered evaluations: a kind's results, kept with the inputs they came from.

A warm run of a product with 100,000 blob instances spends seconds doing again what the
last run did: reading a thousand manifests, charging every instance, building the same
results.  A kind may keep its results here under a key that names everything they were
computed from (its budgets, the content of every input file, the measurement
parameters) and answer the next run from them when the key is the same, after the
checks a warm run makes of the cache's answers (``still_answered``: one ``stat`` per
measured blob's file).

The key is a digest of the input files' content, so a fresh checkout or a rebuild that
writes the same manifests still finds it.  Reading a thousand manifests to learn that
nothing changed costs more than the rest of the answer, so each file's ``stat`` is kept
too, as git keeps its index: a file whose size, times, inode and device are what they
were is not read again, unless it was modified within two seconds of being recorded
(its next change might keep all of them; git's "racily clean" rule).

Kept under the cache root, one file per slot (a kind and a budget file): the next key
replaces the last answer, so editing a budget file does not pile up files.  Offered by
``EngineSizer`` only when it answers as the engine does (its own class, no
``--sizebudget-verify``, a cache directory), never shared through a remote cache.

The format is ``marshal``, sealed with a BLAKE2b digest: loading 100,000 charges takes
about 30 ms from marshal, against about 0.5 s from pickle and 0.15 s from JSON (measured
for this module), and a damaged or foreign file is a miss, as every cache entry is.  The
Python version is part of the key, since marshal's format is only stable within one.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import marshal
import os
import stat
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, cast

from pytest_sizebudget.errors import InputError
from pytest_sizebudget.paths import read_bytes

from .blob import all_have_sizes
from .cache import CACHE_FORMAT
from .formats import StorageFormat
from .stat_index import DEFAULT_RACY_SECONDS
from .store import read_entry, write_atomically

MEMO_MAGIC: Final = b"SBMEMO2\n"
_DIGEST = 32

# A file as it was when its content went into a key: size, times, inode, device; None
# when it had just been modified (it is read again next time).
Signature = tuple[int, int, int, int, int] | None


def digest(*parts: bytes) -> bytes:
    """One key from several parts (each length-prefixed, so no two splits collide)."""
    h = hashlib.blake2b(digest_size=_DIGEST)
    for part in parts:
        h.update(len(part).to_bytes(8, "little"))
        h.update(part)
    return h.digest()


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic collection while a remembered answer is decoded: the objects it makes
    hold no cycles, and collections set off by their number would find nothing."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@dataclass(frozen=True, slots=True)
class MemoKey:
    """Where an answer is kept (``slot``) and what it was computed from (``key``)."""

    slot: bytes
    key: bytes
    salt: bytes  # the digest of everything besides the files
    files: tuple[tuple[str, Signature], ...]


@dataclass(frozen=True, slots=True)
class _Kept:
    salt: bytes
    files: tuple[tuple[str, Signature], ...]
    key: bytes
    body: bytes  # the payload, still marshalled


@dataclass(frozen=True, slots=True)
class AnsweredBlobs:
    """Blobs whose sizes the sizer answered, and their files by directory: each file's
    name and the length it was measured at.  Lists, so that loading them makes few
    objects; a name that is the blob's merkle (as in a blobs directory) is the same
    string object, which marshal stores once."""

    merkles: list[str]
    folders: list[tuple[str, list[str], list[int]]]  # directory, names, lengths

    @classmethod
    def of(cls, blobs: Iterable[tuple[str, str, int]]) -> AnsweredBlobs:
        """From (merkle, file path, length) triples, in their order within a directory."""
        merkles: list[str] = []
        by_directory: dict[str, tuple[list[str], list[int]]] = {}
        for merkle, path, length in blobs:
            directory, name = os.path.split(path)
            names, lengths = by_directory.setdefault(directory or os.curdir, ([], []))
            names.append(merkle if name == merkle else name)
            lengths.append(length)
            merkles.append(merkle)
        return cls(merkles, [(d, names, lengths) for d, (names, lengths) in by_directory.items()])


class EvaluationMemo:
    """Results by slot and key, under ``root``; see the module docstring."""

    def __init__(
        self,
        root: Path,
        identity: Callable[[StorageFormat], str],
        answered: Callable[[StorageFormat, Sequence[str]], None],
        *,
        racy_seconds: float = DEFAULT_RACY_SECONDS,
    ) -> None:
        self.directory = root / f"v{CACHE_FORMAT}" / "memo"
        self._identity = identity
        self._answered = answered
        self._racy_ns = int(racy_seconds * 1e9)
        self._kept: dict[bytes, _Kept | None] = {}

    def identity(self, layout: StorageFormat) -> bytes:
        """What besides the inputs decides the measured sizes in ``layout`` (the cache's
        parameter fingerprint), and the Python that wrote the file."""
        return f"{self._identity(layout)}|{sys.version}|{marshal.version}".encode()

    def _path(self, slot: bytes) -> Path:
        return self.directory / f"{slot.hex()}.bin"

    def _open(self, slot: bytes) -> _Kept | None:
        if slot not in self._kept:
            self._kept[slot] = self._read(slot)
        return self._kept[slot]

    def _read(self, slot: bytes) -> _Kept | None:
        raw = read_entry(self._path(slot))
        if raw is None or not raw.startswith(MEMO_MAGIC):
            return None
        start = len(MEMO_MAGIC)
        claimed, rest = raw[start : start + _DIGEST], raw[start + _DIGEST :]
        if len(claimed) != _DIGEST or digest(rest) != claimed or len(rest) < 8:
            return None
        size = int.from_bytes(rest[:8], "little")
        try:
            header = marshal.loads(rest[8 : 8 + size])
        except (EOFError, ValueError, TypeError):
            return None
        if not (isinstance(header, tuple) and len(header) == 3):
            return None
        salt, files, key = header
        if not (isinstance(salt, bytes) and isinstance(key, bytes) and isinstance(files, tuple)):
            return None
        return _Kept(salt, files, key, rest[8 + size :])

    def key(self, slot: bytes, salt: bytes, files: Sequence[tuple[Path, str]]) -> MemoKey | None:
        """The key of an evaluation of ``files`` (each with the name reports give it)
        and ``salt`` (everything else it depends on); ``None`` when a file cannot be
        read (the evaluation says why).  Files unchanged since they were recorded are
        not read."""
        now = time.time_ns()
        signed: list[tuple[str, Signature]] = []
        for path, _ in files:
            try:
                st = os.stat(path)
            except (OSError, ValueError):
                return None
            if not stat.S_ISREG(st.st_mode):
                return None
            recent = now - max(st.st_mtime_ns, st.st_ctime_ns) < self._racy_ns
            sig = (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev)
            signed.append((str(path), None if recent else sig))
        signatures = tuple(signed)
        kept = self._open(slot)
        if (
            kept is not None
            and kept.salt == salt
            and kept.files == signatures
            and all(sig is not None for _, sig in signatures)
        ):
            return MemoKey(slot, kept.key, salt, signatures)
        parts = [salt]
        try:
            for path, shown in files:
                parts += [str(path).encode(), shown.encode(), read_bytes(path, shown)]
        except (InputError, OSError):
            self._kept.pop(slot, None)
            return None
        return MemoKey(slot, digest(*parts), salt, signatures)

    def recall(self, at: MemoKey) -> object | None:
        """The payload kept under ``at``, or ``None``."""
        kept = self._open(at.slot)
        self._kept.pop(at.slot, None)  # asked once per run: its bytes need not stay
        if kept is None or kept.key != at.key:
            return None
        try:
            with gc_paused():
                payload: object = marshal.loads(kept.body)
        except (EOFError, ValueError, TypeError):
            return None
        return payload

    def remember(self, at: MemoKey, payload: object) -> None:
        """Keep ``payload`` (built of marshal's types only) under ``at``.  A failure to
        write costs the next run time, never correctness."""
        try:
            header = marshal.dumps((at.salt, at.files, at.key))
            body = marshal.dumps(cast("Any", payload))
        except ValueError:  # not marshal's types: a bug of the caller, not worth a run
            return
        rest = len(header).to_bytes(8, "little") + header + body
        write_atomically(self._path(at.slot), MEMO_MAGIC + digest(rest) + rest)
        self._kept.pop(at.slot, None)  # what was read before is not what is kept now

    def still_answered(self, layout: StorageFormat, blobs: AnsweredBlobs) -> bool:
        """Whether every blob's file is still a regular file of the length its size was
        measured for (the one ``stat`` a warm run makes of each cached answer).  If so,
        they count as the cache's answers in the run's measurement line, as they would
        have been; if not, nothing is counted and the caller evaluates afresh."""
        try:
            if len(blobs.merkles) != sum(len(names) for _, names, _ in blobs.folders):
                return False
            if not all(all_have_sizes(d, names, sizes) for d, names, sizes in blobs.folders):
                return False
        except (TypeError, ValueError):  # a shape this code does not write: a miss
            return False
        if blobs.merkles:
            self._answered(layout, blobs.merkles)
        return True
