"""Rebuild the example product in out/ (deterministic: same bytes every time).

out/ holds release 1; out/release2/ holds release 2, which changes a few blobs of
three packages (their meta.far changes with them) and adds an update package.  Its
manifests point at release 1's files for every blob that did not change, so each
distinct blob is stored once.

The product is Fuchsia-shaped: package manifests (blob_sources_relative "file") whose
blobs are real files, and a blobs.json with blobfs sizes.  The blobs.json leaves out the
fonts directory and the blobs only the wlancfg package has, as a build that did not
assemble them would: the plugin measures those itself (the same numbers).  out/images
holds small partition images for images.sizebudget.json5: an Android sparse image, a
Fuchsia sparse FVM, a raw image and a gzip-compressed one, written field by field with
struct.  Text blobs are
at most 8192 bytes and "media" blobs are incompressible, so blobfs stores every blob
uncompressed and the sizes follow from the compact layout alone:
ceil((data + merkle tree) / 8192) blocks of 8192 bytes.

Run: python conftest_examples/regenerate.py
"""

from __future__ import annotations

import gzip
import json
import random
import shutil
import struct
from pathlib import Path

from pytest_sizebudget.measure.merkle import merkle_root

HERE = Path(__file__).parent
OUT = HERE / "out"
BLOCK = 8192


