"""A/B OTA ``payload.bin`` (update_engine, major version 2): header and manifest sizes.

Format (android_super.md §4): a big-endian header (``CrAU``, u64 major version 2, u64
manifest size, u32 metadata signature size), the protobuf ``DeltaArchiveManifest``, the
metadata signature, then the data blobs, which operations address relative to the end of
the metadata signature.  Only the header and the manifest are read: a payload of several
gigabytes costs one read of its manifest.

The manifest is decoded by a minimal protobuf wire reader rather than the ``protobuf``
package: the plugin needs a dozen numeric fields, the reader is short, it bounds every
length by its buffer, and a compiled ``update_metadata.proto`` would be one more thing to
keep in step (the tests build payloads with ``protobuf`` as an independent encoder).
Proto2 defaults apply to absent fields (``block_size`` 4096, numbers 0); the last
occurrence of a scalar wins; unknown fields are skipped.
"""

from __future__ import annotations

import base64
import hashlib
import struct
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pytest_sizebudget.images.model import ImageFormatError
from pytest_sizebudget.paths import open_file

from .info import InfoError, parse_text

MAGIC = b"CrAU"
HEADER = struct.Struct(">4sQQI")  # 24 bytes
MAJOR = 2
# A manifest lists every operation of every partition; tens of megabytes is already
# far beyond a real one, and this bounds what one payload makes us hold in memory.
MAX_MANIFEST_BYTES = 256 << 20
MAX_SIGNATURE_BYTES = 1 << 20
COW_OVERHEAD = 2 << 20  # libsnapshot adds 2 MiB to estimate_cow_size (then rounds to 4 KiB)


class WireError(ValueError):
    """A protobuf message that does not parse; ``offset`` is within the message."""

    def __init__(self, offset: int, problem: str) -> None:
        self.offset, self.problem = offset, problem
        super().__init__(f"offset {offset}: {problem}")


Fields = dict[int, list[Any]]


def _varint(buf: bytes, at: int) -> tuple[int, int]:
    value = shift = 0
    start = at
    while True:
        if at >= len(buf):
            raise WireError(start, "varint runs past the end of the message")
        byte = buf[at]
        at += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, at
        shift += 7
        if shift >= 70:
            raise WireError(start, "varint longer than 10 bytes")


def fields(buf: bytes) -> Fields:
    """Every field of one message: number -> values in order (ints or bytes)."""
    out: Fields = {}
    at, end = 0, len(buf)
    while at < end:
        start = at
        key = buf[at]  # keys and small numbers are one byte: the common case, inlined
        if key < 0x80:
            at += 1
        else:
            key, at = _varint(buf, at)
        number, wire = key >> 3, key & 7
        if number == 0:
            raise WireError(start, "field number 0")
        value: Any
        if wire == 0:
            if at < end and buf[at] < 0x80:
                value, at = buf[at], at + 1
            else:
                value, at = _varint(buf, at)
        elif wire == 2:
            if at < end and buf[at] < 0x80:
                length, at = buf[at], at + 1
            else:
                length, at = _varint(buf, at)
            if length > end - at:
                raise WireError(
                    start, f"field {number} is {length:,} bytes, past the end of the message"
                )
            value, at = buf[at : at + length], at + length
        elif wire == 1:
            if at + 8 > end:
                raise WireError(start, f"fixed64 field {number} runs past the end")
            value, at = int.from_bytes(buf[at : at + 8], "little"), at + 8
        elif wire == 5:
            if at + 4 > end:
                raise WireError(start, f"fixed32 field {number} runs past the end")
            value, at = int.from_bytes(buf[at : at + 4], "little"), at + 4
        else:
            raise WireError(start, f"field {number} has wire type {wire} (groups are not used)")
        values = out.get(number)
        if values is None:
            out[number] = [value]
        else:
            values.append(value)
    return out


def _int(f: Fields, number: int, default: int = 0) -> int:
    values = f.get(number)
    if not values:
        return default
    value = values[-1]
    if not isinstance(value, int):
        raise WireError(0, f"field {number} is length-delimited, expected a number")
    return value


def _messages(f: Fields, number: int) -> list[Fields]:
    out = []
    for value in f.get(number, ()):
        if not isinstance(value, bytes):
            raise WireError(0, f"field {number} is a number, expected a message")
        out.append(fields(value))
    return out


def _text(f: Fields, number: int) -> str:
    values = f.get(number)
    if not values:
        return ""
    value = values[-1]
    if not isinstance(value, bytes):
        raise WireError(0, f"field {number} is a number, expected a string")
    return value.decode("utf-8", "backslashreplace")


