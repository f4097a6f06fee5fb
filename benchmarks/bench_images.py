#!/usr/bin/env python3
"""Benchmark: measure_image on a 4 GiB-expanded Android sparse image with 10,000 chunks.

The image is written directly with struct (RAW chunks of one small block interleaved with
DONT_CARE and FILL chunks), so the file stays around 10 MB while the partition is 4 GiB.
The script prints the median time of several runs and how many bytes the process read
during one run (``rchar`` from /proc/self/io, Linux only), to show that only headers are
read and RAW data is skipped.

Usage: python benchmarks/bench_images.py [--runs N] [--chunks N] [--dir DIR]
"""

from __future__ import annotations

import argparse
import statistics
import struct
import sys
import tempfile
import time
from pathlib import Path

from pytest_sizebudget.images import measure_image

BLOCK = 4096
EXPANDED = 4 << 30
RAW, FILL, DONT_CARE = 0xCAC1, 0xCAC2, 0xCAC3


def build(path: Path, chunks: int) -> int:
    """Write the image; return how many RAW data bytes it holds."""
    total_blocks = EXPANDED // BLOCK
    raw_chunks = (chunks + 3) // 4
    gap_chunks = chunks - raw_chunks
    gap_blocks = total_blocks - raw_chunks
    raw_bytes = 0
    with open(path, "wb") as out:
        out.write(struct.pack("<I4H4I", 0xED26FF3A, 1, 0, 28, 12, BLOCK, total_blocks, chunks, 0))
        given = 0
        gap_index = 0
        for i in range(chunks):
            if i % 4 == 0:
                payload = bytes([i % 251]) * BLOCK
                out.write(struct.pack("<2H2I", RAW, 0, 1, 12 + BLOCK))
                out.write(payload)
                raw_bytes += BLOCK
                continue
            gap_index += 1
            # Spread the remaining blocks evenly; the last gap takes the rounding.
            upto = gap_blocks * gap_index // gap_chunks
            blocks, given = upto - given, upto
            if i % 4 == 2:
                out.write(struct.pack("<2H2I", FILL, 0, blocks, 16))
                out.write(struct.pack("<I", 0xA5A5A5A5))
            else:
                out.write(struct.pack("<2H2I", DONT_CARE, 0, blocks, 12))
    return raw_bytes


def bytes_read_by_process() -> int | None:
    try:
        text = Path("/proc/self/io").read_text()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("rchar:"):
            return int(line.split()[1])
    return None


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--chunks", type=int, default=10_000)
    parser.add_argument("--dir", type=Path, default=None)
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        path = Path(tmp) / "bench.simg"
        raw_bytes = build(path, args.chunks)
        size = path.stat().st_size

        sizes = measure_image(path)  # warm the page cache; checks the numbers too
        assert sizes.expanded_bytes == EXPANDED, sizes
        assert sizes.details["chunks"] == args.chunks, sizes
        assert sizes.details["raw_bytes"] == raw_bytes, sizes

        before = bytes_read_by_process()
        measure_image(path)
        after = bytes_read_by_process()

        times = []
        for _ in range(args.runs):
            started = time.perf_counter()
            measure_image(path)
            times.append(time.perf_counter() - started)

    print(f"image: {args.chunks} chunks, expanded {EXPANDED} bytes, file {size} bytes")
    print(f"data_bytes {sizes.data_bytes}, raw_bytes {raw_bytes}")
    print(
        f"measure_image: median {statistics.median(times) * 1000:.1f} ms, "
        f"min {min(times) * 1000:.1f} ms, max {max(times) * 1000:.1f} ms over {args.runs} runs"
    )
    if before is not None and after is not None:
        read = after - before
        print(f"bytes read in one run: {read} ({100 * read / size:.2f}% of the file)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
