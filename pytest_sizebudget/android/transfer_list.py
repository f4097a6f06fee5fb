"""Block-based (non-A/B) OTA: the stash a ``<partition>.transfer.list`` needs on /cache.

Format (``tools/releasetools/blockimgdiff.py``, ``WriteTransfers``; android_yocto.md §3):
line 1 the format version (1 to 4), line 2 the blocks written, and from version 2 on,
line 3 the stash slots (0 from version 3) and line 4 the most blocks stashed at once,
explicit stashes and the implicit ones of commands whose source overlaps their target
alike; then one command per line.  releasetools requires that peak × block size stay
within ``cache_size × stash_threshold`` (default 0.8).

The peak comes from line 4, the number the updater itself works with.  The explicit
``stash``/``free`` commands are replayed too, as a check: their peak can only be lower
(implicit stashes are not replayed), so a list whose stash commands exceed its own line 4
is refused as inconsistent.  Range arguments are ``<count>,<a>,<b>,...``: half-open block
ranges, ``count`` numbers.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pytest_sizebudget.paths import open_file

from .info import InfoError

SUFFIX = ".transfer.list"
MAX_LIST_BYTES = 256 << 20


@dataclass(frozen=True, slots=True)
class StashUse:
    partition: str
    version: int
    total_blocks: int  # line 2: blocks the update writes
    max_stashed_blocks: int  # line 4 (0 for version 1, which has no stash)
    explicit_peak_blocks: int  # the stash/free commands replayed
    commands: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "partition": self.partition,
            "version": self.version,
            "total_blocks": self.total_blocks,
            "max_stashed_blocks": self.max_stashed_blocks,
            "explicit_peak_blocks": self.explicit_peak_blocks,
            "commands": self.commands,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> StashUse:
        return cls(
            str(d["partition"]),
            int(d["version"]),
            int(d["total_blocks"]),
            int(d["max_stashed_blocks"]),
            int(d["explicit_peak_blocks"]),
            int(d["commands"]),
        )


def _number(text: str, where: str, what: str) -> int:
    if not text.isdigit():
        raise InfoError(f"{where}: {what} {text!r} is not a whole number")
    return int(text)


def range_blocks(text: str, where: str) -> int:
    """Blocks in ``<count>,<a>,<b>,...``."""
    parts = text.split(",")
    numbers = [_number(p, where, "range value") for p in parts]
    count, bounds = numbers[0], numbers[1:]
    if count != len(bounds) or count % 2:
        raise InfoError(f"{where}: range {text!r} does not hold {count} numbers in pairs")
    total = 0
    for lo, hi in zip(bounds[::2], bounds[1::2], strict=True):
        if hi <= lo:
            raise InfoError(f"{where}: range {text!r} has an empty or reversed pair {lo},{hi}")
        total += hi - lo
    return total


def parse(lines: Iterable[str], partition: str, name: str) -> StashUse:
    it = iter(enumerate(lines, start=1))
    header: list[int] = []
    for number, line in it:
        header.append(_number(line.strip(), f"{name}:{number}", "header value"))
        if len(header) == 1 and not 1 <= header[0] <= 4:
            raise InfoError(f"{name}:1: transfer list version {header[0]} (known: 1 to 4)")
        if len(header) == (2 if header[0] == 1 else 4):
            break
    need = 2 if header and header[0] == 1 else 4
    if len(header) < need:
        raise InfoError(f"{name}: truncated: the header has {len(header)} of {need} lines")
    version = header[0]
    stashed: dict[str, int] = {}
    current = peak = commands = 0
    for number, line in it:
        words = line.split()
        if not words:
            continue
        commands += 1
        where = f"{name}:{number}"
        if words[0] == "stash" and len(words) == 3:
            if words[1] not in stashed:  # the same content stashed twice is kept once
                stashed[words[1]] = range_blocks(words[2], where)
                current += stashed[words[1]]
                peak = max(peak, current)
        elif words[0] == "free" and len(words) == 2:
            current -= stashed.pop(words[1], 0)
        elif words[0] in ("stash", "free"):
            raise InfoError(f"{where}: malformed {words[0]} command: {line.strip()!r}")
    declared = header[3] if version > 1 else 0
    if peak > declared:
        raise InfoError(
            f"{name}:4: declares at most {declared:,} stashed blocks, but its stash commands "
            f"hold {peak:,} at once"
        )
    return StashUse(partition, version, header[1], declared, peak, commands)


def _partition(file_name: str) -> str:
    base = file_name.rsplit("/", 1)[-1]
    return base[: -len(SUFFIX)] if base.endswith(SUFFIX) else base


def load(path: Path, shown: str) -> list[StashUse]:
    """One transfer list, or every ``*.transfer.list`` of a block OTA zip."""
    f, st = open_file(path, shown)
    with f:
        if zipfile.is_zipfile(f):
            f.seek(0)
            try:
                with zipfile.ZipFile(f) as z:
                    found = sorted(n for n in z.namelist() if n.endswith(SUFFIX))
                    if not found:
                        raise InfoError(f"{shown}: the zip holds no *.transfer.list")
                    uses = []
                    for member in found:
                        info = z.getinfo(member)
                        if info.file_size > MAX_LIST_BYTES:
                            raise InfoError(
                                f"{shown}:{member}: {info.file_size:,} bytes is too large"
                            )
                        text = _decode(z.read(info), f"{shown}:{member}")
                        uses.append(parse(_lines(text), _partition(member), f"{shown}:{member}"))
                    return uses
            except (zipfile.BadZipFile, EOFError, OSError) as exc:
                raise InfoError(f"{shown}: cannot be read as a zip: {exc}") from None
        if st.st_size > MAX_LIST_BYTES:
            raise InfoError(f"{shown}: {st.st_size:,} bytes is too large for a transfer list")
        f.seek(0)
        text = _decode(f.read(), shown)
        return [parse(_lines(text), _partition(path.name), shown)]


def _lines(text: str) -> list[str]:
    """The lines of a file that ends with a newline (the last one is not an empty line)."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def _decode(data: bytes, name: str) -> str:
    try:
        return data.decode("ascii")
    except UnicodeDecodeError as exc:
        raise InfoError(
            f"{name}: byte offset {exc.start}: not a transfer list (not ASCII)"
        ) from None
