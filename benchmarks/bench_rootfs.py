#!/usr/bin/env python3
"""Benchmark: root filesystems, Yocto buildhistory trees and sparse-file extent maps.

``walk``: a rootfs of N files (default 50,000; 10 % symbolic links, relative and absolute,
into the tree, 1 % hard links, 200 dangling links) walked as a directory package under
``"tree"`` and ``"link"``, and (without the dangling links, which it refuses, and with
every link relative) the ``"follow"`` walk it had before; at N/4, N/2 and N, to show the
cost is linear.  Listing only: hashing the files is the engine's, the same under every
policy.

``yocto``: a buildhistory tree with P packages (default 5,000), each with a ``latest``
and a ``files-in-package.txt`` of 10 files, and one image installing all of them, read
by one selection with 100 globs (cold: a fresh reader each run).

``fiemap``: a 1 GiB sparse file with E data extents (default 20,000), measured with
FIEMAP and with SEEK_DATA/SEEK_HOLE.

Runs against whatever ``pytest_sizebudget`` is on the path.
Usage: python benchmarks/bench_rootfs.py [walk|yocto|fiemap ...] [--files N]
       [--packages P] [--extents E] [--runs R] [--dir DIR]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

from pytest_sizebudget.images import measure_image, sparse_file
from pytest_sizebudget.packages.directory import list_directory_files
from pytest_sizebudget.packages.rootfs_walk import walk_tree
from pytest_sizebudget.packages.yocto import YoctoReader, YoctoSelection


def say(text: str) -> None:
    print(text, flush=True)


def timed(fn: Callable[[], object], runs: int) -> tuple[float, float, float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), min(times), max(times)


def build_rootfs(root: Path, files: int, dangling: bool) -> None:
    """Without ``dangling``, every link is relative: "follow" would read the host's
    files through an absolute one (the reason "tree" exists)."""
    dirs = max(1, files // 50)
    for d in range(dirs):
        (root / f"usr/lib/d{d % 40}/s{d}").mkdir(parents=True, exist_ok=True)
    for i in range(files):
        d = i // 50  # ten links and one hard link per 100 files, beside their targets
        here = root / f"usr/lib/d{d % 40}/s{d}"
        name = here / f"f{i}"
        if i % 10 == 1:
            name.symlink_to(f"f{i - 1}")  # relative, beside it
        elif i % 10 == 2:
            name.symlink_to(
                f"/usr/lib/d{d % 40}/s{d}/f{i - 2}" if dangling else f"f{i - 2}"
            )  # absolute, in the tree
        elif i % 100 == 3:
            os.link(here / f"f{i - 3}", name)
        else:
            name.write_bytes(b"x" * (i % 97))
    if dangling:
        (root / "etc").mkdir(exist_ok=True)
        for i in range(200):
            (root / "etc" / f"run{i}").symlink_to(f"/run/thing{i}")


def bench_walk(base: Path, files: int, runs: int) -> None:
    say(f"walk: {files:,}-file rootfs, median of {runs} runs (min, max)")
    for n in (files // 4, files // 2, files):
        root = base / f"rootfs-{n}"
        build_rootfs(root, n, dangling=False)
        follow = timed(partial(list_directory_files, root), runs)
        dangling = base / f"rootfs-{n}-dangling"
        build_rootfs(dangling, n, dangling=True)
        tree = timed(partial(walk_tree, dangling, "r", "tree"), runs)
        link = timed(partial(walk_tree, dangling, "r", "link"), runs)
        listing = walk_tree(dangling, "r", "tree")
        say(
            f"  {n:>7,} files: follow {follow[0] * 1000:7.1f} ms  tree {tree[0] * 1000:7.1f} ms"
            f" ({tree[1] * 1000:.1f}, {tree[2] * 1000:.1f})  link {link[0] * 1000:7.1f} ms"
            f"  [{len(listing.files):,} files, {listing.resolved_links:,} links resolved, "
            f"{listing.hard_links:,} hard links, {len(listing.uncounted):,} listed]"
        )


def bench_yocto(base: Path, packages: int, runs: int) -> None:
    bh = base / "buildhistory"
    image = bh / "images/qemux86_64/glibc/core-image-big"
    image.mkdir(parents=True)
    sizes = []
    files_in_image = []
    for i in range(packages):
        name = f"pkg{i:05d}-{'lib' if i % 3 else 'bin'}"
        d = bh / "packages/core2-64" / f"recipe{i // 4}" / name
        d.mkdir(parents=True)
        size = 0
        listing = []
        for j in range(10):
            n = (i * 31 + j * 977) % 100_000
            size += n
            line = f"-rw-r--r-- root       root       {n:>10} ./usr/share/{name}/file{j}"
            listing.append(line)
            files_in_image.append(line)
        (d / "latest").write_text(f"PV = 1.0\nPR = r0\nPKGSIZE = {size}\n")
        (d / "files-in-package.txt").write_text("\n".join(listing) + "\n")
        sizes.append((size, name))
    sizes.sort(key=lambda s: (-((s[0] + 512) // 1024), s[1]))
    (image / "installed-package-sizes.txt").write_text(
        "".join(f"{(s + 512) // 1024}\tKiB\t{n}\n" for s, n in sizes)
    )
    (image / "files-in-image.txt").write_text("\n".join(sorted(files_in_image)) + "\n")
    globs = tuple(f"pkg0{k:02d}*" for k in range(50)) + tuple(f"*{k}-lib" for k in range(50))
    sel = YoctoSelection("k", bh, "core-image-big", None, globs)

    def read() -> int:
        return len(YoctoReader(lambda p: p.as_posix()).read(sel))

    chosen = read()
    median, lo, hi = timed(read, runs)
    say(
        f"yocto: {packages:,} packages, {packages * 10:,} files in the image, 100 globs picking "
        f"{chosen:,}: {median * 1000:.0f} ms median ({lo * 1000:.0f}, {hi * 1000:.0f})"
    )


def bench_fiemap(base: Path, extents: int, runs: int) -> None:
    path = base / "sparse.img"
    size = 1 << 30
    step = size // extents // 4096 * 4096
    with open(path, "wb") as f:
        f.truncate(size)
        for i in range(extents):
            f.seek(i * step)
            f.write(b"d" * 4096)
        os.fsync(f.fileno())
    fiemap = timed(lambda: measure_image(path), runs)
    method = measure_image(path).details["data_method"]
    real = sparse_file.fiemap_extents
    sparse_file.fiemap_extents = lambda fd, size: None
    try:
        seek = timed(lambda: measure_image(path), runs)
    finally:
        sparse_file.fiemap_extents = real
    say(
        f"fiemap: 1 GiB file, {extents:,} data extents: {method} {fiemap[0] * 1000:.1f} ms, "
        f"seek_data {seek[0] * 1000:.1f} ms (medians of {runs})"
    )


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("parts", nargs="*", default=["walk", "yocto", "fiemap"])
    ap.add_argument("--files", type=int, default=50_000)
    ap.add_argument("--packages", type=int, default=5_000)
    ap.add_argument("--extents", type=int, default=20_000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--dir", type=Path, default=None)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir) as d:
        base = Path(d)
        for part in args.parts:
            work = base / part
            work.mkdir()
            if part == "walk":
                bench_walk(work, args.files, args.runs)
            elif part == "yocto":
                bench_yocto(work, args.packages, args.runs)
            elif part == "fiemap":
                bench_fiemap(work, args.extents, args.runs)
            else:
                print(f"unknown part {part!r}", file=sys.stderr)
                return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
