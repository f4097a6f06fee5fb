"""Rebuild the example product in out/ (deterministic: same bytes every time).

The product is Fuchsia-shaped: package manifests (blob_sources_relative "file") whose
blobs are real files, and a blobs.json with blobfs sizes.  The blobs.json leaves out the
fonts directory and the blobs only the wlancfg package has, as a build that did not
assemble them would: the plugin measures those itself (the same numbers).  Text blobs are
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


# Packages whose own blobs the blobs.json leaves out (the plugin measures them).
MEASURED = {"wlancfg"}


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


if __name__ == "__main__":
    main()
