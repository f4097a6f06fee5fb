"""Android super budgets on bad input: every case keeps the passing ``Good`` budget file
beside it, so each also shows that the other budgets still run."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

from tests.unit.android.lp_builder import MIB, Layout, Part, super_empty

from .runner import GOOD_FILES, Case, FileContent

FILE = "super.sizebudget.json5"
INFO = (
    "use_dynamic_partitions=true\nsuper_partition_size=4194304\n"
    "dynamic_partition_list=system\nsystem_image_size=1048576\n"
)


def budgets(*entries: dict[str, Any]) -> str:
    return json.dumps({"super_budgets": list(entries)})


def layout() -> Layout:
    return Layout(device_size=8 * MIB, partitions=[Part("system", MIB)], slots=2)


def damaged(offset: int) -> bytes:
    data = bytearray(super_empty(layout()))
    data[offset] ^= 0xFF
    return bytes(data)


def broken(
    id: str, files: dict[str, FileContent], error: str, entry: dict[str, Any] | None = None
) -> Case:
    return Case(
        id=id,
        files={
            **GOOD_FILES,
            **files,
            FILE: budgets(entry or {"name": "s", "super_image": "s.img"}),
        },
        outcomes={"passed": 3, "failed": 1},
        report={"Good": None, "s": error},
    )


def zip_without_misc(path: Path) -> None:
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("IMAGES/system.img", b"\0" * 4096)


def past_end() -> bytes:
    bad = layout()
    bad.extent_past_end = True
    return super_empty(bad)


CASES = [
    broken(
        "android-super-wrong-magic",
        {"s.img": bytes(16384)},
        "super_budgets[0].super_image: s.img: offset 0: not a super image: no Android sparse "
        "magic at offset 0",
    ),
    broken(
        "android-super-truncated-metadata",
        {"s.img": super_empty(layout())[:4234]},
        "super_budgets[0].super_image: s.img: offset 4224: truncated metadata tables",
    ),
    broken(
        "android-super-geometry-checksum",
        {"s.img": damaged(44)},
        "super_budgets[0].super_image: s.img: offset 8: geometry checksum (SHA-256) does not match",
    ),
    broken(
        "android-super-tables-checksum",
        {"s.img": damaged(4096 + 128 + 3)},
        "super_budgets[0].super_image: s.img: offset 4144: metadata tables checksum (SHA-256) "
        "does not match",
    ),
    broken(
        "android-super-extent-past-end",
        {"s.img": past_end()},
        "ends past the end of block device 'super' (8,388,608 bytes)",
    ),
    broken(
        "android-super-missing-image",
        {"info.txt": INFO.replace("system_image_size=1048576", "system_image=out/system.img")},
        "super_budgets[0].info: system_image (info.txt:4): out/system.img: does not exist",
        entry={"name": "s", "info": "info.txt"},
    ),
    broken(
        "android-super-bad-number",
        {"info.txt": INFO.replace("4194304", "4 GiB")},
        "super_budgets[0].info: super_partition_size=4 GiB (info.txt:2): not a whole number",
        entry={"name": "s", "info": "info.txt"},
    ),
    broken(
        "android-super-no-dynamic-partitions",
        {"info.txt": INFO.replace("use_dynamic_partitions=true", "use_dynamic_partitions=false")},
        "check_partition_sizes should only be executed on builds with dynamic partitions enabled",
        entry={"name": "s", "info": "info.txt"},
    ),
    broken(
        "android-super-info-not-text",
        {"info.txt": b"use_dynamic_partitions=true\n\xff\xfe"},
        "super_budgets[0].info: info.txt: byte offset 28: not UTF-8 text",
        entry={"name": "s", "info": "info.txt"},
    ),
    broken(
        "android-super-target-files-not-zip",
        {"tf.zip": b"PK\3\4 but not really"},
        "super_budgets[0].target_files: tf.zip: neither a directory nor a zip file",
        entry={"name": "s", "target_files": "tf.zip"},
    ),
    broken(
        "android-super-target-files-no-misc-info",
        {"tf.zip": zip_without_misc},
        "super_budgets[0].target_files: tf.zip:META/misc_info.txt: does not exist",
        entry={"name": "s", "target_files": "tf.zip"},
    ),
]


# --- OTA budgets ------------------------------------------------------------------------------


def ota(id: str, files: dict[str, FileContent], error: str, entry: dict[str, Any]) -> Case:
    return Case(
        id=id,
        files={**GOOD_FILES, **files, "ota.sizebudget.json5": json.dumps({"ota_budgets": [entry]})},
        outcomes={"passed": 3, "failed": 1},
        report={"Good": None, entry["name"]: error},
    )


def _payload_header(manifest: bytes, signature: int = 0) -> bytes:
    import struct

    return b"CrAU" + struct.pack(">QQI", 2, len(manifest), signature) + manifest


PAYLOAD = {"name": "o", "payload": "payload.bin", "download_budget_bytes": "1 MiB"}
STASH = {"name": "o", "transfer_list": "system.transfer.list", "cache_size": "1 MiB"}

CASES += [
    ota(
        "android-ota-truncated-header",
        {"payload.bin": b"CrAU\0\0"},
        "ota_budgets[0].payload: payload.bin: offset 0: truncated payload header (6 of 24 bytes)",
        PAYLOAD,
    ),
    ota(
        "android-ota-manifest-past-end",
        {"payload.bin": _payload_header(b"")[:12] + (1 << 40).to_bytes(8, "big") + bytes(4)},
        "ota_budgets[0].payload: payload.bin: offset 12: manifest size 1,099,511,627,776 is "
        "above 268,435,456, the most sizebudget reads",
        PAYLOAD,
    ),
    ota(
        "android-ota-bad-protobuf",
        {"payload.bin": _payload_header(bytes([0x6A, 0x40, 0x01]))},
        "ota_budgets[0].payload: payload.bin: offset 24: manifest: field 13 is 64 bytes, past "
        "the end of the message",
        PAYLOAD,
    ),
    ota(
        "android-ota-partition-without-name",
        {"payload.bin": _payload_header(bytes([0x6A, 0x02, 0x38, 0x00]))},
        "manifest: a partition update has no partition_name",
        PAYLOAD,
    ),
    ota(
        "android-ota-stash-inconsistent",
        {"system.transfer.list": "4\n10\n0\n1\nstash a 2,0,5\n"},
        "ota_budgets[0].transfer_list: system.transfer.list:4: declares at most 1 stashed "
        "blocks, but its stash commands hold 5 at once",
        STASH,
    ),
    ota(
        "android-ota-stash-bad-range",
        {"system.transfer.list": "4\n10\n0\n5\nstash a 2,5,1\n"},
        "system.transfer.list:5: range '2,5,1' has an empty or reversed pair 5,1",
        STASH,
    ),
    ota(
        "android-ota-stash-truncated",
        {"system.transfer.list": "4\n10\n"},
        "system.transfer.list: truncated: the header has 2 of 4 lines",
        STASH,
    ),
]


def _bad_sparse() -> bytes:
    import struct

    # A sparse header promising 4 chunks, and none follows.
    return struct.pack("<I4H4I", 0xED26FF3A, 1, 0, 28, 12, 4096, 16, 4, 0)


_TF_INFO = (
    "use_dynamic_partitions=true\nsuper_partition_size=4194304\ndynamic_partition_list=system\n"
)


def _tf_zip(path: Path) -> None:
    import struct

    with zipfile.ZipFile(path, "w") as z:
        z.writestr("META/misc_info.txt", _TF_INFO)
        z.writestr(
            "IMAGES/system.img", struct.pack("<I4H4I", 0xED26FF3A, 2, 0, 28, 12, 4096, 16, 1, 0)
        )


CASES += [
    broken(
        "android-super-target-files-damaged-image",
        {"tf/META/misc_info.txt": _TF_INFO, "tf/IMAGES/system.img": _bad_sparse()},
        "super_budgets[0].target_files: tf/IMAGES/system.img: offset 28: ",
        entry={"name": "s", "target_files": "tf"},
    ),
    broken(
        "android-super-target-files-zip-sparse-major",
        {"tf.zip": _tf_zip},
        "super_budgets[0].target_files: tf.zip:IMAGES/system.img: offset 4: unusable sparse "
        "header (major 2, file_hdr_sz 28, chunk_hdr_sz 12, blk_sz 4096)",
        entry={"name": "s", "target_files": "tf.zip"},
    ),
]
