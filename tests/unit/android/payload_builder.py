"""A/B payloads for tests, encoded by the ``protobuf`` package (an encoder independent of
the plugin's wire reader) from a descriptor of the fields of ``update_metadata.proto`` the
plugin reads (field numbers from android_super.md §4.2)."""

from __future__ import annotations

import base64
import hashlib
import random
import struct
from functools import cache
from typing import Any

from google.protobuf import (  # type: ignore[import-untyped]
    descriptor_pb2,
    descriptor_pool,
    message_factory,
)

OPTIONAL, REQUIRED, REPEATED = 1, 2, 3
UINT64, UINT32, STRING, BOOL, MESSAGE, BYTES = 4, 13, 9, 8, 11, 12
PKG = "chromeos_update_engine"

MESSAGES: dict[str, list[tuple[str, int, int, int, str | None]]] = {
    "PartitionInfo": [("size", 1, UINT64, OPTIONAL, None), ("hash", 2, BYTES, OPTIONAL, None)],
    "Extent": [
        ("start_block", 1, UINT64, OPTIONAL, None),
        ("num_blocks", 2, UINT64, OPTIONAL, None),
    ],
    "InstallOperation": [
        ("type", 1, UINT32, REQUIRED, None),  # an enum on the wire is a varint too
        ("data_offset", 2, UINT64, OPTIONAL, None),
        ("data_length", 3, UINT64, OPTIONAL, None),
        ("dst_extents", 6, MESSAGE, REPEATED, "Extent"),
    ],
    "PartitionUpdate": [
        ("partition_name", 1, STRING, REQUIRED, None),
        ("old_partition_info", 6, MESSAGE, OPTIONAL, "PartitionInfo"),
        ("new_partition_info", 7, MESSAGE, OPTIONAL, "PartitionInfo"),
        ("operations", 8, MESSAGE, REPEATED, "InstallOperation"),
        ("estimate_cow_size", 19, UINT64, OPTIONAL, None),
    ],
    "DynamicPartitionGroup": [
        ("name", 1, STRING, REQUIRED, None),
        ("size", 2, UINT64, OPTIONAL, None),
        ("partition_names", 3, STRING, REPEATED, None),
    ],
    "DynamicPartitionMetadata": [
        ("groups", 1, MESSAGE, REPEATED, "DynamicPartitionGroup"),
        ("snapshot_enabled", 2, BOOL, OPTIONAL, None),
        ("vabc_enabled", 3, BOOL, OPTIONAL, None),
    ],
    "DeltaArchiveManifest": [
        ("block_size", 3, UINT32, OPTIONAL, None),
        ("signatures_offset", 4, UINT64, OPTIONAL, None),
        ("signatures_size", 5, UINT64, OPTIONAL, None),
        ("minor_version", 12, UINT32, OPTIONAL, None),
        ("partitions", 13, MESSAGE, REPEATED, "PartitionUpdate"),
        ("dynamic_partition_metadata", 15, MESSAGE, OPTIONAL, "DynamicPartitionMetadata"),
    ],
}


@cache
def manifest_class() -> Any:
    fdp = descriptor_pb2.FileDescriptorProto(
        name="update_metadata_subset.proto", package=PKG, syntax="proto2"
    )
    for name, fields in MESSAGES.items():
        message = fdp.message_type.add(name=name)
        for fname, number, ftype, label, type_name in fields:
            field = message.field.add(name=fname, number=number, type=ftype, label=label)
            if type_name:
                field.type_name = f".{PKG}.{type_name}"
    pool = descriptor_pool.DescriptorPool()
    pool.Add(fdp)
    return message_factory.GetMessageClass(
        pool.FindMessageTypeByName(f"{PKG}.DeltaArchiveManifest")
    )


def build(
    partitions: list[dict[str, Any]],
    groups: list[tuple[str, int, list[str]]] = (),  # type: ignore[assignment]
    *,
    minor_version: int = 0,
    snapshot: bool = False,
    signature: bytes = b"",
    seed: int = 1,
) -> bytes:
    """``partitions``: dicts with name, new_size, data (list of op data lengths), and
    optionally old_size and cow."""
    m = manifest_class()()
    if minor_version:
        m.minor_version = minor_version
    rng = random.Random(seed)
    blobs = bytearray()
    for p in partitions:
        pu = m.partitions.add(partition_name=p["name"])
        pu.new_partition_info.size = p["new_size"]
        if "old_size" in p:
            pu.old_partition_info.size = p["old_size"]
        if "cow" in p:
            pu.estimate_cow_size = p["cow"]
        for length in p.get("data", []):
            op = pu.operations.add(type=8)  # REPLACE_XZ
            if length:
                op.data_offset = len(blobs)
                op.data_length = length
                blobs += rng.randbytes(length)
            op.dst_extents.add(start_block=0, num_blocks=1)
        for _ in range(p.get("copies", 0)):
            pu.operations.add(type=4)  # SOURCE_COPY: no data
    if groups or snapshot:
        dpm = m.dynamic_partition_metadata
        dpm.snapshot_enabled = snapshot
        for name, size, names in groups:
            dpm.groups.add(name=name, size=size, partition_names=names)
    manifest: bytes = m.SerializeToString()
    header = b"CrAU" + struct.pack(">QQI", 2, len(manifest), len(signature))
    return header + manifest + signature + bytes(blobs)


def properties(payload: bytes, metadata_size: int) -> str:
    def b64(data: bytes) -> str:
        return base64.b64encode(hashlib.sha256(data).digest()).decode()

    return (
        f"FILE_HASH={b64(payload)}\nFILE_SIZE={len(payload)}\n"
        f"METADATA_HASH={b64(payload[:metadata_size])}\nMETADATA_SIZE={metadata_size}\n"
    )
