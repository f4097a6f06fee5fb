"""Size tests beside product tests: the ``sizebudget`` fixture in ordinary test functions.

Run: pytest conftest_examples (with or without --sizebudget; the fixture always works).
Paths are relative to this file's directory.
"""

from __future__ import annotations

import json
from pathlib import Path

OBJ = Path(__file__).parent / "out" / "obj"


def test_netstack_ships_its_binary() -> None:
    """An ordinary product test: the package manifest has what the product needs."""
    manifest = json.loads((OBJ / "netstack" / "package_manifest.json").read_text())
    assert "bin/netstack" in {blob["path"] for blob in manifest["blobs"]}


def test_netstack_alone_fits(sizebudget):
    """One package measured on its own: every blob it has is charged to it."""
    usage = sizebudget.package_set(
        ["out/obj/netstack/package_manifest.json"], blob_sizes="out/blobs.json"
    )
    assert usage <= "128 KiB"


def test_network_stack_shares_libraries(sizebudget):
    """Blobs shared by the packages are charged once in total, split between them."""
    packages = [
        "out/obj/netstack/package_manifest.json",
        "out/obj/wlancfg/package_manifest.json",
        "out/obj/network-manager/package_manifest.json",
    ]
    together = sizebudget.package_set(packages, blob_sizes="out/blobs.json")
    apart = sum(
        int(sizebudget.package_set([p], blob_sizes="out/blobs.json")) for p in packages
    )
    assert together < apart
    assert together <= "256 KiB"
