"""The payload reader on payloads encoded by ``protobuf``, and on damaged ones."""

from __future__ import annotations

import io

import pytest

from pytest_sizebudget.android import payload as pl
from pytest_sizebudget.android import transfer_list
from pytest_sizebudget.android.info import InfoError
from pytest_sizebudget.images.model import ImageFormatError

from .payload_builder import build

PARTS = [
    {
        "name": "system",
        "new_size": 8 << 20,
        "old_size": 7 << 20,
        "data": [1000, 0, 3000],
        "cow": 5000,
        "copies": 2,
    },
    {"name": "vendor", "new_size": 2 << 20, "data": [700]},
]


def read(data: bytes) -> pl.Payload:
    return pl.read_payload(io.BytesIO(data).read, len(data), "payload.bin")


def test_sizes_of_a_generated_payload() -> None:
    data = build(
        PARTS,
        [("main", 12 << 20, ["system", "vendor"])],
        minor_version=8,
        snapshot=True,
        signature=b"s" * 10,
    )
    p = read(data)
    assert (p.minor_version, p.block_size, p.full, p.snapshot_enabled) == (8, 4096, False, True)
    assert [
        (u.name, u.new_size, u.old_size, u.operations, u.data_bytes, u.estimate_cow_size)
        for u in p.partitions
    ] == [
        ("system", 8 << 20, 7 << 20, 5, 4000, 5000),
        ("vendor", 2 << 20, None, 1, 700, None),
    ]
    assert p.groups == (pl.GroupUpdate("main", 12 << 20, ("system", "vendor")),)
    # file = 24 + manifest + metadata signature + every operation's data (§4.1)
    assert len(data) == p.metadata_bytes + p.signature_bytes + p.data_bytes
    assert p.partitions[0].device_cow_bytes == 5000 + (2 << 20) + 4096 - (5000 % 4096)


def test_wire_reader_rules() -> None:
    # last scalar wins, unknown fields of every wire type are skipped, packed repeats kept
    msg = bytes([0x18, 0x80, 0x20, 0x18, 0x80, 0x10])  # block_size 4096 then 2048
    msg += bytes([0x99, 0x06]) + bytes(8)  # field 99, fixed64
    msg += bytes([0x9D, 0x06]) + bytes(4)  # field 99, fixed32
    msg += bytes([0x98, 0x06, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01])  # -1
    f = pl.fields(msg)
    assert f[3] == [4096, 2048]
    assert f[99][-1] == (1 << 64) - 1
    with pytest.raises(pl.WireError, match="past the end"):
        pl.fields(bytes([0x6A, 0x05, 0x01]))
    with pytest.raises(pl.WireError, match="wire type 3"):
        pl.fields(bytes([0x6B]))
    with pytest.raises(pl.WireError, match="longer than 10 bytes"):
        pl.fields(bytes([0x18]) + b"\xff" * 11)


def test_damaged_payloads() -> None:
    good = build(PARTS)
    with pytest.raises(ImageFormatError, match="bad payload magic"):
        read(b"XrAU" + good[4:])
    with pytest.raises(ImageFormatError, match="major version 1"):
        read(good[:4] + (1).to_bytes(8, "big") + good[12:])
    with pytest.raises(ImageFormatError, match="truncated payload header"):
        read(good[:20])
    manifest_size = int.from_bytes(good[12:20], "big")
    with pytest.raises(ImageFormatError, match="past the end of the file"):
        read(good[: 24 + manifest_size - 1])
    # the data area cut short: an operation's blob is past the end
    with pytest.raises(ImageFormatError, match="operation 2 of partition 'system'"):
        read(good[: len(good) - 700 - 10])


def test_transfer_list_peak() -> None:
    text = "4\n100\n0\n30\nstash a 2,0,10\nstash b 2,20,40\nfree a\nstash a 2,0,5\nmove x 2,0,1 1 2,5,6\nfree b\n"
    use = transfer_list.parse(text.split("\n"), "system", "system.transfer.list")
    assert (use.version, use.total_blocks, use.max_stashed_blocks, use.explicit_peak_blocks) == (
        4,
        100,
        30,
        30,
    )
    bad = text.replace("\n30\n", "\n29\n")
    with pytest.raises(
        InfoError, match="declares at most 29 stashed blocks, but its stash commands hold 30"
    ):
        transfer_list.parse(bad.split("\n"), "system", "s.transfer.list")
    with pytest.raises(InfoError, match="version 7"):
        transfer_list.parse(["7", "1"], "system", "s")
    with pytest.raises(InfoError, match="does not hold 3 numbers"):
        transfer_list.parse(["4", "1", "0", "9", "stash a 3,0,10", ""], "p", "s")
    v1 = transfer_list.parse(["1", "50", "new 2,0,50"], "boot", "b")
    assert v1.max_stashed_blocks == 0
