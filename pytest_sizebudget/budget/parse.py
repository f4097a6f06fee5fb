"""Budget file -> ``BudgetFile``: every problem found is reported at once, with positions.

The top-level keys are the sections of the run's budget kinds (``kinds/``), the file's
settings and ``total_budget_bytes``; each kind parses its own entries.  With the built-in
kinds, Fuchsia's ``ffx assembly size-check package`` budget JSON of every version is
accepted (the V0 top-level list, ``merge``, ``resource_budgets``).  Unknown keys are
errors: a typo must not silently turn a budget off.  Except in a file in ffx's format (no
top-level key that only this plugin reads): ffx ignores keys it does not know, so such a
file is accepted as ffx accepts it, and each ignored key is a note (a warning of the run),
unless it looks like a misspelling of one of the plugin's own keys.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, cast

from pytest_sizebudget.errors import BudgetFileError

from .fields import FFX_TOP_KEYS, SHARED_KEYS, FieldReader, check_shared, split_shared
from .json5_source import Json5Document, load_json5
from .model import (
    DEFAULT_SHARING,
    FILESYSTEMS,
    LAYOUTS,
    SHARING_MODES,
    Budget,
    BudgetFile,
    FileRef,
    Filesystem,
    Layout,
    Sharing,
    TotalBudget,
)
from .positions import Prefixed

if TYPE_CHECKING:
    from pytest_sizebudget.kinds.registry import KindRegistry

_SHARED = frozenset(SHARED_KEYS)
_SETTINGS = (
    "blob_sizes",
    "sharing",
    "blobfs_layout",
    "filesystem",
    "root",
    "include_subpackages",
)


def load_budget_file(
    path: Path,
    *,
    display: str | None = None,
    root_override: Path | None = None,
    kinds: KindRegistry | None = None,
) -> BudgetFile:
    """Read and validate a budget file; raises ``BudgetFileError(s)`` naming every problem.

    ``kinds``: the run's budget kinds (default: the built-in ones).
    """
    path = path.absolute()
    with _collector_paused():
        return parse_budget_document(
            load_json5(path, display), display=display, root_override=root_override, kinds=kinds
        )


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """No cyclic garbage collection while a file is read and validated.

    Reading makes no cycles, but it allocates objects by the million in a large file
    (values, key paths, references), and each collection of the oldest generation walks
    all of them again: a 50 MB file took 10.6 s with the collector, 3.9 s without
    (benchmarks/bench_budget_file.py).  A caller that paused it already keeps it paused.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def parse_budget_document(
    doc: Json5Document,
    *,
    display: str | None = None,
    root_override: Path | None = None,
    kinds: KindRegistry | None = None,
) -> BudgetFile:
    if kinds is None:
        from pytest_sizebudget.kinds.builtin import builtin_kinds

        kinds = builtin_kinds()
    sections = kinds.sections
    r = FieldReader(doc)
    r.entry_keys = SHARED_KEYS
    value = doc.value
    if isinstance(value, list) and kinds.list_section is not None:
        # V0 of ffx's format: a bare list of package-set budgets.
        value = {kinds.list_section: value}
        r.doc = Json5Document(
            doc.path, value, _wrap_positions(doc, kinds.list_section), doc.display
        )
    known_top = (*sections, "total_budget_bytes", *_SETTINGS)
    if isinstance(value, dict):
        # ffx's format: no key at the top that only this plugin reads (settings, other
        # kinds' sections).  ffx ignores keys it does not know, so such a file may have
        # some; they are noted, not refused.
        r.lenient = all(k in FFX_TOP_KEYS for k in value if k in known_top)
    top = r.object(value, (), known_top)
    if top is None:
        r.raise_if_errors()
        raise AssertionError("unreachable")  # pragma: no cover

    base = doc.path.parent
    root_raw = r.string(top, (), "root")
    root = root_override or (base / root_raw if root_raw else base)
    sharing = r.string(top, (), "sharing", choices=SHARING_MODES) or DEFAULT_SHARING
    layout = r.string(top, (), "blobfs_layout", choices=LAYOUTS) or "compact"
    filesystem = r.string(top, (), "filesystem", choices=FILESYSTEMS)
    if filesystem == "fxfs" and "blobfs_layout" in top:
        r.error(
            ("blobfs_layout",),
            'applies to filesystem "blobfs" only; this file says filesystem "fxfs" '
            "(Fxfs has one layout): remove one of the two",
        )
    subpackages = r.boolean(top, (), "include_subpackages")
    blob_sizes = r.strings(top, (), "blob_sizes", allow_single=True) or []

    budgets: list[Budget] = []
    by_name: dict[str, Budget] = {}  # a dict: files with tens of thousands of budgets exist
    entries = 0
    for key, parser in sections.items():
        for entry_path, entry in r.list_of(top, (), key) or []:
            entries += 1
            shared: dict[str, object] = {}
            if type(entry) is dict and not _SHARED.isdisjoint(entry):
                # The keys every kind has beyond its own: read here, never by the kind.
                entry, shared = split_shared(r, entry, entry_path)
            parsed = parser(r, entry, entry_path, root)
            if parsed is None:
                continue
            # An entry may stand for several budgets (an ELF file's memory regions).
            for budget in (parsed,) if isinstance(parsed, Budget) else parsed:
                if shared:
                    creep = budget.creep_budget_bytes if "creep_budget_bytes" in entry else None
                    if not check_shared(r, entry_path, shared, budget.budget_bytes, creep):
                        continue
                    budget = replace(budget, **shared)  # type: ignore[arg-type]
                clash = by_name.setdefault(budget.name, budget)
                if clash is not budget:
                    r.error(
                        (*entry_path, "name"),
                        f"budget name {budget.name!r} is already used by {clash.key} on line "
                        f"{clash.line}; names must be unique because reports are keyed by them",
                    )
                budgets.append(budget)
    if not entries:
        # As ffx does: a file that checks nothing is a mistake, not a pass.
        keys = list(sections)
        listed = f"{', '.join(keys[:-1])} and {keys[-1]}" if len(keys) > 1 else keys[0]
        r.error((), f"no budgets: {listed} are missing or empty")

    total = None
    total_bytes = r.size(top, (), "total_budget_bytes")
    if total_bytes is not None:
        total = TotalBudget(total_bytes=total_bytes, line=r.line(("total_budget_bytes",)))
        if r.lenient:
            r.note(
                ("total_budget_bytes",),
                "current ffx (V4) ignores this key; this plugin checks it as ffx V2 and V3 "
                "did (the budgets must add up to it exactly)",
            )

    r.raise_if_errors()
    return BudgetFile(
        path=doc.path,
        display=display or str(doc.path),
        root=root,
        sharing=cast(Sharing, sharing),
        blobfs_layout=cast(Layout, layout),
        filesystem=cast(Filesystem | None, filesystem),
        include_subpackages=bool(subpackages),
        blob_sizes=tuple(FileRef(raw=v, root=root, where=p) for p, v in blob_sizes),
        budgets=tuple(budgets),
        total=total,
        notes=tuple(n.describe() for n in sorted(r.notes, key=lambda n: (n.line, n.column))),
    )


def _wrap_positions(doc: Json5Document, section: str) -> Prefixed:
    return Prefixed(doc.positions, section)


__all__ = ["BudgetFileError", "load_budget_file", "parse_budget_document"]
