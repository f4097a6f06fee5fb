"""ESP-IDF partition tables: ``partitions.csv`` and the binary table, read as ESP-IDF does.

Restated from ESP-IDF's ``gen_esp32part.py`` and its documentation (docs/firmware.md
cites the revision):

- CSV columns ``Name, Type, SubType, Offset, Size, Flags``; trailing columns may be left
  out; ``#`` lines and empty lines are skipped; ``$NAME`` is replaced by a variable (an
  unknown one is an error); a BOM selects UTF-8/16/32.
- Numbers as Python's ``int(x, 0)`` reads them, with ``K`` (x 1024) and ``M``
  (x 1,048,576) suffixes; a negative size ``-X`` makes the partition end at offset X.
- An empty offset is the previous partition's end rounded up to the type's alignment
  (app 0x10000, every other type 0x1000); the first free offset is the table's offset
  plus its 0x1000-byte sector.  ``bootloader``/``partition_table`` rows of subtype
  ``primary`` take their place from the offsets (their own columns are ignored).
- Then ``verify``: alignment, app sizes in whole 0x1000 sectors, unique names, nothing
  below the table's end, no overlaps, at most one ``otadata`` (exactly 0x2000 bytes),
  no ``readonly`` on ``ota``/``coredump``, ``nvs`` at least 0x3000 unless read-only.
- The binary table (input starting ``AA 50``): 32-byte little-endian entries, then an
  optional MD5 entry (``EB EB``, 14 x ``FF``, the MD5 of the entries), then ``FF``.

ESP-IDF's older releases differed (4-byte data alignment before 5.0); this follows the
current one.
"""

from __future__ import annotations

import codecs
import hashlib
import itertools
import os
import re
import struct
from collections.abc import Mapping
from dataclasses import dataclass

from pytest_sizebudget.errors import InputError

TYPES = {"app": 0x00, "data": 0x01, "bootloader": 0x02, "partition_table": 0x03}
SUBTYPES: dict[int, dict[str, int]] = {
    0x00: {
        "factory": 0x00,
        **{f"ota_{i}": 0x10 + i for i in range(16)},
        "test": 0x20,
        "tee_0": 0x30,
        "tee_1": 0x31,
    },
    0x01: {
        "ota": 0x00,
        "phy": 0x01,
        "nvs": 0x02,
        "coredump": 0x03,
        "nvs_keys": 0x04,
        "efuse": 0x05,
        "undefined": 0x06,
        "esphttpd": 0x80,
        "fat": 0x81,
        "spiffs": 0x82,
        "littlefs": 0x83,
        "tee_ota": 0x90,
    },
    0x02: {"primary": 0x00, "ota": 0x01, "recovery": 0x02},
    0x03: {"primary": 0x00, "ota": 0x01},
}
FLAGS = {"encrypted": 0, "readonly": 1}
APP, DATA, BOOTLOADER, PARTITION_TABLE = 0x00, 0x01, 0x02, 0x03
TEE_SUBTYPES = (0x30, 0x31)  # not candidates for an app image without a subtype
TABLE_SIZE = 0x1000  # the sector the table is written to
MAX_BINARY = 0xC00  # a binary table of this size or more is an error
MAX_FILE = 1 << 20  # a partition table is a few KiB; refuse to read anything huge
_VARIABLE = re.compile(r"\$(\w+)|\$\{(\w+)\}")


class PartitionTableError(InputError):
    """A partition table that ESP-IDF would refuse."""


@dataclass(frozen=True, slots=True)
class Partition:
    name: str
    type: int
    subtype: int
    offset: int
    size: int
    flags: int = 0
    line: int = 0  # CSV line, or 1-based entry of a binary table

    @property
    def end(self) -> int:
        return self.offset + self.size

    @property
    def readonly(self) -> bool:
        return bool(self.flags & (1 << FLAGS["readonly"]))

    def describe(self) -> str:
        return f"{self.name} ({type_name(self.type)}/{subtype_name(self.type, self.subtype)})"


def type_name(value: int) -> str:
    return next((k for k, v in TYPES.items() if v == value), f"{value:#04x}")


def subtype_name(type_: int, value: int) -> str:
    return next((k for k, v in SUBTYPES.get(type_, {}).items() if v == value), f"{value:#04x}")


def parse_int(text: str) -> int:
    """ESP-IDF's number syntax: ``int(x, 0)`` with ``K``/``M`` suffixes, applied again."""
    for suffix, factor in (("k", 1024), ("m", 1024 * 1024)):
        if text.lower().endswith(suffix):
            return parse_int(text[:-1]) * factor
    return int(text, 0)


def read_table(
    data: bytes,
    shown: str,
    *,
    table_offset: int = 0x8000,
    bootloader_offset: int | None = None,
    variables: Mapping[str, str] | None = None,
) -> tuple[Partition, ...]:
    """The partitions of a CSV or binary table, verified as ESP-IDF verifies them."""
    if len(data) > MAX_FILE:
        raise PartitionTableError(f"{shown}: {len(data):,} bytes: too large for a partition table")
    if data[:2] == b"\xaa\x50":
        partitions = parse_binary(data, shown)
    else:
        partitions = parse_csv(
            _decode(data, shown), shown, table_offset, bootloader_offset, variables or {}
        )
    verify(partitions, shown, table_offset)
    return partitions