@dataclass(frozen=True, slots=True)
class PartitionUpdate:
    name: str
    new_size: int  # new_partition_info.size: the target image's (expanded) size
    old_size: int | None  # old_partition_info.size (a delta payload)
    operations: int
    data_bytes: int  # sum of the operations' data_length: what the partition adds to the download
    estimate_cow_size: int | None

    @property
    def device_cow_bytes(self) -> int | None:
        """What libsnapshot reserves with compression: estimate + 2 MiB, up to 4 KiB."""
        if self.estimate_cow_size is None:
            return None
        return -(-(self.estimate_cow_size + COW_OVERHEAD) // 4096) * 4096

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "new_size": self.new_size,
            "old_size": self.old_size,
            "operations": self.operations,
            "data_bytes": self.data_bytes,
            "estimate_cow_size": self.estimate_cow_size,
            "device_cow_bytes": self.device_cow_bytes,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> PartitionUpdate:
        return cls(
            str(d["name"]),
            int(d["new_size"]),
            d.get("old_size"),
            int(d["operations"]),
            int(d["data_bytes"]),
            d.get("estimate_cow_size"),
        )


@dataclass(frozen=True, slots=True)
class GroupUpdate:
    name: str
    size: int
    partitions: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "size": self.size, "partitions": list(self.partitions)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> GroupUpdate:
        return cls(str(d["name"]), int(d["size"]), tuple(str(p) for p in d["partitions"]))


@dataclass(frozen=True, slots=True)
class Payload:
    file_bytes: int  # payload.bin's length
    manifest_bytes: int
    signature_bytes: int  # the metadata signature
    block_size: int
    minor_version: int  # 0: a full payload
    partitions: tuple[PartitionUpdate, ...]
    groups: tuple[GroupUpdate, ...]
    snapshot_enabled: bool
    vabc_enabled: bool
    data_bytes: int  # sum of every operation's data

    @property
    def metadata_bytes(self) -> int:
        """METADATA_SIZE: the header and the manifest, without the metadata signature."""
        return HEADER.size + self.manifest_bytes

    @property
    def full(self) -> bool:
        return self.minor_version == 0


def _parse_manifest(manifest: bytes, blob_area: int, name: str) -> tuple[Any, ...]:
    m = fields(manifest)
    partitions = []
    total = 0
    for p in _messages(m, 13):
        pname = _text(p, 1)
        if not pname:
            raise WireError(0, "a partition update has no partition_name")
        new = _messages(p, 7)
        old = _messages(p, 6)
        ops = _messages(p, 8)
        data = 0
        for i, op in enumerate(ops):
            offset, length = _int(op, 2), _int(op, 3)
            if length and offset + length > blob_area:
                raise ImageFormatError(
                    name,
                    None,
                    f"operation {i} of partition {pname!r} has data at {offset:,}+{length:,}, "
                    f"past the end of the payload's {blob_area:,} data bytes",
                )
            data += length
        total += data
        partitions.append(
            PartitionUpdate(
                pname,
                _int(new[-1], 1) if new else 0,
                _int(old[-1], 1) if old else None,
                len(ops),
                data,
                _int(p, 19) if 19 in p else None,
            )
        )
    groups: list[GroupUpdate] = []
    snapshot = vabc = False
    dpm = _messages(m, 15)
    if dpm:
        d = dpm[-1]
        for g in _messages(d, 1):
            names = tuple(v.decode("utf-8", "backslashreplace") for v in g.get(3, ()))
            groups.append(GroupUpdate(_text(g, 1), _int(g, 2), names))
        snapshot, vabc = bool(_int(d, 2)), bool(_int(d, 3))
    return (_int(m, 3, 4096), _int(m, 12), tuple(partitions), tuple(groups), snapshot, vabc, total)


def read_payload(read: Callable[[int], bytes], file_bytes: int, name: str) -> Payload:
    """The payload from a stream positioned at its start (``read(n)`` returns up to n)."""

    def take(n: int) -> bytes:
        parts, left = [], n
        while left > 0:
            chunk = read(min(left, 1 << 20))
            if not chunk:
                break
            parts.append(chunk)
            left -= len(chunk)
        return b"".join(parts)

    head = take(HEADER.size)
    if len(head) < HEADER.size:
        raise ImageFormatError(name, 0, f"truncated payload header ({len(head)} of 24 bytes)")
    magic, major, manifest_size, signature_size = HEADER.unpack(head)
    if magic != MAGIC:
        raise ImageFormatError(name, 0, f"bad payload magic {magic!r} (expected b'CrAU')")
    if major != MAJOR:
        raise ImageFormatError(name, 4, f"payload major version {major} (only 2 is supported)")
    if manifest_size > MAX_MANIFEST_BYTES:
        raise ImageFormatError(
            name,
            12,
            f"manifest size {manifest_size:,} is above {MAX_MANIFEST_BYTES:,}, the most "
            "sizebudget reads",
        )
    if signature_size > MAX_SIGNATURE_BYTES:
        raise ImageFormatError(
            name, 20, f"metadata signature size {signature_size:,} is above {MAX_SIGNATURE_BYTES:,}"
        )
    blob_start = HEADER.size + manifest_size + signature_size
    if blob_start > file_bytes:
        raise ImageFormatError(
            name,
            12,
            f"header says metadata and signature end at {blob_start:,}, past the end of the "
            f"file ({file_bytes:,} bytes)",
        )
    manifest = take(manifest_size)
    if len(manifest) != manifest_size:
        raise ImageFormatError(name, HEADER.size, "truncated manifest")
    try:
        block, minor, parts, groups, snapshot, vabc, total = _parse_manifest(
            manifest, file_bytes - blob_start, name
        )
    except WireError as exc:
        raise ImageFormatError(name, HEADER.size + exc.offset, f"manifest: {exc.problem}") from None
    return Payload(
        file_bytes=file_bytes,
        manifest_bytes=manifest_size,
        signature_bytes=signature_size,
        block_size=block,
        minor_version=minor,
        partitions=parts,
        groups=groups,
        snapshot_enabled=snapshot,
        vabc_enabled=vabc,
        data_bytes=total,
    )


@dataclass(frozen=True, slots=True)
class OtaPackage:
    payload: Payload
    zip_bytes: int | None  # the OTA .zip's length, when the payload came in one
    properties: dict[str, str]  # payload_properties.txt, when the zip has it


def load_payload(path: Path, shown: str) -> OtaPackage:
    """A ``payload.bin``, or the ``payload.bin`` inside an OTA ``.zip``."""
    f, st = open_file(path, shown)
    with f:
        head = f.read(4)
        f.seek(0)
        if head == MAGIC:
            return OtaPackage(read_payload(f.read, st.st_size, shown), None, {})
        if not zipfile.is_zipfile(f):
            raise ImageFormatError(
                shown, 0, "neither a payload.bin (magic CrAU) nor an OTA zip holding one"
            )
        f.seek(0)
        try:
            with zipfile.ZipFile(f) as z:
                names = set(z.namelist())
                if "payload.bin" not in names:
                    raise ImageFormatError(shown, None, "the zip holds no payload.bin")
                info = z.getinfo("payload.bin")
                member = f"{shown}:payload.bin"
                with z.open(info) as stream:
                    payload = read_payload(stream.read, info.file_size, member)
                properties: dict[str, str] = {}
                if "payload_properties.txt" in names:
                    raw = z.read("payload_properties.txt")
                    props = parse_text(raw, f"{shown}:payload_properties.txt")
                    properties = dict(props)
                    _check_properties(props, payload, info, z, member)
        except (zipfile.BadZipFile, EOFError, OSError) as exc:
            raise ImageFormatError(shown, None, f"cannot be read as a zip: {exc}") from None
        return OtaPackage(payload, st.st_size, properties)


def _check_properties(
    props: Any, payload: Payload, info: zipfile.ZipInfo, z: zipfile.ZipFile, member: str
) -> None:
    """payload_properties.txt must describe this payload (the device verifies it)."""
    for key, value in (
        ("FILE_SIZE", payload.file_bytes),
        ("METADATA_SIZE", payload.metadata_bytes),
    ):
        if key in props and props.integer(key) != value:
            raise InfoError(
                f"{props.where(key)}: but {member} has {key} {value:,}: the properties do not "
                "describe this payload"
            )
    if "METADATA_HASH" in props:
        with z.open(info) as stream:
            digest = hashlib.sha256(stream.read(payload.metadata_bytes)).digest()
        if base64.b64encode(digest).decode() != props["METADATA_HASH"].strip():
            raise InfoError(
                f"{props.where('METADATA_HASH')}: is not the SHA-256 of {member}'s first "
                f"{payload.metadata_bytes:,} bytes"
            )
