"""The liblp reader on super images built by the test writer, cross-checked with the
independent ``liblp`` port from PyPI, and through the real img2simg/simg2simg."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from pytest_sizebudget.android import liblp
from pytest_sizebudget.android.super_image import metadata_info, read_super
from pytest_sizebudget.images.model import ImageFormatError

from .lp_builder import MIB, Layout, Part, metadata, super_empty, write_super


def launch_ab() -> Layout:
    return Layout(
        device_size=64 * MIB,
        partitions=[
            Part("system_a", 5 * MIB + 1, "main_a"),
            Part("vendor_a", 3 * MIB, "main_a"),
            Part("system_b", 0, "main_b"),
            Part("vendor_b", 0, "main_b"),
        ],
        groups=[("main_a", 30 * MIB, 0), ("main_b", 30 * MIB, 0)],
    )


def read(path: Path) -> liblp.Metadata:
    return read_super([path], [path.name]).metadata


def test_super_empty(tmp_path: Path) -> None:
    path = tmp_path / "super_empty.img"
    path.write_bytes(super_empty(launch_ab()))
    image = read_super([path], ["super_empty.img"])
    md = image.metadata
    assert image.container == "super_empty"
    assert image.expanded_bytes == 4096 + 128 + md.tables_size
    assert md.version == "10.0"
    assert [(p.name, p.bytes) for p in md.partitions] == [
        ("system_a", 5 * MIB + 4096),  # rounded up to the logical block size
        ("vendor_a", 3 * MIB),
        ("system_b", 0),
        ("vendor_b", 0),
    ]
    assert [(g.name, g.maximum_size) for g in md.groups] == [
        ("default", 0),
        ("main_a", 30 * MIB),
        ("main_b", 30 * MIB),
    ]
    assert md.super_bytes == 64 * MIB
    assert md.allocatable_bytes == 63 * MIB  # 3 slots of 64 KiB: metadata within 1 MiB


def test_metadata_as_info_launch_ab(tmp_path: Path) -> None:
    path = tmp_path / "super_empty.img"
    path.write_bytes(super_empty(launch_ab()))
    info = metadata_info(read_super([path], ["s"]), "s metadata")
    assert dict(info) == {
        "use_dynamic_partitions": "true",
        "ab_update": "true",
        "super_partition_size": str(64 * MIB),
        "super_block_devices": "super",
        "super_super_device_size": str(64 * MIB),
        "dynamic_partition_list": "system vendor",
        "system_image_size": str(5 * MIB + 4096),
        "vendor_image_size": str(3 * MIB),
        "super_partition_groups": "main",
        "super_main_group_size": str(30 * MIB),
        "super_main_partition_list": "system vendor",
    }


def test_virtual_ab_header_v10_2(tmp_path: Path) -> None:
    layout = launch_ab()
    layout.minor, layout.flags = 2, liblp.HEADER_FLAG_VIRTUAL_AB
    layout.partitions[2].size = 2 * MIB  # system_b holds system_other
    path = tmp_path / "super_empty.img"
    path.write_bytes(super_empty(layout))
    image = read_super([path], ["s"])
    assert (image.metadata.header_size, image.metadata.flags) == (256, 1)
    info = metadata_info(image, "m")
    assert info["virtual_ab"] == "true"
    assert info["system_other_image_size"] == str(2 * MIB)


def test_retrofit_and_non_ab(tmp_path: Path) -> None:
    layout = Layout(
        device_size=32 * MIB,
        partitions=[Part("system", MIB, "g", attrs=3), Part("vendor", MIB, "g", attrs=3)],
        groups=[("g", 10 * MIB, 1)],
        slots=2,
        device_name="system",
        device_flags=1,
        extra_devices=[("vendor", 16 * MIB, 1)],
    )
    path = tmp_path / "s.img"
    path.write_bytes(super_empty(layout))
    info = metadata_info(read_super([path], ["s"]), "m")
    assert info["dynamic_partition_retrofit"] == "true"
    assert info["super_block_devices"] == "system vendor"
    assert info["super_partition_size"] == str(48 * MIB)
    plain = Layout(device_size=32 * MIB, partitions=[Part("system", MIB)], slots=2)
    path.write_bytes(super_empty(plain))
    info = metadata_info(read_super([path], ["s"]), "m")
    assert "ab_update" not in info
    assert info["super_partition_groups"] == ""


def test_raw_super_agrees_with_liblp_from_pypi(tmp_path: Path) -> None:
    oracle = pytest.importorskip("liblp.reader")
    layout = launch_ab()
    layout.partitions[0].zero_extent = MIB
    path = tmp_path / "super.img"
    write_super(path, layout, {"system_a": b"\x11" * 4096, "vendor_a": b"\x22" * 8192})
    image = read_super([path], ["super.img"])
    assert image.container == "raw"
    assert image.expanded_bytes == 64 * MIB
    opened = []

    class Opener:  # liblp's default opener leaves the file open
        def Open(self, name: str, flags: str):  # type: ignore[no-untyped-def]
            opened.append(open(name, "rb"))  # noqa: SIM115
            return opened[-1]

    try:
        theirs = oracle.ReadMetadata(str(path), 0, Opener())
    finally:
        for f in opened:
            f.close()

    def name(raw: bytes) -> str:
        return bytes(raw).rstrip(b"\0").decode()

    ours = image.metadata
    assert [name(p.name) for p in theirs.partitions] == [p.name for p in ours.partitions]
    for mine, other in zip(ours.partitions, theirs.partitions, strict=True):
        exts = theirs.extents[other.first_extent_index :][: other.num_extents]
        assert mine.bytes == sum(e.num_sectors * 512 for e in exts)
        assert mine.linear_bytes == sum(e.num_sectors * 512 for e in exts if e.target_type == 0)
        assert mine.group == other.group_index
    assert [(name(g.name), g.maximum_size) for g in theirs.groups] == [
        (g.name, g.maximum_size) for g in ours.groups
    ]
    assert [
        (name(d.partition_name), d.size, d.first_logical_sector) for d in theirs.block_devices
    ] == [(d.name, d.size, d.first_logical_sector) for d in ours.block_devices]
    assert ours.partitions[0].bytes - ours.partitions[0].linear_bytes == MIB


def tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        pytest.skip(f"{name} not installed (apt-get install android-sdk-libsparse-utils)")
    return found


def test_sparse_and_split_super(tmp_path: Path) -> None:
    img2simg, simg2simg = tool("img2simg"), tool("simg2simg")
    raw, sparse = tmp_path / "super.raw", tmp_path / "super.img"
    write_super(raw, launch_ab(), {"system_a": bytes(range(256)) * 4096})
    subprocess.run([img2simg, str(raw), str(sparse)], check=True)
    expected = read(raw)
    image = read_super([sparse], ["super.img"])
    assert image.container == "android_sparse"
    assert image.metadata == expected
    assert image.expanded_bytes == 64 * MIB
    subprocess.run([simg2simg, str(sparse), str(tmp_path / "split.img"), "300000"], check=True)
    pieces = sorted(tmp_path.glob("split.img*"))
    assert len(pieces) > 1
    got = read_super(pieces, [p.name for p in pieces])
    assert got.metadata == expected
    got = read_super(pieces[::-1], [p.name for p in pieces[::-1]])
    assert got.metadata == expected


# --- malformed input ------------------------------------------------------------------------


def broken(tmp_path: Path, data: bytes, message: str) -> ImageFormatError:
    path = tmp_path / "bad.img"
    path.write_bytes(data)
    with pytest.raises(ImageFormatError, match=message) as info:
        read_super([path], ["bad.img"])
    return info.value


def test_wrong_magic(tmp_path: Path) -> None:
    broken(tmp_path, bytes(8192), "not a super image")
    data = bytearray(super_empty(launch_ab()))
    data[4096] ^= 1
    err = broken(tmp_path, bytes(data), "bad metadata header magic")
    assert err.offset == 4096


def test_bad_checksums(tmp_path: Path) -> None:
    good = super_empty(launch_ab())
    data = bytearray(good)
    data[48] ^= 1  # logical_block_size: the geometry checksum no longer matches
    assert broken(tmp_path, bytes(data), "geometry checksum").offset == 8
    data = bytearray(good)
    data[4096 + 60] ^= 1  # a tables descriptor: the header checksum
    broken(tmp_path, bytes(data), "metadata header checksum")
    data = bytearray(good)
    data[-1] ^= 1  # a block device's flags: the tables checksum
    broken(tmp_path, bytes(data), "metadata tables checksum")


def test_truncated(tmp_path: Path) -> None:
    good = super_empty(launch_ab())
    broken(tmp_path, good[:-10], "truncated metadata tables")
    broken(tmp_path, good[:4100], "truncated metadata header")
    raw = tmp_path / "r.img"
    write_super(raw, launch_ab())
    broken(tmp_path, raw.read_bytes()[: 32 * MIB], "less than its block device")


def test_extent_past_end(tmp_path: Path) -> None:
    layout = launch_ab()
    layout.extent_past_end = True
    broken(tmp_path, super_empty(layout), "extent 0 .* ends past the end of block device 'super'")


def test_unsupported_version(tmp_path: Path) -> None:
    layout = launch_ab()
    layout.minor = 3
    broken(tmp_path, super_empty(layout), r"metadata version 10.3 is not supported")


def test_attributes_not_allowed_in_v10_0(tmp_path: Path) -> None:
    layout = launch_ab()
    layout.partitions[0].attrs = 0x4  # UPDATED needs v10.1
    broken(tmp_path, super_empty(layout), "attributes 0x4 that version 10.0 does not allow")
    layout.minor = 1
    path = tmp_path / "ok.img"
    path.write_bytes(super_empty(layout))
    assert read(path).minor == 1


def test_metadata_area_overlaps_partitions(tmp_path: Path) -> None:
    layout = launch_ab()
    layout.alignment = 4096
    layout.slots = 3
    layout.metadata_max_size = 65536
    md = bytearray(metadata(layout))
    assert md  # builds; now claim a first sector inside the metadata area
    layout2 = launch_ab()
    layout2.alignment = 512
    path = tmp_path / "x.img"
    path.write_bytes(super_empty(layout2))
    assert read(path).block_devices[0].first_logical_sector * 512 >= 4096 + 2 * (4096 + 3 * 65536)


def test_retrofit_split_image_of_the_metadata_device(tmp_path: Path) -> None:
    # A retrofit device's OTA/super_system.img: the block device that holds the metadata.
    layout = Layout(
        device_size=16 * MIB,
        partitions=[Part("system", MIB, "g", attrs=3), Part("vendor", MIB, "g", attrs=3)],
        groups=[("g", 10 * MIB, 1)],
        slots=2,
        device_name="system",
        device_flags=1,
        extra_devices=[("vendor", 8 * MIB, 1)],
    )
    path = tmp_path / "super_system.img"
    write_super(path, layout)
    image = read_super([path], ["super_system.img"])
    assert image.container == "raw"
    info = metadata_info(image, "m")
    assert info["dynamic_partition_retrofit"] == "true"
    assert info["super_partition_size"] == str(24 * MIB)
    assert info["super_g_partition_list"] == "system vendor"
