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
# What a file without ``sharing`` gets: current ffx (V4) counts shares within each set.
DEFAULT_SHARING: Sharing = "per_set"
Layout = Literal["compact", "deprecated_padded"]
Filesystem = Literal["blobfs", "fxfs"]
SHARING_MODES: tuple[Sharing, ...] = ("global", "per_set")
SHARING_MEANING: dict[str, str] = {
    "per_set": "shares counted within each set, as current ffx (V4)",
    "global": "shares counted across all sets of a file, as RFC-0144 and ffx V0 to V3",
}
LAYOUTS: tuple[Layout, ...] = ("compact", "deprecated_padded")
FILESYSTEMS: tuple[Filesystem, ...] = ("blobfs", "fxfs")


def describe_sharing(mode: str) -> str:
    """``per_set (shares counted within each set, as current ffx (V4))``."""
    meaning = SHARING_MEANING.get(mode)
    return f"{mode} ({meaning})" if meaning else mode


# ffx's package check writes this owner for every budget (``to_json_output``).
FFX_OWNER_BASE = "http://go/fuchsia-size-stats/single_component/"
_FORM_SAFE = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789*-._")


def form_urlencode(text: str) -> str:
    """application/x-www-form-urlencoded, as the ``url`` crate ffx uses writes it: a space
    is ``+``, bytes other than letters, digits and ``*-._`` are ``%XX`` (upper case) of
    their UTF-8.  (Python's ``quote_plus`` differs on ``~`` and ``*``.)"""
    return "".join(
        chr(b) if b in _FORM_SAFE else "+" if b == 0x20 else f"%{b:02X}"
        for b in text.encode("utf-8", "surrogatepass")
    )


def ffx_owner(name: str) -> str:
    """``<name>.owner`` as ffx writes it: its go/ link with ``f=component:in:<name>``."""
    return f"{FFX_OWNER_BASE}?f={form_urlencode(f'component:in:{name}')}"


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
    # Shared by every kind (read by the core, ``fields.shared_limits``): pass with a
    # warning above ``warn_at`` percent of budget_bytes or above ``warn_bytes``; growth
    # since the baseline limited to ``creep_budget_percent`` of the baseline's used bytes.
    warn_at: float | None = None
    warn_bytes: int | None = None
    creep_budget_percent: float | None = None

    @property
    def kind(self) -> str:
        """The result kind (``BudgetResult.kind``); each kind's subclass names its own."""
        raise NotImplementedError

    @property
    def default_owner(self) -> str | None:
        """The owner reports give a budget without ``owner`` and without the ini template
        (``.owner`` in the Gerrit report): none, unless its kind says otherwise."""
        return None


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
    sharing: Sharing = DEFAULT_SHARING
    blobfs_layout: Layout = "compact"
    # ``filesystem`` as written; None: not written (blobfs, unless an images manifest
    # the budget reads says otherwise).
    filesystem: Filesystem | None = None
    include_subpackages: bool = False
    blob_sizes: tuple[FileRef, ...] = ()
    budgets: tuple[Budget, ...] = ()
    total: TotalBudget | None = None
    # What the file is accepted with but the run should say (``path:line:col: key: text``):
    # keys ffx ignores, in a file in ffx's format.
    notes: tuple[str, ...] = ()

    @property
    def storage_format(self) -> Literal["compact", "deprecated_padded", "fxfs"]:
        """What blobs are measured as when nothing else decides: Fxfs, or blobfs in the
        file's layout (``measure.formats.StorageFormat``)."""
        return "fxfs" if self.filesystem == "fxfs" else self.blobfs_layout
