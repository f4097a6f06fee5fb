"""What a package is made of, as the accounting sees it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

MERKLE = re.compile(r"[0-9a-f]{64}")
META_FAR_PATH = "meta/"


class BlobEntry(NamedTuple):
    """One blob instance of a package: its content address and where it sits in the package.

    A named tuple, not a dataclass: a product has 100,000 instances, made on every run,
    and a tuple is made several times faster (and holds no reference the garbage
    collector has to follow)."""

    merkle: str
    path: str  # in-package path; "meta/" is the meta.far
    # Where the blob's bytes are on the host, if known.  A manifest's blobs keep the
    # joined string: a Path per instance costs more than reading the manifest, and only
    # the blobs that are measured or verified are ever opened.
    source: Path | str | None = None
    size: int | None = None  # uncompressed length as the manifest says (never the on-disk size)


@dataclass(frozen=True, slots=True)
class Package:
    name: str
    origin: str  # the manifest file or directory, as the reports name it
    kind: str  # "manifest", "directory" or "yocto"
    blobs: tuple[BlobEntry, ...]
    # Blobs whose size is known without measuring them: a symbolic link under the
    # "link" policy, a Yocto package's recorded bytes (key -> bytes).
    fixed_sizes: tuple[tuple[str, int], ...] = ()
    # Entries that cost nothing and are listed instead: (in-package path, why).
    uncounted: tuple[tuple[str, str], ...] = ()
