"""Time ffx's product breakdown, its text and the diff against a base, on a large product.

    python benchmarks/bench_ffx_product.py [--packages 5000] [--blobs-per-package 10]

A synthetic product: every package has its own blobs plus a few shared libraries (at
platform-resource paths, so the resources sum has work to do); the base differs in a
tenth of the blobs (new merkle at the same path) and in a few packages added and
removed, so every matching rule of the diff runs.  Prints seconds per step; nothing is
written.
"""

from __future__ import annotations

import argparse
import hashlib
import time

from pytest_sizebudget.kinds.product_ffx import (
    breakdown,
    breakdown_text,
    diff,
    diff_lines,
)


def merkle(label: str) -> str:
    return hashlib.sha256(label.encode()).hexdigest()


def product(
    packages: int, per_package: int, version: int
) -> list[tuple[str, list[tuple[str, str, int]]]]:
    # (merkle, in-package path, size), as breakdown() takes them.
    shared = [(merkle("ld"), "lib/ld.so.1", 8192), (merkle("c++"), "lib/libc++.so.2", 65536)]
    out = []
    first = 50 if version else 0  # the new version drops 50 packages and adds 50
    for p in range(first, packages + first):
        blobs = list(shared)
        for b in range(per_package):
            changed = version and (p * per_package + b) % 10 == 0
            label = f"{p}/{b}/{'v2' if changed else 'v1'}"
            blobs.append((merkle(label), f"data/file{b}", 8192 * (1 + b % 7)))
        out.append((f"pkg{p:05d}", blobs))
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--packages", type=int, default=5000)
    ap.add_argument("--blobs-per-package", type=int, default=10)
    args = ap.parse_args()
    old = product(args.packages, args.blobs_per_package, 0)
    new = product(args.packages, args.blobs_per_package, 1)
    refs = sum(len(b) for _, b in new)

    t = time.perf_counter()
    now = breakdown(new)
    before = breakdown(old)
    t_bd = (time.perf_counter() - t) / 2
    t = time.perf_counter()
    text = breakdown_text(now)
    t_text = time.perf_counter() - t
    t = time.perf_counter()
    d = diff(before, now, "base")
    t_diff = time.perf_counter() - t
    t = time.perf_counter()
    lines = diff_lines(d)
    t_lines = time.perf_counter() - t
    print(
        f"{args.packages:,} packages, {len(now.blobs):,} distinct blobs, {refs:,} references; "
        f"resources {now.resources_bytes:,} B"
    )
    print(f"breakdown (one product)  {t_bd:.3f} s")
    print(f"breakdown text           {t_text:.3f} s ({len(text):,} characters)")
    print(
        f"diff                     {t_diff:.3f} s ({len(d.blobs):,} changed blobs, "
        f"{len(d.packages):,} changed packages)"
    )
    print(f"diff text                {t_lines:.3f} s ({len(lines):,} lines)")


if __name__ == "__main__":
    main()
