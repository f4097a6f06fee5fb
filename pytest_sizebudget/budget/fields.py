"""Typed reads from parsed JSON5 that collect every problem with its key and position."""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterable, Mapping
from itertools import count, repeat
from pathlib import Path
from typing import Any

from pytest_sizebudget.errors import BudgetFileError, BudgetFileErrors, kind_of
from pytest_sizebudget.units import SizeSyntaxError, parse_size

from .json5_source import Json5Document
from .model import FileRef
from .positions import KeyPath as KeyPath
from .positions import dotted as dotted

_MISSING = object()

# Every key ffx's package check reads, in any version (V0 to V4): a file whose top level
# holds no other known key is in ffx's format.
FFX_TOP_KEYS = frozenset({"package_set_budgets", "resource_budgets", "total_budget_bytes"})
FFX_KEYS = FFX_TOP_KEYS | {
    *("name", "budget_bytes", "creep_budget_bytes", "packages", "merge", "paths")
}


class FieldReader:
    """Reads values out of one document, recording errors instead of stopping at the first."""

    def __init__(self, doc: Json5Document) -> None:
        self.doc = doc
        self.errors: list[BudgetFileError] = []
        # Keys that every budget entry (``section[i]``) accepts besides its kind's own:
        # listed with them when a key is unknown, so that "warn_att" finds "warn_at".
        self.entry_keys: tuple[str, ...] = ()
        # A file in ffx's format (``ffx_format``): an unknown key is a note, not an error,
        # because ffx (serde without deny_unknown_fields) ignores it; a key that looks like
        # a misspelling of one of the plugin's own keys stays an error.
        self.lenient = False
        self.notes: list[BudgetFileError] = []

    def note(self, path: KeyPath, message: str) -> None:
        """Something the file is accepted with, that the run should still say."""
        self.notes.append(self._at(path, message))

    def error(self, path: KeyPath, message: str) -> None:
        self.errors.append(self._at(path, message))

    def _at(self, path: KeyPath, message: str) -> BudgetFileError:
        pos = self.doc.positions.at(*path)
        return BudgetFileError(
            self.doc.display or self.doc.path,
            message,
            key=dotted(path),
            line=pos.line,
            column=pos.column,
        )

    def raise_if_errors(self) -> None:
        if self.errors:
            # The file is refused anyway: keys ffx would ignore may be why (a misspelt
            # required key), so they are listed with the errors.
            self.errors.extend(n for n in self.notes if n.message.startswith("unknown key"))
        self.errors.sort(key=lambda e: (e.line, e.column))
        if len(self.errors) == 1:
            raise self.errors[0]
        if self.errors:
            raise BudgetFileErrors(self.doc.display or self.doc.path, self.errors)

    def line(self, path: KeyPath) -> int:
        return self.doc.positions.at(*path).line

    def object(
        self, value: object, path: KeyPath, known: Iterable[str]
    ) -> Mapping[str, Any] | None:
        if not isinstance(value, dict):
            self.error(path, f"expected an object, got {kind_of(value)}")
            return None
        known = list(known)
        if len(path) == 2 and type(path[1]) is int:
            known.extend(k for k in self.entry_keys if k not in known)
        for key in value:
            if key not in known:
                close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                listed = f"known keys here: {', '.join(sorted(known))}"
                if self.lenient and (not close or close[0] in FFX_KEYS):
                    self.note(
                        (*path, key),
                        f"unknown key {key!r}{hint} ignored, as ffx ignores it (the file is in "
                        f"ffx's format; in a file with this plugin's own keys it is an error); "
                        f"{listed}",
                    )
                    continue
                self.error((*path, key), f"unknown key {key!r}{hint}; {listed}")
        return value

    def _get(self, obj: Mapping[str, Any], path: KeyPath, key: str, required: bool) -> Any:
        if key in obj:
            return obj[key]
        if required:
            self.error(path, f"missing required key {key!r}")
        return _MISSING

    def string(
        self,
        obj: Mapping[str, Any],
        path: KeyPath,
        key: str,
        *,
        required: bool = False,
        choices: tuple[str, ...] = (),
    ) -> str | None:
        value = self._get(obj, path, key, required)
        if value is _MISSING:
            return None
        if not isinstance(value, str):
            self.error((*path, key), f"expected a string, got {kind_of(value)}")
            return None
        if choices and value not in choices:
            self.error(
                (*path, key),
                f"must be one of {', '.join(repr(c) for c in choices)}, got {value!r}",
            )
            return None
        return value

    def size(
        self, obj: Mapping[str, Any], path: KeyPath, key: str, *, required: bool = False
    ) -> int | None:
        value = self._get(obj, path, key, required)
        if value is _MISSING:
            return None
        try:
            return parse_size(value)
        except SizeSyntaxError as exc:
            self.error((*path, key), str(exc))
            return None

    def boolean(self, obj: Mapping[str, Any], path: KeyPath, key: str) -> bool | None:
        value = self._get(obj, path, key, False)
        if value is _MISSING:
            return None
        if not isinstance(value, bool):
            self.error((*path, key), f"expected true or false, got {kind_of(value)}")
            return None
        return value

    def list_of(
        self,
        obj: Mapping[str, Any],
        path: KeyPath,
        key: str,
        *,
        required: bool = False,
        allow_single: bool = False,
    ) -> list[tuple[KeyPath, Any]] | None:
        """Elements of a list with their key paths; ``allow_single`` accepts one bare value."""
        value = self._get(obj, path, key, required)
        if value is _MISSING:
            return None
        if allow_single and not isinstance(value, list):
            return [((*path, key), value)]
        if not isinstance(value, list):
            self.error((*path, key), f"expected a list, got {kind_of(value)}")
            return None
        return [((*path, key, i), v) for i, v in enumerate(value)]

    def file_refs(
        self,
        obj: Mapping[str, Any],
        path: KeyPath,
        key: str,
        root: Path,
        *,
        required: bool = False,
        allow_single: bool = False,
    ) -> tuple[FileRef, ...] | None:
        """``strings`` as paths resolved from ``root``: the bulk of a large file."""
        value = obj.get(key)
        if type(value) is list and _all_non_empty_strings(value):
            # FileRef called from C (starmap), sharing one key path: a third of the time
            # of a list comprehension that makes a key path per reference.
            base = (*path, key)
            return tuple(map(FileRef, value, repeat(root), repeat(base), count()))
        items = self.strings(obj, path, key, required=required, allow_single=allow_single)
        return None if items is None else tuple(FileRef(v, root, p) for p, v in items)

    def strings(
        self,
        obj: Mapping[str, Any],
        path: KeyPath,
        key: str,
        *,
        required: bool = False,
        allow_single: bool = False,
    ) -> list[tuple[KeyPath, str]] | None:
        value = obj.get(key)
        if type(value) is list and _all_non_empty_strings(value):
            return [((*path, key, i), v) for i, v in enumerate(value)]
        items = self.list_of(obj, path, key, required=required, allow_single=allow_single)
        if items is None:
            return None
        out = []
        for item_path, v in items:
            if isinstance(v, str) and v:
                out.append((item_path, v))
            else:
                self.error(item_path, f"expected a non-empty string, got {kind_of(v)}")
        return out


