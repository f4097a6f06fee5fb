"""Storage formats a blob can be measured for: blobfs in one of its layouts, or Fxfs.

A budget file names a filesystem (``filesystem``) and, for blobfs, a layout
(``blobfs_layout``); the engine only needs the pair's one name, which also keys its
cache (each format has its own fingerprint).
"""

from __future__ import annotations

from typing import Final, Literal, get_args

from .blobfs import LAYOUTS, Layout

StorageFormat = Literal["compact", "deprecated_padded", "fxfs"]
STORAGE_FORMATS: Final[tuple[StorageFormat, ...]] = get_args(StorageFormat)
Filesystem = Literal["blobfs", "fxfs"]
FILESYSTEMS: Final[tuple[Filesystem, ...]] = get_args(Filesystem)


def check_format(value: str) -> StorageFormat:
    """``value`` as a ``StorageFormat``, or ``ValueError`` naming the accepted values."""
    for known in STORAGE_FORMATS:
        if value == known:
            return known
    raise ValueError(
        f"unknown storage format {value!r}; expected one of {', '.join(STORAGE_FORMATS)}"
    )


def storage_format(filesystem: Filesystem, layout: Layout) -> StorageFormat:
    return "fxfs" if filesystem == "fxfs" else layout


def filesystem_of(fmt: StorageFormat) -> Filesystem:
    return "fxfs" if fmt == "fxfs" else "blobfs"


def is_blobfs_layout(fmt: StorageFormat) -> bool:
    return fmt in LAYOUTS


def format_parameters(fmt: StorageFormat) -> dict[str, str]:
    """A result's parameters that say what its sizes are sizes of: ``blobfs_layout`` for
    blobfs (as results always had), ``filesystem: "fxfs"`` for Fxfs."""
    if fmt == "fxfs":
        return {"filesystem": "fxfs"}
    return {"blobfs_layout": fmt}
