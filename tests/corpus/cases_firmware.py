"""Firmware inputs that are not what they should be: ELF files, ld map files, partition
tables, flash layouts.

Every case has its budget file beside the passing ``Good`` budget file, so each shows that
the other budgets still run and reach the report.  ELF files are hand-made
(``tests/elf_builder.py``): no toolchain is needed here.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from tests.elf_builder import ET_REL, FIRMWARE, FIRMWARE_REGIONS, MAP, make_elf

from .runner import GOOD_FILES, Case, FileContent

FILE = "fw.sizebudget.json5"
GOOD_ELF = make_elf(FIRMWARE)


def literal(text: str) -> str:
    return "".join(f"[{c}]" if c in "[]*?" else c for c in text)


def elf_entry(**more: Any) -> dict[str, Any]:
    return {"name": "fw", "elf": "fw.elf", "regions": FIRMWARE_REGIONS, **more}


def broken(
    id: str,
    files: dict[str, FileContent],
    error: str,
    *,
    entry: dict[str, Any] | None = None,
    section: str = "elf_budgets",
    names: tuple[str, ...] = ("fw/FLASH", "fw/RAM"),
    title: str = "Memory region",
    **more: Any,
) -> Case:
    """A firmware budget whose items could not be checked, each with ``error``."""
    entry = entry or elf_entry()
    return Case(
        id=id,
        files={**GOOD_FILES, FILE: json.dumps({section: [entry]}), **files},
        outcomes={"passed": 3, "failed": len(names)},
        lines=(f"{title} '{names[0]}' could not be checked", "", literal(error)),
        report={"Good": None, **dict.fromkeys(names, error)},
        **more,
    )


def huge_table(path: Path) -> None:
    path.write_bytes(b"#" * (2 << 20))


def fifo(root: Path) -> None:
    os.mkfifo(root / "fw.elf")


CASES = [
    broken("firmware-elf-missing", {}, "elf_budgets[0].elf: fw.elf: does not exist"),
    broken(
        "firmware-elf-not-elf",
        {"fw.elf": b"#!/bin/sh\necho not a program\n"},
        "elf_budgets[0].elf: fw.elf: not an ELF file (no ELF magic at offset 0)",
    ),
    broken(
        "firmware-elf-truncated-section-table",
        {"fw.elf": GOOD_ELF[:200]},
        "elf_budgets[0].elf: fw.elf: damaged ELF file: Reading section 0 at offset 624 past EOF 200",
    ),
    broken(
        "firmware-elf-relocatable-object",
        {"fw.elf": make_elf(FIRMWARE, e_type=ET_REL)},
        "elf_budgets[0].elf: fw.elf: a relocatable object file (.o), not a linked program: its "
        "sections have no addresses yet, so no memory region can be measured",
    ),
    broken(
        "firmware-elf-fifo",
        {},
        "elf_budgets[0].elf: fw.elf: is a FIFO (named pipe), not a file",
        setup=fifo,
        subprocess=True,
    ),
    broken(
        "firmware-elf-sections-outside-every-region",
        {"fw.elf": GOOD_ELF},
        "elf_budgets[0]: fw.elf: 2 allocated section range(s) lie outside every memory region: "
        ".data (address 0x20000000, 4 B), .bss (address 0x20000004, 1,024 B); regions: FLASH "
        "[0x8000000, 0x8010000). The regions do not describe this program (a wrong map file, "
        "or a region missing from the inline list)",
        entry=elf_entry(regions=FIRMWARE_REGIONS[:1]),
        names=("fw/FLASH",),
    ),
    broken(
        "firmware-map-missing",
        {"fw.elf": GOOD_ELF},
        "elf_budgets[0].map: fw.map: does not exist",
        entry={"name": "fw", "elf": "fw.elf", "map": "fw.map"},
        names=("fw",),
    ),
    broken(
        "firmware-map-without-memory-configuration",
        {"fw.elf": GOOD_ELF, "fw.map": "Archive member included\n\nLinker script and memory map\n"},
        "elf_budgets[0].map: fw.map: no 'Memory Configuration' table: not a GNU ld map file "
        "(-Map=FILE), or one from a link without a MEMORY command",
        entry={"name": "fw", "elf": "fw.elf", "map": "fw.map"},
        names=("fw",),
    ),
    broken(
        "firmware-map-overlapping-regions",
        {
            "fw.elf": GOOD_ELF,
            "fw.map": MAP.replace("RAM              0x20000000", "RAM              0x0800f000"),
        },
        "elf_budgets[0].map: fw.map: memory regions overlap (FLASH [0x8000000, 0x8010000) and "
        "RAM [0x800f000, 0x8014000)): a section's address must belong to one region for its "
        "bytes to be counted once",
        entry={"name": "fw", "elf": "fw.elf", "map": "fw.map"},
        names=("fw",),
    ),
    Case(
        id="firmware-inline-regions-overlap",
        files={
            **GOOD_FILES,
            FILE: json.dumps(
                {
                    "elf_budgets": [
                        elf_entry(
                            regions=[
                                *FIRMWARE_REGIONS,
                                {"name": "CCM", "origin": 0x20001000, "length": 4096},
                            ]
                        )
                    ]
                }
            ),
        },
        outcomes={"passed": 2, "failed": 1},
        lines=(
            "*"
            + literal(
                "elf_budgets[0].regions: memory regions overlap (RAM [0x20000000, 0x20005000) "
                "and CCM [0x20001000, 0x20002000))"
            )
            + "*",
        ),
        report={"Good": None},
    ),
    broken(
        "firmware-partition-table-garbage",
        {"partitions.csv": b"\x00\x01\x02binary junk\xff\n", "app.bin": b"x"},
        "flash_budgets[0].partitions: partitions.csv: not utf-8 text (byte offset 14)",
        entry={
            "name": "esp",
            "partitions": "partitions.csv",
            "images": [{"image": "app.bin", "type": "app"}],
        },
        section="flash_budgets",
        names=("esp/app.bin",),
        title="Flash image",
    ),
    broken(
        "firmware-partition-table-huge",
        {"partitions.csv": huge_table, "app.bin": b"x"},
        "flash_budgets[0].partitions: partitions.csv: 2,097,152 bytes: too large for a partition table",
        entry={
            "name": "esp",
            "partitions": "partitions.csv",
            "images": [{"image": "app.bin", "type": "app"}],
        },
        section="flash_budgets",
        names=("esp/app.bin",),
        title="Flash image",
    ),
    broken(
        "firmware-partition-table-is-a-directory",
        {"partitions.csv": lambda p: p.mkdir(), "app.bin": b"x"},
        "flash_budgets[0].partitions: partitions.csv: is a directory, not a file",
        entry={
            "name": "esp",
            "partitions": "partitions.csv",
            "images": [{"image": "app.bin", "type": "app"}],
        },
        section="flash_budgets",
        names=("esp/app.bin",),
        title="Flash image",
    ),
]
