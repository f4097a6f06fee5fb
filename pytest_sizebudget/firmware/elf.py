"""A linked ELF file's allocated address ranges, read with pyelftools.

pyelftools (pure Python, public domain, typed) rather than a reader of our own: it
handles both classes and byte orders, and reads lazily (only the header tables, never
section contents), which is all this needs.  What it cannot check for us is checked
here: the file must be a linked program (not a relocatable ``.o``) and every number it
gives is turned into our own ``Range``.

The ranges follow GNU ld's accounting (``regions.py``): each allocated section with a
size occupies its run-time range; a section with file contents whose load address (from
its ``PT_LOAD`` program header: ``p_paddr + sh_addr - p_vaddr``) differs also occupies
its load range; ``.tbss`` (TLS without contents) occupies nothing, because it overlays
``.bss`` and does not advance ld's region pointer.  A file without section headers
(stripped with ``sstrip`` or made by a tool that writes none) is read from its
``PT_LOAD`` program headers alone: a segment's ``p_memsz`` at its run-time address, its
``p_filesz`` at its load address when that differs.
"""

from __future__ import annotations

import struct
from bisect import bisect_right
from dataclasses import dataclass
from itertools import accumulate
from pathlib import Path
from typing import Any, Literal

from elftools.common.exceptions import ELFError, ELFParseError
from elftools.construct import ConstructError
from elftools.elf.constants import SH_FLAGS
from elftools.elf.elffile import ELFFile

from pytest_sizebudget.errors import InputError
from pytest_sizebudget.paths import PathProblem, open_file

from .regions import Range

Source = Literal["sections", "program headers"]


class ElfFormatError(InputError):
    """Not a linked ELF program, or a damaged one."""


@dataclass(frozen=True, slots=True)
class ElfLayout:
    elf_class: int  # 32 or 64
    little_endian: bool
    machine: str  # e.g. "EM_ARM"
    source: Source  # what the ranges were read from
    ranges: tuple[Range, ...]
    # Each section's contents or zero fill, for the breakdown: "progbits" or "nobits".
    kinds: tuple[tuple[str, str], ...] = ()

    def describe(self) -> str:
        order = "little-endian" if self.little_endian else "big-endian"
        return f"ELF{self.elf_class} {order} {self.machine.removeprefix('EM_')}"


# What pyelftools raises on damaged input (it parses lazily, so any call may raise).
_ERRORS = (
    ELFError,
    ELFParseError,
    ConstructError,
    struct.error,
    ValueError,
    KeyError,
    IndexError,
    OverflowError,
    TypeError,
    AttributeError,
)


def read_elf(path: Path, shown: str) -> ElfLayout:
    """The allocated ranges of the ELF program at ``path`` (named ``shown`` in errors)."""
    f, _ = open_file(path, shown)
    with f:
        head = f.read(64)
        if head[:4] != b"\x7fELF":
            raise ElfFormatError(f"{shown}: not an ELF file (no ELF magic at offset 0)")
        if head[4:5] not in (b"\1", b"\2") or head[5:6] not in (b"\1", b"\2"):
            raise ElfFormatError(
                f"{shown}: offset 4: unknown ELF class or byte order "
                f"({head[4:6].hex(' ') or 'missing'}; 1 or 2 each)"
            )
        need = 52 if head[4] == 1 else 64
        if len(head) < need:
            raise ElfFormatError(
                f"{shown}: truncated: {len(head)} bytes, shorter than the ELF header ({need} B)"
            )
        f.seek(0)
        try:
            return _read(ELFFile(f), shown)
        except _ERRORS as exc:
            raise ElfFormatError(f"{shown}: damaged ELF file: {exc}") from None
        except OSError as exc:
            raise PathProblem(shown, f"cannot be read: {exc.strerror or exc}") from None


def _read(elf: ELFFile, shown: str) -> ElfLayout:
    kind = elf["e_type"]
    if kind == "ET_REL":
        raise ElfFormatError(
            f"{shown}: a relocatable object file (.o), not a linked program: its sections "
            "have no addresses yet, so no memory region can be measured"
        )
    if kind == "ET_CORE":
        raise ElfFormatError(f"{shown}: a core dump, not a linked program")
    loads = [s for s in elf.iter_segments() if s["p_type"] == "PT_LOAD"]
    for i, segment in enumerate(loads):
        if segment["p_filesz"] > segment["p_memsz"]:
            raise ElfFormatError(
                f"{shown}: loadable program header {i}: p_filesz ({segment['p_filesz']:,}) "
                f"is larger than p_memsz ({segment['p_memsz']:,})"
            )
    common: dict[str, Any] = {
        "elf_class": elf.elfclass,
        "little_endian": elf.little_endian,
        "machine": str(elf["e_machine"]),
    }
    if elf.num_sections() == 0:
        if not loads:
            raise ElfFormatError(
                f"{shown}: neither section headers nor loadable program headers: nothing "
                "says where the program lies in memory"
            )
        return ElfLayout(**common, source="program headers", ranges=_segment_ranges(loads))
    # Segments by run-time address, so that finding a section's segment is a bisection,
    # not a scan of every segment for every section.
    by_vaddr = sorted(loads, key=lambda s: (s["p_vaddr"], s["p_offset"]))
    reach = list(accumulate((s["p_vaddr"] + s["p_memsz"] for s in by_vaddr), max))
    ranges: list[Range] = []
    kinds: list[tuple[str, str]] = []
    for section in elf.iter_sections():
        flags = section["sh_flags"]
        size = section["sh_size"]
        if not flags & SH_FLAGS.SHF_ALLOC or size == 0:
            continue
        nobits = section["sh_type"] == "SHT_NOBITS"
        if nobits and flags & SH_FLAGS.SHF_TLS:
            continue  # .tbss overlays .bss; ld does not advance the region for it
        name = section.name or f"[section at {section['sh_addr']:#x}]"
        vma = section["sh_addr"]
        ranges.append(Range(name, vma, size, "run"))
        kinds.append((name, "nobits" if nobits else "progbits"))
        if nobits:
            continue  # zero fill has no load image, even when the script gives an AT>
        segment = _segment_of(section, vma, by_vaddr, reach)
        if segment is not None:
            lma = segment["p_paddr"] + (vma - segment["p_vaddr"])
            if lma != vma:
                ranges.append(Range(name, lma, size, "load"))
    return ElfLayout(**common, source="sections", ranges=tuple(ranges), kinds=tuple(kinds))


def _segment_of(section: Any, vma: int, by_vaddr: list[Any], reach: list[int]) -> Any:
    """The ``PT_LOAD`` segment that holds ``section`` (pyelftools' ``section_in_segment``,
    binutils' rule), trying only segments that start at or below the section and, with
    an earlier one, still reach past its start: one or two for a normal program."""
    i = bisect_right(by_vaddr, vma, key=lambda s: s["p_vaddr"]) - 1
    while i >= 0 and reach[i] > vma:
        if by_vaddr[i].section_in_segment(section):
            return by_vaddr[i]
        i -= 1
    return None


def _segment_ranges(loads: list[Any]) -> tuple[Range, ...]:
    ranges = []
    for i, segment in enumerate(loads):
        name = f"PT_LOAD[{i}]"
        vaddr, paddr = segment["p_vaddr"], segment["p_paddr"]
        if segment["p_memsz"]:
            ranges.append(Range(name, vaddr, segment["p_memsz"], "run"))
        if segment["p_filesz"] and paddr != vaddr:
            ranges.append(Range(name, paddr, segment["p_filesz"], "load"))
    return tuple(ranges)