def tree_size(n: int) -> int:
    total = 0
    while n > BLOCK:
        n = -(-n // BLOCK) * 32
        total += n
    return total


def blobfs_size(data: bytes) -> int:
    return -(-(len(data) + tree_size(len(data))) // BLOCK) * BLOCK


def text(seed: str, lines: int) -> bytes:
    rng = random.Random(seed)
    words = "fuchsia component protocol capability route expose offer use storage blob".split()
    body = [f"# {seed}"]
    for i in range(lines):
        body.append(f"{i:04d} " + " ".join(rng.choice(words) for _ in range(8)))
    return ("\n".join(body) + "\n").encode()


def media(seed: str, size: int) -> bytes:
    return random.Random(seed).randbytes(size)  # like already-compressed images or fonts


SHARED = {
    "lib/ld.so.1": text("ld.so.1", 60),
    "lib/libc++.so.2": text("libc++", 90),
    "lib/libfdio.so": text("libfdio", 70),
}
ICU = media("icudtl.dat", 40_000)

PACKAGES: dict[str, dict[str, bytes]] = {
    "system_image": {"data/static_packages": text("static_packages", 40), **SHARED},
    "pkg-resolver": {
        "bin/pkg_resolver": media("pkg_resolver", 30_000),
        "data/repositories.json": text("repositories", 20),
        **SHARED,
    },
    "pkg-cache": {"bin/pkg_cache": media("pkg_cache", 26_000), **SHARED},
    "netstack": {
        "bin/netstack": media("netstack", 60_000),
        "data/icudtl.dat": ICU,
        "lib/ld.so.1": SHARED["lib/ld.so.1"],
    },
    "wlancfg": {"bin/wlancfg": media("wlancfg", 18_000), **SHARED},
    "network-manager": {
        "bin/network_manager": media("network_manager", 22_000),
        "data/icudtl.dat": ICU,
        **SHARED,
    },
}


# Packages whose own blobs the blobs.json leaves out (the plugin measures them).
MEASURED = {"wlancfg"}


def android_sparse(blk: int, chunks: list[tuple[int, int, bytes]]) -> bytes:
    """libsparse v1.0: 28-byte header, 12-byte chunk headers; chunks are (type, blocks, data)."""
    total = sum(blocks for _, blocks, _ in chunks)
    out = struct.pack("<I4H4I", 0xED26FF3A, 1, 0, 28, 12, blk, total, len(chunks), 0)
    for kind, blocks, data in chunks:
        out += struct.pack("<2H2I", kind, 0, blocks, 12 + len(data)) + data
    return out


def fvm_sparse(slice_size: int, partitions: list[tuple[str, list[tuple[int, int]]]]) -> bytes:
    """Sparse FVM v3, uncompressed: header, descriptors, then each extent's data.

    ``partitions`` are (name, [(slice_count, extent_length), ...]); maximum_disk_size is 0,
    so the expanded size comes from the FVM metadata formula.
    """
    extents = sum(len(e) for _, e in partitions)
    header_length = 52 + 56 * len(partitions) + 32 * extents
    out = struct.pack(
        "<6QI", 0x53525053204D5646, 3, header_length, slice_size, len(partitions), 0, 0
    )
    data = b""
    for i, (name, exts) in enumerate(partitions):
        guid = bytes([i + 1]) * 16
        out += struct.pack("<Q16s24sII", 0x0BDE4DF7CF5C4C5D, guid, name.encode(), 0, len(exts))
        start = 0
        for count, length in exts:
            out += struct.pack("<4Q", 0xA5B8742906E8382E, start, count, length)
            data += media(f"{name}@{start}", length)
            start += count
    return out + data


def images() -> None:
    out = OUT / "images"
    out.mkdir(parents=True)
    raw, fill, dont_care = 0xCAC1, 0xCAC2, 0xCAC3
    blk = 4096
    # 3 MiB expanded, about 48 KiB stored: a file system's metadata and a few files as
    # RAW blocks, zeroed and 0xff-filled areas as FILL, free space as DONT_CARE.
    (out / "system.simg").write_bytes(
        android_sparse(
            blk,
            [
                (raw, 8, media("system superblock", 8 * blk)),
                (fill, 120, bytes(4)),
                (raw, 4, text("system /etc", 1000)[: 4 * blk].ljust(4 * blk, b"\0")),
                (fill, 16, b"\xff" * 4),
                (dont_care, 620, b""),
            ],
        )
    )
    (out / "fvm.sparse.blk").write_bytes(
        fvm_sparse(32768, [("blobfs", [(2, 40_000), (1, 8192)]), ("data", [(1, 4096)])])
    )
    (out / "boot.img").write_bytes(media("boot.img", 64 * 1024))
    # mtime=0: no timestamp in the header, so the bytes depend on the content only.
    recovery = text("recovery ramdisk", 4000)
    (out / "recovery.img.gz").write_bytes(gzip.compress(recovery, compresslevel=9, mtime=0))


def android() -> None:
    """An Android build's dynamic partitions, as its target-files lays them out: the
    key=value files the build writes and three partition images (one Android sparse)."""
    out = OUT / "android"
    (out / "META").mkdir(parents=True)
    (out / "IMAGES").mkdir()
    (out / "META" / "misc_info.txt").write_text(
        "recovery_api_version=3\nfstab_version=2\nab_update=true\n"
        "use_dynamic_partitions=true\nvirtual_ab=true\n"
    )
    # The board: one 8 MiB super, launch Virtual A/B (1 real slot), one group of 6 MiB,
    # and an error limit 512 KiB below super, as device trees set it by hand.
    (out / "META" / "dynamic_partitions_info.txt").write_text(
        "use_dynamic_partitions=true\nvirtual_ab=true\nsuper_partition_size=8388608\n"
        "super_partition_error_limit=7864320\nsuper_partition_groups=google_dynamic\n"
        "super_google_dynamic_group_size=6291456\n"
        "super_google_dynamic_partition_list=system vendor product\n"
        "dynamic_partition_list=product system vendor\n"
    )
    blk = 4096
    raw, fill, dont_care = 0xCAC1, 0xCAC2, 0xCAC3
    # 3 MiB once written, 20 KiB stored.
    (out / "IMAGES" / "system.img").write_bytes(
        android_sparse(
            blk,
            [
                (raw, 4, media("android system", 4 * blk)),
                (fill, 60, bytes(4)),
                (dont_care, 704, b""),
            ],
        )
    )
    (out / "IMAGES" / "vendor.img").write_bytes(media("android vendor", 40 * 1024))
    (out / "IMAGES" / "product.img").write_bytes(media("android product", 24 * 1024))
    ota = OUT / "android-ota"
    ota.mkdir()
    (ota / "payload.bin").write_bytes(payload())
    # A block-based incremental OTA's transfer lists: line 4 is the stash peak in blocks.
    (ota / "system.transfer.list").write_text(
        "4\n2048\n0\n1500\nstash 5a1f 2,0,1500\n"
        "bsdiff 0 4096 5a1f 77c2 2,0,1500 1500 - 5a1f:2,0,1500\nfree 5a1f\nnew 2,1500,2048\n"
    )
    (ota / "vendor.transfer.list").write_text("4\n512\n0\n0\nnew 2,0,512\n")


def pb_varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def pb(number: int, value: int | bytes) -> bytes:
    """One protobuf field: a varint, or length-delimited bytes (a string or a message)."""
    if isinstance(value, int):
        return pb_varint(number << 3) + pb_varint(value)
    return pb_varint(number << 3 | 2) + pb_varint(len(value)) + value


def payload() -> bytes:
    """A full A/B payload (update_metadata.proto field numbers): three partitions, each one
    REPLACE operation whose data follows the manifest, and their dynamic group."""
    blobs = b""
    partitions = b""
    for name, size, data in (
        ("system", 3 << 20, media("payload system", 30_000)),
        ("vendor", 160 << 10, media("payload vendor", 9_000)),
        ("product", 96 << 10, media("payload product", 6_000)),
    ):
        operation = pb(1, 0) + pb(2, len(blobs)) + pb(3, len(data))
        partitions += pb(13, pb(1, name.encode()) + pb(7, pb(1, size)) + pb(8, operation))
        blobs += data
    group = pb(1, b"google_dynamic") + pb(2, 6 << 20)
    for name in ("system", "vendor", "product"):
        group += pb(3, name.encode())
    manifest = pb(3, 4096) + partitions + pb(15, pb(1, group))
    return b"CrAU" + struct.pack(">QQI", 2, len(manifest), 0) + manifest + blobs


def main() -> None:
    if OUT.exists():
        shutil.rmtree(OUT)
    sizes: dict[str, int] = {}
    measured: dict[str, set[str]] = {}  # merkle -> packages that have it
    for name, files in PACKAGES.items():
        pkg_dir = OUT / "obj" / name
        src = OUT / "src" / name
        entries = []
        meta = text(f"meta.far of {name}", 30)  # stands in for the package's meta.far
        for path, data in {"meta/": meta, **files}.items():
            rel = "meta.far" if path == "meta/" else path
            (src / rel).parent.mkdir(parents=True, exist_ok=True)
            (src / rel).write_bytes(data)
            merkle = merkle_root(data)
            sizes[merkle] = blobfs_size(data)
            measured.setdefault(merkle, set()).add(name)
            entries.append(
                {
                    "source_path": f"../../src/{name}/{rel}",
                    "path": path,
                    "merkle": merkle,
                    "size": len(data),
                }
            )
        pkg_dir.mkdir(parents=True, exist_ok=True)
        manifest = {
            "version": "1",
            "package": {"name": name, "version": "0"},
            "blobs": entries,
            "blob_sources_relative": "file",
        }
        (pkg_dir / "package_manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    fonts = OUT / "fonts"
    for rel, data in {
        "Roboto-Regular.ttf": media("roboto-regular", 34_000),
        "Roboto-Bold.ttf": media("roboto-bold", 35_000),
        "manifest.fontcfg.json": text("fontcfg", 12),
    }.items():
        (fonts / rel).parent.mkdir(parents=True, exist_ok=True)
        (fonts / rel).write_bytes(data)
    for merkle, names in measured.items():
        if names <= MEASURED:
            del sizes[merkle]
    blobs = [{"merkle": m, "size": s} for m, s in sorted(sizes.items())]
    (OUT / "blobs.json").write_text(json.dumps(blobs, indent=2) + "\n")
    images()
    android()
    release2()


# Release 2: what changed, by package and in-package path.
CHANGES: dict[str, dict[str, bytes]] = {
    "netstack": {"bin/netstack": media("netstack 2", 70_000)},
    "pkg-resolver": {"data/repositories.json": text("repositories 2", 24)},
    "wlancfg": {"bin/wlancfg": media("wlancfg 2", 18_500)},
}


def release2() -> None:
    out = OUT / "release2"
    sizes: dict[str, int] = {}
    metas: dict[str, str] = {}
    for name, files in PACKAGES.items():
        changed = CHANGES.get(name, {})
        meta = text(f"meta.far of {name} 2", 30) if changed else text(f"meta.far of {name}", 30)
        entries = []
        for path, data in {"meta/": meta, **files, **changed}.items():
            rel = "meta.far" if path == "meta/" else path
            if changed and (path == "meta/" or path in changed):
                (out / "src" / name / rel).parent.mkdir(parents=True, exist_ok=True)
                (out / "src" / name / rel).write_bytes(data)
                source = f"../../src/{name}/{rel}"
            else:  # unchanged: release 1's file
                source = f"../../../src/{name}/{rel}"
            merkle = merkle_root(data)
            sizes[merkle] = blobfs_size(data)
            if path == "meta/":
                metas[name] = merkle
            entries.append(
                {"source_path": source, "path": path, "merkle": merkle, "size": len(data)}
            )
        write_manifest(out / "obj" / name, name, entries)
    # The update package: its meta.far, the list of packages it installs, and a ZBI.
    update = {
        "meta/": text("meta.far of update 2", 30),
        "packages.json": (json.dumps(metas, indent=2, sort_keys=True) + "\n").encode(),
        "zbi": media("zbi 2", 30_000),
    }
    entries = []
    for path, data in update.items():
        rel = "meta.far" if path == "meta/" else path
        (out / "src" / "update" / rel).parent.mkdir(parents=True, exist_ok=True)
        (out / "src" / "update" / rel).write_bytes(data)
        merkle = merkle_root(data)
        sizes[merkle] = blobfs_size(data)
        entries.append(
            {
                "source_path": f"../../src/update/{rel}",
                "path": path,
                "merkle": merkle,
                "size": len(data),
            }
        )
    write_manifest(out / "obj" / "update", "update", entries)
    blobs = [{"merkle": m, "size": s} for m, s in sorted(sizes.items())]
    (out / "blobs.json").write_text(json.dumps(blobs, indent=2) + "\n")


def write_manifest(directory: Path, name: str, entries: list[dict[str, object]]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    manifest = {
        "version": "1",
        "package": {"name": name, "version": "0"},
        "blobs": entries,
        "blob_sources_relative": "file",
    }
    (directory / "package_manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")


if __name__ == "__main__":
    main()
