"""ESP-IDF partition tables as ``gen_esp32part.py`` reads and verifies them.

Expected layouts are worked out by hand from ESP-IDF's rules and checked against what its
documentation states (the factory app of the default tables lands at 0x10000)."""

from __future__ import annotations

import codecs
import hashlib
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_sizebudget.firmware.partitions import (
    Partition,
    PartitionTableError,
    parse_int,
    read_table,
    table_end,
)

TWO_OTA = """# Name,   Type, SubType, Offset,   Size, Flags
# Note: if you have increased the bootloader size, make sure to update the offsets
nvs,      data, nvs,     ,        0x4000,
otadata,  data, ota,     ,        0x2000,
phy_init, data, phy,     ,        0x1000,
factory,  app,  factory, ,        1M,
ota_0,    app,  ota_0,   ,        1M,
ota_1,    app,  ota_1,   ,        1M,
"""


def layout(text: str | bytes, **kw: object) -> list[tuple[str, int, int]]:
    data = text.encode() if isinstance(text, str) else text
    return [(p.name, p.offset, p.size) for p in read_table(data, "p.csv", **kw)]  # type: ignore[arg-type]


def error(text: str | bytes, **kw: object) -> str:
    with pytest.raises(PartitionTableError) as excinfo:
        layout(text, **kw)
    return str(excinfo.value)


def test_two_ota_table_as_documented() -> None:
    assert layout(TWO_OTA) == [
        ("nvs", 0x9000, 0x4000),
        ("otadata", 0xD000, 0x2000),
        ("phy_init", 0xF000, 0x1000),
        ("factory", 0x10000, 0x100000),
        ("ota_0", 0x110000, 0x100000),
        ("ota_1", 0x210000, 0x100000),
    ]


def test_table_offset_moves_the_first_partition() -> None:
    got = layout("nvs, data, nvs, , 24K\nfactory, app, factory, , 1M\n", table_offset=0x10000)
    assert got == [("nvs", 0x11000, 0x6000), ("factory", 0x20000, 0x100000)]


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("0x1000", 0x1000),
        ("4096", 4096),
        ("4K", 4096),
        ("4k", 4096),
        ("2M", 2 << 20),
        ("0x10K", 0x4000),
        ("1kk", 1 << 20),
        ("0o10", 8),
        ("0b11", 3),
    ],
)
def test_numbers(text: str, value: int) -> None:
    assert parse_int(text) == value


def test_every_column_flags_negative_size_and_numbers() -> None:
    text = (
        "nvs, data, nvs, 0x9000, 0x6000, readonly\n"
        "keys, data, nvs_keys, , 4K, encrypted:readonly\n"
        "app, 0x00, 0x10, 0x20000, 0x100000\n"
        "custom, 0x40, 0x01, , 64K\n"
        "tail, data, undefined, 0x200000, -0x400000\n"
    )
    parts = read_table(text.encode(), "p.csv")
    assert [(p.name, p.type, p.subtype, p.offset, p.size, p.flags) for p in parts] == [
        ("nvs", 1, 2, 0x9000, 0x6000, 2),
        ("keys", 1, 4, 0xF000, 0x1000, 3),
        ("app", 0, 0x10, 0x20000, 0x100000, 0),
        ("custom", 0x40, 1, 0x120000, 0x10000, 0),
        ("tail", 1, 6, 0x200000, 0x200000, 0),
    ]
    assert table_end(parts) == 0x400000


def test_trailing_columns_may_be_left_out_and_data_subtype_defaults() -> None:
    assert error("blob, data\n") == "p.csv: line 1: blob has no size"
    assert read_table(b"blob, data, , , 8K\n", "p.csv")[0].subtype == 0x06


def test_variables_from_the_budget_and_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APP_SIZE", "2M")
    text = "nvs, data, nvs, , $NVS\nfactory, app, factory, , ${APP_SIZE}\n"
    assert layout(text, variables={"NVS": "16K"}) == [
        ("nvs", 0x9000, 0x4000),
        ("factory", 0x10000, 0x200000),
    ]
    assert error("nvs, data, nvs, , $NOPE\n") == "p.csv: line 1: unknown variable $NOPE"


@pytest.mark.parametrize(
    ("bom", "encoding"),
    [
        (codecs.BOM_UTF8, "utf-8"),
        (codecs.BOM_UTF16_LE, "utf-16-le"),
        (codecs.BOM_UTF32_BE, "utf-32-be"),
    ],
)
def test_byte_order_marks(bom: bytes, encoding: str) -> None:
    assert layout(bom + TWO_OTA.encode(encoding))[3] == ("factory", 0x10000, 0x100000)


