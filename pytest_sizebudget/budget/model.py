"""Budget-file data: frozen, picklable, free of pytest.

A ``BudgetFile`` is what a budget file says, validated, with paths resolved; it holds
no measurement.  Each ``Budget`` becomes one pytest item.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal, NamedTuple

from .positions import KeyPath, dotted

Sharing = Literal["global", "per_set"]
Layout = Literal["compact", "deprecated_padded"]
Filesystem = Literal["blobfs", "fxfs"]
SHARING_MODES: tuple[Sharing, ...] = ("global", "per_set")
LAYOUTS: tuple[Layout, ...] = ("compact", "deprecated_padded")
FILESYSTEMS: tuple[Filesystem, ...] = ("blobfs", "fxfs")

# V2 of ffx's package check charged a merged set's meta.far as this fixed size.
MERGED_META_FAR_BYTES = 32768


class FileRef(NamedTuple):
    """A path written in a budget file: as written, resolved, and the key that holds it.

    A large budget file names hundreds of thousands of paths, and making a ``Path`` and
    a key's text for each took longer than parsing the file, so both are made when
    used (once or twice per reference, when its budget is evaluated).  A named tuple,
    immutable like the frozen dataclasses around it, because it is made three times
    faster than one (no ``object.__setattr__`` per field).
    """

    raw: str
    root: Path  # a relative ``raw`` is resolved from here
    where: KeyPath | str  # the key that holds it, as a key path or as text
    item: int | None = None  # its index in the list at ``where`` (one key path per list)

    @property
    def path(self) -> Path:
        return self.root / self.raw

    @property
    def key(self) -> str:
        if isinstance(self.where, str):
            return self.where
        return dotted(self.where if self.item is None else (*self.where, self.item))


@dataclass(frozen=True, slots=True, kw_only=True)
class Budget:
    name: str
    key: str  # e.g. "package_set_budgets[2]"
    line: int  # 1-based line of the entry in its file
    budget_bytes: int
    creep_budget_bytes: int = 0
    owner: str | None = None

    @property
    def kind(self) -> str:
        """The result kind (``BudgetResult.kind``); each kind's subclass names its own."""
        raise NotImplementedError


@dataclass(frozen=True, slots=True, kw_only=True)
class TotalBudget:
    """``total_budget_bytes``: every budget of the file must add up to it exactly."""

    total_bytes: int
    line: int


@dataclass(frozen=True, slots=True, kw_only=True)
class BudgetFile:
    path: Path  # absolute
    display: str  # how messages and reports name the file
    root: Path  # relative paths inside the file are resolved from here
    sharing: Sharing = "global"
    blobfs_layout: Layout = "compact"
    # ``filesystem`` as written; None: not written (blobfs, unless an images manifest
    # the budget reads says otherwise).
    filesystem: Filesystem | None = None
    include_subpackages: bool = False
    blob_sizes: tuple[FileRef, ...] = ()
    budgets: tuple[Budget, ...] = ()
    total: TotalBudget | None = None

    @property
    def storage_format(self) -> Literal["compact", "deprecated_padded", "fxfs"]:
        """What blobs are measured as when nothing else decides: Fxfs, or blobfs in the
        file's layout (``measure.formats.StorageFormat``)."""
        return "fxfs" if self.filesystem == "fxfs" else self.blobfs_layout
