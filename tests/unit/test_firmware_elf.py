"""The pytest-free core of ELF budgets: region arithmetic, map files, ELF reading, entries.

The programs here are hand-made (``tests/elf_builder.py``) so that every class, byte order
and broken shape is covered without a toolchain; ``tests/integration/test_elf_budgets.py``
checks the same code against ld's own numbers.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pytest_sizebudget.budget.parse import load_budget_file
from pytest_sizebudget.errors import SizeBudgetError
from pytest_sizebudget.firmware.elf import ElfFormatError, read_elf
from pytest_sizebudget.firmware.ldmap import (
    FILL,
    MapFormatError,
    read_input_pieces,
    read_memory_configuration,
)
from pytest_sizebudget.firmware.regions import (
    LayoutError,
    Range,
    Region,
    overlapping,
    region_usage,
)
from pytest_sizebudget.kinds.elf import (
    Change,
    ElfKind,
    ElfRegionBudget,
    ElfRegionDetails,
    Piece,
    compare_details,
)
from pytest_sizebudget.paths import PathProblem
from tests.elf_builder import (
    ET_REL,
    FIRMWARE,
    FIRMWARE_REGIONS,
    MAP,
    SHF_ALLOC,
    SHF_TLS,
    Sec,
    make_elf,
)

FLASH = Region("FLASH", 0x08000000, 0x10000)
RAM = Region("RAM", 0x20000000, 0x5000)


def usage(regions: list[Region], *ranges: Range) -> dict[str, int]:
    return {u.region.name: u.used_bytes for u in region_usage(regions, ranges)}


# -- regions ---------------------------------------------------------------------------


def test_used_is_the_highest_end_not_a_sum() -> None:
    # A table at origin + 0x4000 after 0x150 bytes of code: the gap counts, as in ld.
    got = usage([FLASH, RAM], Range(".text", 0x08000000, 0x150), Range(".t", 0x08004000, 0x10))
    assert got == {"FLASH": 0x4010, "RAM": 0}


def test_a_section_running_past_the_end_counts_to_its_end() -> None:
    assert usage([Region("R", 0, 100)], Range("a", 90, 50)) == {"R": 140}


def test_overflowed_region_keeps_what_ld_placed_after_it() -> None:
    regions = [Region("FLASH", 0, 256), Region("RAM", 0x1000, 256)]
    got = usage(
        regions, Range(".text", 0, 300), Range(".table", 300, 16), Range(".data", 316, 4, "load")
    )
    assert got == {"FLASH": 320, "RAM": 0}


def test_ranges_outside_every_region_are_an_error_that_lists_them() -> None:
    with pytest.raises(LayoutError) as excinfo:
        usage(
            [FLASH],
            Range(".text", 0x08000000, 16),
            Range(".data", 0x20000000, 4),
            Range(".data", 0x08000010, 4, "load"),
            Range(".bss", 0x20000004, 8),
        )
    message = str(excinfo.value)
    assert message.startswith(
        "2 allocated section range(s) lie outside every memory region: .data (address "
        "0x20000000, 4 B), .bss (address 0x20000004, 8 B); regions: FLASH [0x8000000, 0x8010000)"
    )


def test_a_region_that_did_not_overflow_takes_nothing_beyond_its_end() -> None:
    with pytest.raises(LayoutError, match=r"\.late \(address 0x200"):
        usage([Region("R", 0, 0x100)], Range("a", 0, 0x10), Range(".late", 0x200, 4))


def test_overlapping_regions() -> None:
    a, b, c = Region("A", 0, 100), Region("B", 50, 100), Region("C", 200, 10)
    assert overlapping([a, b, c]) == [(a, b)]
    assert overlapping([Region("Z", 10, 0), a]) == []  # a zero-length region holds nothing
    assert overlapping(
        [Region("Big", 0, 1000), Region("In1", 100, 10), Region("In2", 500, 10)]
    ) == [
        (Region("Big", 0, 1000), Region("In1", 100, 10)),
        (Region("Big", 0, 1000), Region("In2", 500, 10)),
    ]
    with pytest.raises(LayoutError, match=r"memory regions overlap \(A \[0x0, 0x64\) and B"):
        region_usage([a, b], [])


def test_empty_ranges_and_zero_length_regions() -> None:
    regions = [Region("Z", 0x100, 0), Region("R", 0, 0x100)]
    assert usage(regions, Range(".glue_7", 0x100, 0), Range("a", 0, 8)) == {"Z": 0, "R": 8}


# -- map files -------------------------------------------------------------------------


def test_memory_configuration(tmp_path: Path) -> None:
    path = tmp_path / "fw.map"
    path.write_text(MAP)
    assert read_memory_configuration(path, "fw.map") == (
        Region("FLASH", 0x08000000, 0x10000, "xr"),
        Region("RAM", 0x20000000, 0x5000, "xrw"),
    )


def test_memory_configuration_of_a_64_bit_link_with_long_names(tmp_path: Path) -> None:
    path = tmp_path / "fw.map"
    path.write_text(
        "Memory Configuration\n\nName             Origin             Length             Attributes\n"
        "ROM              0x0000000000400000 0x0000000000100000 xr\n"
        "a_very_long_region_name 0x0000000000600000 0x0000000000100000 !xr\n"
        "NOATTR           0x0000000000800000 0x0000000000000000\n"
        "*default*        0x0000000000000000 0xffffffffffffffff\n\nLinker script and memory map\n"
    )
    assert read_memory_configuration(path, "fw.map") == (
        Region("ROM", 0x400000, 0x100000, "xr"),
        Region("a_very_long_region_name", 0x600000, 0x100000, "!xr"),
        Region("NOATTR", 0x800000, 0),
    )


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("just text\n", "fw.map: no 'Memory Configuration' table: not a GNU ld map file"),
        (
            "Memory Configuration\n\nName Origin\n",
            "fw.map: line 3: expected the 'Name Origin Length",
        ),
        (
            "Memory Configuration\n\nName Origin Length Attributes\nFLASH 0x0 zz\n",
            "fw.map: line 4: not a memory region row",
        ),
        (
            "Memory Configuration\n\nName Origin Length Attributes\n*default* 0x0 0xffffffff\n\n",
            "fw.map: the Memory Configuration table lists no region besides *default*",
        ),
        (
            "Memory Configuration\n\nName Origin Length Attributes\nA 0x0 0x10\nA 0x10 0x10\n\n",
            "fw.map: region(s) listed twice: A",
        ),
        ("Memory Configuration\n", "fw.map: the Memory Configuration table ends before its header"),
    ],
)
def test_bad_map_files(tmp_path: Path, text: str, error: str) -> None:
    path = tmp_path / "fw.map"
    path.write_text(text)
    with pytest.raises(MapFormatError) as excinfo:
        read_memory_configuration(path, "fw.map")
    assert str(excinfo.value).startswith(error)


def test_map_that_is_a_directory(tmp_path: Path) -> None:
    with pytest.raises(PathProblem, match=r"fw\.map: is a directory"):
        read_memory_configuration(tmp_path, "fw.map")


def test_input_pieces_with_wrapped_names_and_fill(tmp_path: Path) -> None:
    path = tmp_path / "fw.map"
    path.write_text(MAP)
    pieces = [(p.output_section, p.obj, p.size) for p in read_input_pieces(path, "fw.map")]
    assert pieces == [
        (".text", "main.o", 0x100),
        (".text", "libhal.a(gpio.o)", 0x4F),
        (".text", FILL, 1),
        (".table", "main.o", 0x10),
        (".data", "libhal.a(gpio.o)", 4),
        (".bss", "main.o", 0x400),
    ]


# -- ELF files -------------------------------------------------------------------------


@pytest.mark.parametrize("bits", [32, 64])
@pytest.mark.parametrize("little", [True, False], ids=["le", "be"])
@pytest.mark.parametrize("headers", [True, False], ids=["sections", "phdrs"])
def test_every_class_and_byte_order(tmp_path: Path, bits: int, little: bool, headers: bool) -> None:
    path = tmp_path / "fw.elf"
    path.write_bytes(make_elf(FIRMWARE, bits=bits, little=little, section_headers=headers))
    layout = read_elf(path, "fw.elf")
    assert layout.describe() == f"ELF{bits} {'little' if little else 'big'}-endian ARM"
    assert layout.source == ("sections" if headers else "program headers")
    assert usage([FLASH, RAM], *layout.ranges) == {"FLASH": 0x4014, "RAM": 0x404}


def test_tbss_does_not_count(tmp_path: Path) -> None:
    path = tmp_path / "fw.elf"
    sections = [
        Sec(".tdata", 0x20000000, 4, load=0x08000000, flags=SHF_ALLOC | SHF_TLS),
        Sec(".tbss", 0x20000004, 256, nobits=True, flags=SHF_ALLOC | SHF_TLS, in_segment=False),
        Sec(".bss", 0x20000004, 4, nobits=True),
    ]
    path.write_bytes(make_elf(sections))
    assert usage([FLASH, RAM], *read_elf(path, "fw.elf").ranges) == {"FLASH": 4, "RAM": 8}


@pytest.mark.parametrize(
    ("content", "error"),
    [
        (b"", "fw.elf: not an ELF file (no ELF magic at offset 0)"),
        (b"MZ\x90\x00" * 20, "fw.elf: not an ELF file (no ELF magic at offset 0)"),
        (
            make_elf(FIRMWARE)[:30],
            "fw.elf: truncated: 30 bytes, shorter than the ELF header (52 B)",
        ),
        (
            make_elf(FIRMWARE, bits=64)[:60],
            "fw.elf: truncated: 60 bytes, shorter than the ELF header (64 B)",
        ),
        (
            b"\x7fELF\x03\x01" + bytes(60),
            "fw.elf: offset 4: unknown ELF class or byte order (03 01; 1 or 2 each)",
        ),
        (
            make_elf(FIRMWARE)[:200],
            "fw.elf: damaged ELF file: Reading section 0 at offset 624 past EOF 200",
        ),
        (
            make_elf(FIRMWARE, e_type=ET_REL),
            "fw.elf: a relocatable object file (.o), not a linked program",
        ),
        (
            make_elf([], section_headers=False),
            "fw.elf: neither section headers nor loadable program headers",
        ),
    ],
)
def test_bad_elf_files(tmp_path: Path, content: bytes, error: str) -> None:
    path = tmp_path / "fw.elf"
    path.write_bytes(content)
    with pytest.raises(ElfFormatError) as excinfo:
        read_elf(path, "fw.elf")
    assert str(excinfo.value).startswith(error)


def test_section_table_beyond_the_end_of_the_file(tmp_path: Path) -> None:
    data = bytearray(make_elf(FIRMWARE))
    data[32:36] = (len(data) + 4096).to_bytes(4, "little")  # e_shoff past the end
    path = tmp_path / "fw.elf"
    path.write_bytes(bytes(data))
    with pytest.raises(ElfFormatError, match=r"fw\.elf: damaged ELF file"):
        read_elf(path, "fw.elf")


# -- budget entries --------------------------------------------------------------------


def load(tmp_path: Path, entries: list[dict[str, object]]) -> list[ElfRegionBudget]:
    path = tmp_path / "b.json5"
    path.write_text(json.dumps({"elf_budgets": entries}, indent=1))
    budgets = load_budget_file(path, display="b.json5").budgets
    assert all(isinstance(b, ElfRegionBudget) for b in budgets)
    return [b for b in budgets if isinstance(b, ElfRegionBudget)]


def problems(tmp_path: Path, entries: list[dict[str, object]]) -> str:
    with pytest.raises(SizeBudgetError) as excinfo:
        load(tmp_path, entries)
    return str(excinfo.value)


def test_one_budget_per_region(tmp_path: Path) -> None:
    (tmp_path / "fw.map").write_text(MAP)
    budgets = load(
        tmp_path,
        [
            {
                "name": "fw",
                "elf": "fw.elf",
                "map": "fw.map",
                "creep_budget_bytes": 64,
                "limits": {
                    "RAM": {"budget_bytes": "16 KiB", "warn_at": 90, "creep_budget_bytes": 0}
                },
            }
        ],
    )
    assert [(b.name, b.key, b.budget_bytes, b.creep_budget_bytes, b.warn_at) for b in budgets] == [
        ("fw/FLASH", "elf_budgets[0]/FLASH", 0x10000, 64, None),
        ("fw/RAM", "elf_budgets[0]/RAM", 16384, 0, 90),
    ]
    assert budgets[1].line > budgets[0].line  # the limit's own line


def test_inline_regions_and_selection_from_a_map(tmp_path: Path) -> None:
    (tmp_path / "fw.map").write_text(MAP)
    inline = load(tmp_path, [{"name": "fw", "elf": "fw.elf", "regions": FIRMWARE_REGIONS}])
    assert [(b.name, b.budget_bytes) for b in inline] == [("fw/FLASH", 65536), ("fw/RAM", 20480)]
    chosen = load(tmp_path, [{"name": "fw", "elf": "fw.elf", "map": "fw.map", "regions": ["RAM"]}])
    assert [b.name for b in chosen] == ["fw/RAM"]
    assert [r.name for r in chosen[0].regions] == ["FLASH", "RAM"]  # all place sections


@pytest.mark.parametrize(
    ("entry", "error"),
    [
        ({"name": "fw", "elf": "fw.elf"}, "elf_budgets[0]: needs its memory regions: a 'map' file"),
        (
            {
                "name": "fw",
                "elf": "fw.elf",
                "regions": [
                    {"name": "A", "origin": 0, "length": 10},
                    {"name": "B", "origin": 5, "length": 10},
                ],
            },
            "elf_budgets[0].regions: memory regions overlap (A [0x0, 0xa) and B [0x5, 0xf))",
        ),
        (
            {"name": "fw", "elf": "fw.elf", "regions": FIRMWARE_REGIONS, "limits": {"CCM": {}}},
            "elf_budgets[0].limits.CCM: no memory region 'CCM': the regions are FLASH, RAM",
        ),
        (
            {
                "name": "fw",
                "elf": "fw.elf",
                "regions": [{"name": "A", "origin": "zz", "length": 1}],
            },
            "elf_budgets[0].regions[0].origin: expected an address (0x08000000 or a number), got 'zz'",
        ),
        (
            {"name": "fw", "elf": "fw.elf", "regions": ["FLASH"]},
            "elf_budgets[0].regions[0]: a region name alone needs a 'map' file",
        ),
        (
            {
                "name": "fw",
                "elf": "fw.elf",
                "regions": FIRMWARE_REGIONS,
                "limits": {"RAM": {"warn_at": 120}},
            },
            "elf_budgets[0].limits.RAM.warn_at: must be a percentage between 0 and 100, got 120",
        ),
        (
            {"name": "fw", "elf": "fw.elf", "regions": FIRMWARE_REGIONS, "limit": {}},
            "elf_budgets[0].limit: unknown key 'limit' (did you mean 'limits'?)",
        ),
    ],
)
def test_bad_entries(tmp_path: Path, entry: dict[str, object], error: str) -> None:
    assert error in problems(tmp_path, [entry])


def test_a_map_that_cannot_be_read_is_one_failing_budget(tmp_path: Path) -> None:
    (budget,) = load(tmp_path, [{"name": "fw", "elf": "fw.elf", "map": "gone.map"}])
    assert (budget.name, budget.key, budget.region) == ("fw", "elf_budgets[0]", None)
    assert budget.problem == "elf_budgets[0].map: gone.map: does not exist"
    (tmp_path / "fw.map").write_text(MAP)
    (budget,) = load(
        tmp_path, [{"name": "fw", "elf": "fw.elf", "map": "fw.map", "limits": {"CCM": {}}}]
    )
    assert budget.problem == (
        "elf_budgets[0].map: fw.map: limits names region(s) the map does not have: CCM "
        "(the map's regions: FLASH, RAM)"
    )


# -- details ---------------------------------------------------------------------------


def test_details_round_trip_and_baseline_changes() -> None:
    old = ElfRegionDetails(
        RAM,
        "ELF32 little-endian ARM",
        "sections",
        (Piece(".bss", 1024, 0x20000004), Piece(".data", 4, 0x20000000)),
        2,
        0,
        (Piece("main.o", 1028),),
        1,
    )
    new = ElfRegionDetails(
        RAM,
        "ELF32 little-endian ARM",
        "sections",
        (
            Piece(".bss", 1536, 0x20000004),
            Piece(".data", 4, 0x20000000),
            Piece(".data", 4, 0x08000000, "load"),
        ),
        3,
        0,
        (Piece("main.o", 1540), Piece("new.o", 4)),
        2,
    )
    changes = compare_details(new, old)
    assert changes == (
        Change("object", "main.o", 1028, 1540),
        Change("section", ".bss", 1024, 1536),
        Change("object", "new.o", 0, 4),
        Change("section", ".data (load)", 0, 4),
    )
    with_changes = ElfRegionDetails(
        **{**{f: getattr(new, f) for f in new.__dataclass_fields__}, "changes": changes}
    )
    assert ElfKind().details_from_dict(with_changes.to_dict()) == with_changes
    assert ElfKind().details_from_dict(ElfRegionDetails(None).to_dict()) == ElfRegionDetails(None)


# -- damaged input: only our own errors ------------------------------------------------

_SEEDS = [
    make_elf(FIRMWARE),
    make_elf(FIRMWARE, bits=64, little=False),
    make_elf(FIRMWARE, section_headers=False),
]


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    seed=st.sampled_from(range(len(_SEEDS))),
    edits=st.lists(st.tuples(st.integers(0, 1 << 12), st.integers(0, 255)), max_size=8),
    cut=st.none() | st.integers(0, 1 << 12),
)
def test_damaged_elf_files_give_our_errors(
    tmp_path: Path, seed: int, edits: list[tuple[int, int]], cut: int | None
) -> None:
    data = bytearray(_SEEDS[seed])
    for offset, value in edits:
        if offset < len(data):
            data[offset] = value
    path = tmp_path / "fuzz.elf"
    path.write_bytes(bytes(data if cut is None else data[:cut]))
    try:
        read_elf(path, "fuzz.elf")
    except (ElfFormatError, PathProblem) as exc:
        message = str(exc)
    else:
        message = "fuzz.elf: read"
    assert message.startswith("fuzz.elf: ")