def _all_non_empty_strings(values: list[Any]) -> bool:
    try:
        # At C speed: str.__len__ raises TypeError for anything but a string.
        return all(map(str.__len__, values))
    except TypeError:
        return False


def budget_name(r: FieldReader, entry: Mapping[str, Any], path: KeyPath) -> str | None:
    """The entry's ``name``: required, and not blank."""
    name = r.string(entry, path, "name", required=True)
    if name is not None and not name.strip():
        r.error((*path, "name"), "must not be empty")
        return None
    return name


def common_fields(
    r: FieldReader, entry: Mapping[str, Any], path: KeyPath, budget_key: str = "budget_bytes"
) -> dict[str, Any] | None:
    """The keys every budget kind has, as ``Budget`` keyword arguments (None when invalid).

    ``budget_key`` names the limit where a kind calls it otherwise (``max_contents_bytes``).
    """
    name = budget_name(r, entry, path)
    budget = r.size(entry, path, budget_key, required=True)
    creep = r.size(entry, path, "creep_budget_bytes")
    owner = r.string(entry, path, "owner")
    if name is None or budget is None:
        return None
    return {
        "name": name,
        "key": dotted(path),
        "line": r.line(path),
        "budget_bytes": budget,
        "creep_budget_bytes": creep or 0,
        "owner": owner,
    }


SHARED_KEYS = ("warn_at", "warn_bytes", "creep_budget_percent")
"""Keys every kind's entries accept, read here rather than by the kinds: a kind's parser
never sees them, so a new kind has warnings and relative creep limits without code."""


def split_shared(
    r: FieldReader, entry: Mapping[str, Any], path: KeyPath
) -> tuple[Mapping[str, Any], dict[str, Any]]:
    """``entry`` without the shared keys, and the valid ones read (as ``Budget`` fields)."""
    rest = {k: v for k, v in entry.items() if k not in SHARED_KEYS}
    shared: dict[str, Any] = {}
    warn_at = percent(r, entry, path, "warn_at", upper=100)
    if warn_at is not None:
        shared["warn_at"] = warn_at
    warn_bytes = r.size(entry, path, "warn_bytes")
    if warn_bytes is not None:
        shared["warn_bytes"] = warn_bytes
    creep = percent(r, entry, path, "creep_budget_percent")
    if creep is not None:
        shared["creep_budget_percent"] = creep
    return rest, shared


def check_shared(
    r: FieldReader,
    path: KeyPath,
    shared: Mapping[str, Any],
    budget_bytes: int,
    creep_bytes: int | None,
) -> bool:
    """Whether the shared keys read make sense beside the budget's own limits.

    ``creep_bytes``: the entry's ``creep_budget_bytes`` when it has the key, else None.
    """
    ok = True
    warn_bytes = shared.get("warn_bytes")
    if warn_bytes is not None and warn_bytes >= budget_bytes:
        r.error(
            (*path, "warn_bytes"),
            f"warn_bytes ({warn_bytes:,}) is not below the budget ({budget_bytes:,}): "
            "it could never warn",
        )
        ok = False
    if "creep_budget_percent" in shared and creep_bytes == 0:
        r.error(
            (*path, "creep_budget_percent"),
            "creep_budget_bytes is 0, so no growth is allowed whatever the percentage "
            "(the stricter limit applies): remove one of them",
        )
        ok = False
    return ok


def percent(
    r: FieldReader, entry: Mapping[str, Any], path: KeyPath, key: str, *, upper: float | None = None
) -> float | None:
    """A percentage: a finite number from 0 (to ``upper``); never a boolean or a string."""
    if key not in entry:
        return None
    value = entry[key]
    if isinstance(value, bool) or not isinstance(value, int | float):
        r.error((*path, key), f"expected a percentage (a number such as 95), got {kind_of(value)}")
        return None
    if not math.isfinite(value) or value < 0 or (upper is not None and value > upper):
        bounds = f"between 0 and {upper:g}" if upper is not None else "of at least 0"
        r.error((*path, key), f"must be a percentage {bounds}, got {value!r}")
        return None
    return float(value)