def _decode(data: bytes, shown: str) -> str:
    boms = (
        (codecs.BOM_UTF32_LE, "utf-32"),
        (codecs.BOM_UTF32_BE, "utf-32"),
        (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    )
    encoding = next((enc for bom, enc in boms if data.startswith(bom)), "utf-8")
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise PartitionTableError(
            f"{shown}: not {encoding} text (byte offset {exc.start})"
        ) from None


def parse_csv(
    text: str,
    shown: str,
    table_offset: int,
    bootloader_offset: int | None,
    variables: Mapping[str, str],
) -> tuple[Partition, ...]:
    out: list[Partition] = []
    end = table_offset + TABLE_SIZE  # where the next partition may start
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        where = f"{shown}: line {number}"
        line = _expand(line, where, variables)
        fields = [f.strip() for f in (line + ",,,,").split(",")]
        fields += [""] * (6 - len(fields))  # a line of a name alone: its type is missing
        name, type_text, subtype_text, offset_text, size_text, flags_text = fields[:6]
        if not name:
            raise PartitionTableError(f"{where}: the partition has no name")
        type_ = _type(type_text, where)
        subtype = _subtype(type_, subtype_text, where)
        flags = _flags(flags_text, where)
        if type_ in (BOOTLOADER, PARTITION_TABLE) and subtype == 0:
            # The primary bootloader and table: placed by the offsets, columns ignored.
            if type_ == PARTITION_TABLE:
                offset, size = table_offset, TABLE_SIZE
            else:
                if bootloader_offset is None:
                    raise PartitionTableError(
                        f"{where}: a primary bootloader row needs the budget's "
                        "bootloader_offset (0x1000 on ESP32, 0x0 on ESP32-C2/C3/S3, 0x2000 "
                        "on ESP32-C5/P4)"
                    )
                offset, size = bootloader_offset, table_offset - bootloader_offset
            out.append(Partition(name, type_, subtype, offset, size, flags, number))
            continue
        align = 0x10000 if type_ == APP else 0x1000
        if offset_text:
            offset = _number(offset_text, where, "offset")
            if offset < end:
                raise PartitionTableError(
                    f"{where}: partitions overlap: {name} is set at offset {offset:#x}, but "
                    f"the previous partition ends at {end:#x}"
                )
        else:
            offset = (end + align - 1) // align * align
        if not size_text:
            raise PartitionTableError(f"{where}: {name} has no size")
        size = _number(size_text, where, "size", negative=True)
        if size < 0:
            size = -size - offset  # "-X": the partition ends at offset X
            if size <= 0:
                raise PartitionTableError(
                    f"{where}: {name}: size {size_text} ends at or before its offset {offset:#x}"
                )
        out.append(Partition(name, type_, subtype, offset, size, flags, number))
        end = offset + size
    if not out:
        raise PartitionTableError(f"{shown}: no partitions (only comments and empty lines)")
    return tuple(out)


def _expand(line: str, where: str, variables: Mapping[str, str]) -> str:
    def value(m: re.Match[str]) -> str:
        name = m.group(1) or m.group(2)
        if name in variables:
            return variables[name]
        if name in os.environ:
            return os.environ[name]
        raise PartitionTableError(f"{where}: unknown variable ${name}")

    return _VARIABLE.sub(value, line) if "$" in line else line


def _number(text: str, where: str, what: str, *, negative: bool = False) -> int:
    try:
        value = parse_int(text)
    except ValueError:
        raise PartitionTableError(f"{where}: {what} {text!r} is not a number") from None
    if value < 0 and not negative:
        raise PartitionTableError(f"{where}: {what} {text!r} is negative")
    if abs(value) >= 1 << 32:
        raise PartitionTableError(f"{where}: {what} {text!r} does not fit in 32 bits")
    return value


def _type(text: str, where: str) -> int:
    if not text:
        raise PartitionTableError(f"{where}: the partition type is empty")
    known = TYPES.get(text.lower())
    if known is not None:
        return known
    try:
        value = parse_int(text)
    except ValueError:
        raise PartitionTableError(
            f"{where}: unknown partition type {text!r} (app, data, bootloader, "
            "partition_table or a number)"
        ) from None
    if not 0 <= value <= 0xFE:
        raise PartitionTableError(f"{where}: partition type {text!r} is not between 0 and 254")
    return value


def _subtype(type_: int, text: str, where: str) -> int:
    if not text:
        if type_ == DATA:
            return SUBTYPES[DATA]["undefined"]
        raise PartitionTableError(
            f"{where}: the subtype is empty (required for type {type_name(type_)})"
        )
    known = SUBTYPES.get(type_, {}).get(text.lower())
    if known is not None:
        return known
    try:
        value = parse_int(text)
    except ValueError:
        names = ", ".join(SUBTYPES.get(type_, {})) or "a number"
        raise PartitionTableError(
            f"{where}: unknown subtype {text!r} for type {type_name(type_)} ({names})"
        ) from None
    if not 0 <= value <= 0xFE:
        raise PartitionTableError(f"{where}: subtype {text!r} is not between 0 and 254")
    return value


def _flags(text: str, where: str) -> int:
    flags = 0
    for flag in filter(None, (f.strip() for f in text.split(":"))):
        if flag not in FLAGS:
            raise PartitionTableError(
                f"{where}: unknown flag {flag!r} (known: {', '.join(FLAGS)}, separated by ':')"
            )
        flags |= 1 << FLAGS[flag]
    return flags


def parse_binary(data: bytes, shown: str) -> tuple[Partition, ...]:
    out: list[Partition] = []
    md5 = hashlib.md5(usedforsecurity=False)
    for i in range(0, len(data), 32):
        entry = data[i : i + 32]
        if entry == b"\xff" * 32:
            break
        if len(entry) < 32:
            raise PartitionTableError(
                f"{shown}: offset {i}: truncated entry ({len(entry)} of 32 B)"
            )
        if i >= MAX_BINARY:
            raise PartitionTableError(
                f"{shown}: offset {i}: the table is {MAX_BINARY:#x} bytes or more"
            )
        if entry[:2] == b"\xeb\xeb":
            if entry[2:16] != b"\xff" * 14 or entry[16:] != md5.digest():
                raise PartitionTableError(
                    f"{shown}: offset {i}: the MD5 entry does not match the entries before it"
                )
            continue
        if entry[:2] != b"\xaa\x50":
            raise PartitionTableError(
                f"{shown}: offset {i}: not a partition entry (magic {entry[:2].hex(' ')}, "
                "expected aa 50)"
            )
        md5.update(entry)
        type_, subtype, offset, size = struct.unpack_from("<BBII", entry, 2)
        name = entry[12:28].split(b"\0", 1)[0].decode("utf-8", "replace")
        (flags,) = struct.unpack_from("<I", entry, 28)
        out.append(Partition(name, type_, subtype, offset, size, flags, i // 32 + 1))
    if not out:
        raise PartitionTableError(f"{shown}: the binary partition table has no entries")
    return tuple(out)


def verify(partitions: tuple[Partition, ...], shown: str, table_offset: int) -> None:
    """ESP-IDF's checks of a whole table (``PartitionTable.verify``)."""
    for p in partitions:
        where = f"{shown}: {p.name}"
        primary = p.type in (BOOTLOADER, PARTITION_TABLE) and p.subtype == 0
        align = 0x10000 if p.type == APP else 0x1000
        if p.offset % align and not primary:
            raise PartitionTableError(f"{where}: offset {p.offset:#x} is not aligned to {align:#x}")
        if p.type == APP and p.size % 0x1000:
            raise PartitionTableError(
                f"{where}: size {p.size:#x} of an app partition is not a multiple of 0x1000"
            )
        if not primary and p.offset < table_offset + TABLE_SIZE:
            raise PartitionTableError(
                f"{where}: offset {p.offset:#x} is below the end of the partition table "
                f"({table_offset + TABLE_SIZE:#x})"
            )
        if p.type == DATA and p.subtype in (0x00, 0x03) and p.readonly:
            raise PartitionTableError(
                f"{where}: a data/{subtype_name(DATA, p.subtype)} partition cannot be readonly"
            )
        if p.type == DATA and p.subtype == 0x02 and not p.readonly and p.size < 0x3000:
            raise PartitionTableError(
                f"{where}: an nvs partition must be at least 0x3000 bytes (it is {p.size:#x})"
            )
    names = [p.name for p in partitions]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise PartitionTableError(f"{shown}: partition names used twice: {', '.join(dupes)}")
    for subtype in (0x00, 0x90):
        same = [p for p in partitions if p.type == DATA and p.subtype == subtype]
        label = subtype_name(DATA, subtype)
        if len(same) > 1:
            raise PartitionTableError(f"{shown}: more than one data/{label} partition")
        if same and same[0].size != 0x2000:
            raise PartitionTableError(
                f"{shown}: {same[0].name}: a data/{label} partition must be 0x2000 bytes "
                f"(it is {same[0].size:#x})"
            )
    ordered = sorted(partitions, key=lambda p: p.offset)
    for a, b in itertools.pairwise(ordered):
        if b.offset < a.end:
            raise PartitionTableError(
                f"{shown}: {b.name} at {b.offset:#x} overlaps {a.name} "
                f"({a.offset:#x}-{a.end - 1:#x})"
            )


def table_end(partitions: tuple[Partition, ...]) -> int:
    """Flash the table needs: the end of the partition with the highest offset."""
    return max(partitions, key=lambda p: p.offset).end
