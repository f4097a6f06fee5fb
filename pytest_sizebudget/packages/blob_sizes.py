"""On-disk blob sizes from Fuchsia ``blobs.json`` files (the blobfs tool's ``--json-output``).

Only ``merkle`` and ``size`` are read, as ffx does.  The same merkle listed twice
with the same size is fine; with two sizes it is an error naming both places.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pytest_sizebudget.errors import InputError, kind_of
from pytest_sizebudget.input_json import preview, read_json
from pytest_sizebudget.paths import printable
from pytest_sizebudget.units import MAX_SIZE

from .model import MERKLE


@dataclass(frozen=True, slots=True)
class BlobsJson:
    path: Path
    sizes: Mapping[str, tuple[int, int]]  # merkle -> (size, index of the entry)


def load_blobs_json(path: Path, display: str | None = None) -> BlobsJson:
    """Sizes by merkle; errors name the file as ``display`` (default: ``path``)."""
    shown = printable(display or str(path))
    # Only merkles (64 hex digits once checked) and sizes are read, each checked below:
    # no walk over every value first.
    data = read_json(path, shown, check_values=False)
    if not isinstance(data, list):
        raise InputError(
            f"{shown}: a blobs.json must be a JSON list of {{merkle, size}} objects, "
            f"got {kind_of(data)}"
        )
    sizes: dict[str, tuple[int, int]] = {}
    for i, entry in enumerate(data):
        if not isinstance(entry, dict):
            raise InputError(f"{shown}: [{i}]: expected an object, got {kind_of(entry)}")
        merkle, size = entry.get("merkle"), entry.get("size")
        if not isinstance(merkle, str) or not MERKLE.fullmatch(merkle):
            raise InputError(
                f"{shown}: [{i}].merkle: expected 64 lowercase hex digits, got {preview(merkle)}"
            )
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise InputError(
                f"{shown}: [{i}].size: expected a non-negative integer, got {preview(size)}"
            )
        if size > MAX_SIZE:
            raise InputError(f"{shown}: [{i}].size: {preview(size)} is more than 2**63 - 1 bytes")
        if merkle in sizes and sizes[merkle][0] != size:
            first_size, first_i = sizes[merkle]
            raise InputError(
                f"{shown}: two blobs with the same hash {merkle} but different sizes: "
                f"{first_size} at [{first_i}] and {size} at [{i}]"
            )
        sizes.setdefault(merkle, (size, i))
    return BlobsJson(path, sizes)


@dataclass(slots=True)
class BlobSizeIndex:
    """Sizes by merkle from several blobs.json files, remembering where each came from."""

    sizes: dict[str, int] = field(default_factory=dict)
    origin: dict[str, str] = field(default_factory=dict)

    def add(self, blobs_json: BlobsJson, display: str) -> None:
        for merkle, (size, i) in blobs_json.sizes.items():
            known = self.sizes.get(merkle)
            if known is None:
                self.sizes[merkle] = size
                self.origin[merkle] = f"{display}[{i}]"
            elif known != size:
                raise InputError(
                    f"two blobs with the same hash {merkle} but different sizes: "
                    f"{known} in {self.origin[merkle]} and {size} in {display}[{i}]"
                )

    def get(self, merkle: str) -> int | None:
        return self.sizes.get(merkle)


class BlobSizeStore:
    """Parses each blobs.json once per process and builds indexes for budget files."""

    def __init__(self, extra: Sequence[Path] = ()) -> None:
        self.extra = tuple(extra)
        self._files: dict[Path, BlobsJson] = {}
        self._lock = threading.Lock()

    def file(self, path: Path, display: str | None = None) -> BlobsJson:
        key = path.absolute()
        with self._lock:
            if key not in self._files:
                self._files[key] = load_blobs_json(key, display or str(path))
            return self._files[key]

    def index(self, paths: Sequence[tuple[Path, str]]) -> BlobSizeIndex:
        """Index of the given (path, display) files, then the command line's extra files."""
        index = BlobSizeIndex()
        for path, display in (*paths, *((p, str(p)) for p in self.extra)):
            index.add(self.file(path, display), display)
        return index
