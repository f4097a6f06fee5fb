"""Memory regions and how much of each a linked program uses, as GNU ld counts it.

ld's ``--print-memory-usage`` prints, per MEMORY region, the region's allocation pointer
minus its origin: an extent (the highest end reached by a section placed in the region),
not a sum of section sizes, so gaps, alignment and padding inside the region count.
From a linked ELF the same figure is "highest end of the address ranges that start in
the region, minus the origin", where a section occupies its run-time range (VMA) and a
section with file contents whose load address differs also occupies its load range
(LMA: the initial bytes of ``.data`` in flash).  The ELF side of this lives in
``elf.py``; here are the regions and the arithmetic, free of any file format.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from pytest_sizebudget.errors import InputError

Place = Literal["run", "load"]  # a section's run-time (VMA) or load (LMA) address range


@dataclass(frozen=True, slots=True)
class Region:
    name: str
    origin: int
    length: int
    attributes: str = ""  # as the map prints them (``xr``, ``!xr``), for display only

    @property
    def end(self) -> int:
        return self.origin + self.length

    def holds(self, address: int) -> bool:
        return self.origin <= address < self.end


@dataclass(frozen=True, slots=True)
class Range:
    """One address range a section (or, in a file without section headers, a segment)
    occupies: at its run-time address, or at its load address."""

    name: str
    start: int
    size: int
    place: Place = "run"

    @property
    def end(self) -> int:
        return self.start + self.size


@dataclass(frozen=True, slots=True)
class RegionUsage:
    region: Region
    used_bytes: int  # what ld prints as "Used Size"
    ranges: tuple[Range, ...]  # what is placed in the region, largest first


class LayoutError(InputError):
    """Regions that cannot be used (overlapping), or sections that lie in none of them."""


def overlapping(regions: Sequence[Region]) -> list[tuple[Region, Region]]:
    """Pairs of regions whose address ranges overlap (zero-length regions hold nothing)."""
    ordered = sorted((r for r in regions if r.length > 0), key=lambda r: (r.origin, r.end))
    pairs = []
    reach: Region | None = None  # the region reaching furthest so far
    for region in ordered:
        if reach is not None and region.origin < reach.end:
            pairs.append((reach, region))
        if reach is None or region.end > reach.end:
            reach = region
    return pairs


def overlap_message(pairs: Iterable[tuple[Region, Region]]) -> str:
    shown = "; ".join(f"{a.name} {_span(a)} and {b.name} {_span(b)}" for a, b in pairs)
    return (
        f"memory regions overlap ({shown}): a section's address must belong to one region "
        "for its bytes to be counted once"
    )


def _span(region: Region) -> str:
    return f"[{region.origin:#x}, {region.end:#x})"


def region_usage(regions: Sequence[Region], ranges: Iterable[Range]) -> list[RegionUsage]:
    """Each region's usage, in the order of ``regions``.

    A range belongs to the region that holds its start; one that runs past the region's
    end counts to its end, as ld reports more than 100 %.  A region that overflowed
    (a link with ``--noinhibit-exec``) pushes the sections ld placed after the
    overflowing one past its end, outside every region: such a range belongs to the
    overflowing region below it, as ld's pointer for that region kept moving.  Raises
    ``LayoutError`` when regions overlap or when any other range lies outside every
    region.
    """
    pairs = overlapping(regions)
    if pairs:
        raise LayoutError(overlap_message(pairs))
    ordered = sorted((r for r in regions if r.length > 0), key=lambda r: r.origin)
    origins = [r.origin for r in ordered]
    placed: dict[str, list[Range]] = {r.name: [] for r in regions}
    reach: dict[str, int] = {}  # the highest end placed in each region so far
    outside: list[Range] = []
    for rng in sorted(ranges, key=lambda r: (r.start, r.end, r.name, r.place)):
        if rng.size <= 0:
            continue  # ld's pointer does not move for an empty section
        i = bisect_right(origins, rng.start) - 1
        below = ordered[i] if i >= 0 else None
        if below is None or not (
            below.holds(rng.start) or reach.get(below.name, below.origin) > below.end
        ):
            outside.append(rng)
            continue
        placed[below.name].append(rng)
        reach[below.name] = max(reach.get(below.name, below.origin), rng.end)
    if outside:
        raise LayoutError(outside_message(outside, regions))
    out = []
    for region in regions:
        held = placed[region.name]
        used = reach.get(region.name, region.origin) - region.origin
        held.sort(key=lambda r: (-r.size, r.start, r.name, r.place))
        out.append(RegionUsage(region, used, tuple(held)))
    return out


def outside_message(outside: Sequence[Range], regions: Sequence[Region]) -> str:
    listed = ", ".join(
        f"{r.name} ({'load address' if r.place == 'load' else 'address'} {r.start:#x}, "
        f"{r.size:,} B)"
        for r in sorted(outside, key=lambda r: (r.start, r.name))[:20]
    )
    more = f" and {len(outside) - 20} more" if len(outside) > 20 else ""
    known = ", ".join(f"{r.name} {_span(r)}" for r in regions) or "none"
    return (
        f"{len(outside)} allocated section range(s) lie outside every memory region: "
        f"{listed}{more}; regions: {known}. The regions do not describe this program "
        "(a wrong map file, or a region missing from the inline list)"
    )
