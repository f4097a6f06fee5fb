#!/usr/bin/env python3
"""Benchmark: super budgets on a 16 GiB super image, and a payload of 100,000 operations.

``raw``: a launch A/B ``super.img`` of 16 GiB (4 partitions of 3 GiB in slot a), written as
a file with holes (only its metadata and 1 MiB at each partition's start hold data).
``sparse``: the same device as an Android sparse image written with struct: one RAW chunk
for the metadata area, then 20,000 chunks (a RAW block, then DONT_CARE) over the
partitions, so the file stays around 80 MB while it expands to 16 GiB.
``payload``: a ``payload.bin`` of 10 partitions × 10,000 operations (data blobs of 1 KiB).

Each is evaluated as the plugin does it (``evaluate_budget`` of the kind, with the super
image's chunk structure checked); the script prints the median time of several runs, the
bytes the process read during one run (``rchar`` from /proc/self/io) and the peak resident
set, to show that a super image costs a few reads and not its size.

Usage: PYTHONPATH=. python benchmarks/bench_super.py [raw|sparse|payload ...] [--runs N]
"""

from __future__ import annotations

import argparse
import random
import resource
import statistics
import struct
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

from pytest_sizebudget.budget.model import FileRef
from pytest_sizebudget.kinds import android_ota, android_super
from pytest_sizebudget.report.model import BudgetResult
from tests.unit.android.lp_builder import MIB, Layout, Part, extents_of, metadata
from tests.unit.android.lp_builder import geometry as lp_geometry

GIB = 1 << 30


def layout() -> Layout:
    parts = []
    for name in ("system", "vendor", "product", "odm"):
        parts.append(Part(f"{name}_a", 3 * GIB, "main_a"))
    for name in ("system", "vendor", "product", "odm"):
        parts.append(Part(f"{name}_b", 0, "main_b"))
    return Layout(
        device_size=16 * GIB,
        partitions=parts,
        groups=[("main_a", 13 * GIB, 0), ("main_b", 13 * GIB, 0)],
    )


def metadata_area(lay: Layout) -> bytes:
    md = metadata(lay)
    padded = md + bytes(lay.metadata_max_size - len(md))
    geo = lp_geometry(lay)
    head = bytes(4096) + geo + geo + padded * (2 * lay.slots)
    return head + bytes(lay.first_sector * 512 - len(head))


def write_raw(path: Path) -> None:
    lay = layout()
    with open(path, "wb") as f:
        f.truncate(lay.device_size)
        f.write(metadata_area(lay))
        for name, exts in extents_of(lay).items():
            if exts:
                f.seek(exts[0][2] * 512)
                f.write(random.Random(name).randbytes(MIB))


def write_sparse(path: Path, chunks: int = 20_000) -> None:
    lay = layout()
    blk = 4096
    total = lay.device_size // blk
    head = metadata_area(lay)
    body = bytearray()
    count = 0
    body += struct.pack("<2H2I", 0xCAC1, 0, len(head) // blk, 12 + len(head)) + head
    count += 1
    block = len(head) // blk
    step = (total - block) // (chunks // 2)
    rng = random.Random(0)
    while block + step <= total:
        body += struct.pack("<2H2I", 0xCAC1, 0, 1, 12 + blk) + rng.randbytes(blk)
        body += struct.pack("<2H2I", 0xCAC3, 0, step - 1, 12)
        count += 2
        block += step
    if block < total:
        body += struct.pack("<2H2I", 0xCAC3, 0, total - block, 12)
        count += 1
    header = struct.pack("<I4H4I", 0xED26FF3A, 1, 0, 28, 12, blk, total, count, 0)
    path.write_bytes(header + body)


def write_payload(path: Path) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.unit.android.payload_builder import build

    parts = [
        {"name": f"p{i}", "new_size": GIB, "data": [1024] * 10_000, "cow": 100 * MIB}
        for i in range(10)
    ]
    path.write_bytes(build(parts, [("main", 12 * GIB, [f"p{i}" for i in range(10)])]))


def rchar() -> int:
    try:
        for line in Path("/proc/self/io").read_text().splitlines():
            if line.startswith("rchar:"):
                return int(line.split()[1])
    except OSError:
        pass
    return -1


def base(kind: str) -> BudgetResult:
    return BudgetResult(name="b", kind=kind, file="f", line=1, key="k[0]", budget_bytes=0)


def timed(run: Callable[[], BudgetResult], runs: int) -> tuple[float, int, BudgetResult]:
    times = []
    result = run()
    before = rchar()
    for _ in range(runs):
        start = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - start)
    read = (rchar() - before) // runs
    return statistics.median(times), read, result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("parts", nargs="*", default=["raw", "sparse", "payload"])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for part in args.parts:
            if part == "payload":
                path = root / "payload.bin"
                write_payload(path)
                budget = android_ota.OtaBudget(
                    name="b",
                    key="k[0]",
                    line=1,
                    budget_bytes=GIB,
                    inputs=(FileRef(path.name, root, "k"),),
                    source="payload",
                )
                seconds, read, result = timed(
                    partial(android_ota.evaluate_budget, budget, base("ota"), str),
                    args.runs,
                )
            else:
                path = root / f"super.{part}.img"
                (write_raw if part == "raw" else write_sparse)(path)
                sbudget = android_super.SuperBudget(
                    name="b",
                    key="k[0]",
                    line=1,
                    budget_bytes=0,
                    source="super_image",
                    inputs=(FileRef(path.name, root, "k"),),
                )
                seconds, read, result = timed(
                    partial(android_super.evaluate_budget, sbudget, base("super"), str),
                    args.runs,
                )
            assert result.error is None, result.error
            assert result.used_bytes is not None
            size = path.stat().st_size
            print(
                f"{part:8} file {size / MIB:9.1f} MiB  used {result.used_bytes / MIB:9.1f} MiB  "
                f"median {seconds * 1000:8.1f} ms  read {read / MIB:8.2f} MiB/run  "
                f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:6.1f} MiB"
            )


if __name__ == "__main__":
    main()