def test_primary_bootloader_and_table_rows() -> None:
    text = (
        "bootloader, bootloader, primary, N/A, N/A\n"
        "partition_table, partition_table, primary, N/A, N/A\n" + TWO_OTA
    )
    got = layout(text, bootloader_offset=0x1000)
    assert got[:3] == [
        ("bootloader", 0x1000, 0x7000),
        ("partition_table", 0x8000, 0x1000),
        ("nvs", 0x9000, 0x4000),
    ]
    assert "needs the budget's bootloader_offset" in error(text)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "nvs, data, nvs, 0x9000, 0x4000\nx, data, fat, 0xA000, 0x1000\n",
            "p.csv: line 2: partitions overlap: x is set at offset 0xa000, but the previous partition ends at 0xd000",
        ),
        ("a, data, fat, 0x9100, 0x1000\n", "p.csv: a: offset 0x9100 is not aligned to 0x1000"),
        ("a, app, factory, 0x18000, 1M\n", "p.csv: a: offset 0x18000 is not aligned to 0x10000"),
        (
            "a, app, factory, , 0x10800\n",
            "p.csv: a: size 0x10800 of an app partition is not a multiple of 0x1000",
        ),
        ("a, data, fat, , 4K\na, data, fat, , 4K\n", "p.csv: partition names used twice: a"),
        (
            "a, data, fat, 0x7000, 4K\n",
            "p.csv: line 1: partitions overlap: a is set at offset 0x7000",
        ),
        ("o1, data, ota, , 8K\no2, data, ota, , 8K\n", "p.csv: more than one data/ota partition"),
        (
            "o1, data, ota, , 4K\n",
            "p.csv: o1: a data/ota partition must be 0x2000 bytes (it is 0x1000)",
        ),
        (
            "c, data, coredump, , 64K, readonly\n",
            "p.csv: c: a data/coredump partition cannot be readonly",
        ),
        (
            "n, data, nvs, , 8K\n",
            "p.csv: n: an nvs partition must be at least 0x3000 bytes (it is 0x2000)",
        ),
        ("a, app, , , 1M\n", "p.csv: line 1: the subtype is empty (required for type app)"),
        ("a, code, factory, , 1M\n", "p.csv: line 1: unknown partition type 'code'"),
        ("a, app, ota_16, , 1M\n", "p.csv: line 1: unknown subtype 'ota_16' for type app"),
        (
            "a, data, fat, , 4K, secret\n",
            "p.csv: line 1: unknown flag 'secret' (known: encrypted, readonly",
        ),
        ("a, data, fat, , lots\n", "p.csv: line 1: size 'lots' is not a number"),
        (", data, fat, , 4K\n", "p.csv: line 1: the partition has no name"),
        ("nvs\n", "p.csv: line 1: the partition type is empty"),
        ("# only a comment\n\n", "p.csv: no partitions (only comments and empty lines)"),
        (
            "a, data, fat, 0x10000, -0x10000\n",
            "p.csv: line 1: a: size -0x10000 ends at or before its offset 0x10000",
        ),
        (b"nvs, data, \xff\n", "p.csv: not utf-8 text (byte offset 11)"),
    ],
)
def test_what_esp_idf_refuses(text: str | bytes, message: str) -> None:
    assert error(text).startswith(message)


def binary_table(parts: list[tuple[str, int, int, int, int, int]], md5: bool = True) -> bytes:
    entries = b"".join(
        b"\xaa\x50"
        + struct.pack("<BBII", t, s, o, z)
        + n.encode().ljust(16, b"\0")
        + struct.pack("<I", f)
        for n, t, s, o, z, f in parts
    )
    tail = b"\xeb\xeb" + b"\xff" * 14 + hashlib.md5(entries).digest() if md5 else b""
    return (entries + tail).ljust(0xC00, b"\xff")


def test_binary_table_with_and_without_md5() -> None:
    parts = [("nvs", 1, 2, 0x9000, 0x6000, 0), ("factory", 0, 0, 0x10000, 0x100000, 0)]
    for md5 in (True, False):
        got = read_table(binary_table(parts, md5), "t.bin")
        assert got == (
            Partition("nvs", 1, 2, 0x9000, 0x6000, 0, 1),
            Partition("factory", 0, 0, 0x10000, 0x100000, 0, 2),
        )
    broken = bytearray(binary_table(parts))
    broken[70] ^= 1  # a bit of the MD5
    assert (
        error(bytes(broken))
        == "p.csv: offset 64: the MD5 entry does not match the entries before it"
    )
    assert error(binary_table(parts)[:40]) == "p.csv: offset 32: truncated entry (8 of 32 B)"
    bad_magic = binary_table(parts)[:32] + b"\x12\x34" + bytes(30)
    assert error(bad_magic).startswith("p.csv: offset 32: not a partition entry (magic 12 34")


_TOKENS = [*"0123456789abcdefxkKmM ,:#$-_\n", "app", "data", "nvs", "ota", "factory", "readonly"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from([*_TOKENS, "primary", "bootloader", "0x", "\n"]), max_size=60))
def test_any_csv_gives_a_table_or_our_error(tokens: list[str]) -> None:
    try:
        read_table("".join(tokens).encode(), "p.csv", bootloader_offset=0x1000)
    except PartitionTableError as exc:
        message = str(exc)
    else:
        message = "p.csv: read"
    assert message.startswith("p.csv: ")
