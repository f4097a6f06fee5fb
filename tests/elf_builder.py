"""Hand-made ELF programs for tests that must not depend on a toolchain (and for broken
ones no toolchain would write): both classes, both byte orders, with or without section
headers.  Each allocated section gets its own ``PT_LOAD`` program header, with its load
address when one is given, the way ld lays out ``> RAM AT> FLASH``."""

from __future__ import annotations

import struct
from dataclasses import dataclass

SHT_PROGBITS, SHT_NOBITS, SHT_STRTAB = 1, 8, 3
SHF_WRITE, SHF_ALLOC, SHF_EXECINSTR, SHF_TLS = 0x1, 0x2, 0x4, 0x400
ET_EXEC, ET_REL = 2, 1
EM_ARM, EM_X86_64 = 40, 62


@dataclass(frozen=True)
class Sec:
    name: str
    addr: int
    size: int
    nobits: bool = False
    load: int | None = None  # load address (LMA), when it differs
    flags: int = SHF_ALLOC
    in_segment: bool = True


def make_elf(
    sections: list[Sec],
    *,
    bits: int = 32,
    little: bool = True,
    e_type: int = ET_EXEC,
    machine: int = EM_ARM,
    section_headers: bool = True,
) -> bytes:
    o = "<" if little else ">"
    word = "I" if bits == 32 else "Q"
    ehsize, phentsize, shentsize = (52, 32, 40) if bits == 32 else (64, 56, 64)
    loads = [s for s in sections if s.in_segment and s.flags & SHF_ALLOC and s.size]
    phoff = ehsize
    data_off = phoff + phentsize * len(loads)
    offsets: dict[str, int] = {}
    blob = bytearray()
    for s in sections:
        offsets[s.name] = data_off + len(blob)
        if not s.nobits:
            blob += bytes(s.size)
    names = b"\0" + b"".join(s.name.encode() + b"\0" for s in sections) + b".shstrtab\0"
    shstr_off = data_off + len(blob)
    blob += names
    shoff = (shstr_off + len(names) + 7) & ~7
    blob += bytes(shoff - shstr_off - len(names))
    shnum = len(sections) + 2 if section_headers else 0

    ident = b"\x7fELF" + bytes([1 if bits == 32 else 2, 1 if little else 2, 1]) + bytes(9)
    header = ident + struct.pack(
        o + "HHI" + word * 3 + "IHHHHHH",
        e_type,
        machine,
        1,
        0,
        phoff if loads else 0,
        shoff if section_headers else 0,
        0,
        ehsize,
        phentsize,
        len(loads),
        shentsize,
        shnum,
        shnum - 1 if section_headers else 0,
    )
    phdrs = b""
    for s in loads:
        lma = s.addr if s.load is None else s.load
        filesz = 0 if s.nobits else s.size
        if bits == 32:
            phdrs += struct.pack(o + "8I", 1, offsets[s.name], s.addr, lma, filesz, s.size, 7, 4)
        else:
            phdrs += struct.pack(o + "II6Q", 1, 7, offsets[s.name], s.addr, lma, filesz, s.size, 8)
    shdrs = b""
    if section_headers:
        entries = [(0, 0, 0, 0, 0, 0)]
        pos = 1
        for s in sections:
            kind = SHT_NOBITS if s.nobits else SHT_PROGBITS
            entries.append((pos, kind, s.flags, s.addr, offsets[s.name], s.size))
            pos += len(s.name) + 1
        entries.append((pos, SHT_STRTAB, 0, 0, shstr_off, len(names)))
        for name, kind, flags, addr, off, size in entries:
            if bits == 32:
                shdrs += struct.pack(o + "10I", name, kind, flags, addr, off, size, 0, 0, 4, 0)
            else:
                shdrs += struct.pack(
                    o + "IIQQQQIIQQ", name, kind, flags, addr, off, size, 0, 0, 8, 0
                )
    return header + phdrs + bytes(blob) + shdrs


FIRMWARE = [
    Sec(".text", 0x08000000, 0x150, flags=SHF_ALLOC | SHF_EXECINSTR),
    Sec(".table", 0x08004000, 0x10),
    Sec(".data", 0x20000000, 4, load=0x08004010, flags=SHF_ALLOC | SHF_WRITE),
    Sec(".bss", 0x20000004, 0x400, nobits=True, flags=SHF_ALLOC | SHF_WRITE),
    Sec(".comment", 0, 0x26, flags=0, in_segment=False),
]
"""The basic layout of ``tests/firmware_builds.py`` in small: FLASH 16,404 B, RAM 1,028 B."""

FIRMWARE_REGIONS = [
    {"name": "FLASH", "origin": 0x08000000, "length": 65536},
    {"name": "RAM", "origin": 0x20000000, "length": 20480},
]

MAP = """Archive member included to satisfy reference by file (symbol)

Memory Configuration

Name             Origin             Length             Attributes
FLASH            0x08000000         0x00010000         xr
RAM              0x20000000         0x00005000         xrw
*default*        0x00000000         0xffffffff

Linker script and memory map

LOAD main.o
LOAD libhal.a

.text           0x08000000      0x150
 *(.text*)
 .text          0x08000000      0x100 main.o
                0x08000000                _start
 .text.a_function_with_a_long_name
                0x08000100       0x4f libhal.a(gpio.o)
 *fill*         0x0800014f        0x1
.table          0x08004000       0x10
 .table         0x08004000       0x10 main.o
.data           0x20000000        0x4 load address 0x08004010
 .data          0x20000000        0x4 libhal.a(gpio.o)
.bss            0x20000004      0x400 load address 0x08004014
 .bss           0x20000004      0x400 main.o
OUTPUT(fw.elf elf32-littlearm)
"""
