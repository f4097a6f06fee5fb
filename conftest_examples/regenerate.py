"""Rebuild the example product in out/ (deterministic: same bytes every time).

out/ holds release 1; out/release2/ holds release 2, which changes a few blobs of
three packages (their meta.far changes with them) and adds an update package.  Its
manifests point at release 1's files for every blob that did not change, so each
distinct blob is stored once.

The product is Fuchsia-shaped: package manifests (blob_sources_relative "file") whose
blobs are real files, and a blobs.json with each blob's blobfs size.  Text blobs are
at most 8192 bytes and "media" blobs are incompressible, so blobfs stores every blob
uncompressed and the sizes follow from the compact layout alone:
ceil((data + merkle tree) / 8192) blocks of 8192 bytes.

Run: python conftest_examples/regenerate.py
"""

from __future__ import annotations

import json
import random
import shutil
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


def main() -> None:
    if OUT.exists():
        shutil.rmtree(OUT)
    sizes: dict[str, int] = {}
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
        sizes[merkle_root(data)] = blobfs_size(data)
    blobs = [{"merkle": m, "size": s} for m, s in sorted(sizes.items())]
    (OUT / "blobs.json").write_text(json.dumps(blobs, indent=2) + "\n")
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
