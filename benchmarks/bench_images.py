#!/usr/bin/env python3
"""Benchmark: measure_image on sparse, compressed and hostile images.

``sparse`` (the default part): an Android sparse image that expands to 4 GiB with 10,000
chunks, written directly with struct (RAW chunks of one small block interleaved with
DONT_CARE and FILL chunks), so the file stays around 10 MB.  The script prints the median
time of several runs and how many bytes the process read during one run (``rchar`` from
/proc/self/io, Linux only), to show that only headers are read and RAW data is skipped.

``compressed``: images that are read to the end, as a budget that fits reads them: a
zstd-compressed raw image of 256 MiB (a 1 MiB random island every 16 MiB) and the sparse
image above, zstd-compressed, each against a 4 GiB partition.

``bomb``: a zstd file of concatenated frames of zeros (about 3.5 MB) that expands to
100 GiB, against a 4 GiB partition, as the image budget kind measures it; with
``--no-limit`` (or on a checkout whose measure_image takes no limit) it is expanded to the
end, or to MAX_EXPANDED_BYTES, instead.  Prints the time and the peak resident set.

The script runs against whatever ``pytest_sizebudget`` is on the path, so the same script
measures an older checkout (PYTHONPATH=that/checkout) for a before/after comparison.

Usage: python benchmarks/bench_images.py [sparse|compressed|bomb ...] [--runs N]
       [--chunks N] [--dir DIR] [--bomb-gib N] [--partition-gib N] [--no-limit]
"""

from __future__ import annotations

import argparse
import inspect
import random
import resource
import statistics
import struct
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import zstandard

from pytest_sizebudget.images import ImageFormatError, ImageSizes, measure_image

MIB = 1 << 20
GIB = 1 << 30
# Whether this checkout can stop early (measure_image(..., limit=...)).
TAKES_LIMIT = "limit" in inspect.signature(measure_image).parameters

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


def measure(path: Path, limit: int | None) -> ImageSizes:
    if limit is not None and TAKES_LIMIT:
        return measure_image(path, limit=limit)  # type: ignore[call-arg,unused-ignore]
    return measure_image(path)


def timed(runs: int, work: Callable[[], object]) -> tuple[list[float], list[float]]:
    """Wall and CPU seconds of each run (CPU time is what a loaded machine distorts least)."""
    wall, cpu = [], []
    for _ in range(runs):
        started, started_cpu = time.perf_counter(), time.process_time()
        work()
        wall.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
    return wall, cpu


def summary(times: tuple[list[float], list[float]]) -> str:
    wall, cpu = times
    return (
        f"median {statistics.median(wall) * 1000:.1f} ms, min {min(wall) * 1000:.1f} ms, "
        f"max {max(wall) * 1000:.1f} ms over {len(wall)} runs; "
        f"CPU median {statistics.median(cpu) * 1000:.1f} ms, min {min(cpu) * 1000:.1f} ms"
    )


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bench_compressed(args: argparse.Namespace, tmp: Path) -> None:
    limit = args.partition_gib * GIB
    rng = random.Random(1)
    content = bytearray(256 * MIB)
    for at in range(0, len(content), 16 * MIB):
        content[at : at + MIB] = rng.randbytes(MIB)
    raw = tmp / "raw.img.zst"
    raw.write_bytes(zstandard.ZstdCompressor().compress(bytes(content)))
    del content
    plain = tmp / "plain.simg"
    build(plain, args.chunks)
    sparse = tmp / "sparse.simg.zst"
    sparse.write_bytes(zstandard.ZstdCompressor().compress(plain.read_bytes()))
    for path in (raw, sparse):
        sizes = measure(path, limit)
        assert not sizes.details.get("stopped_early"), sizes
        times = timed(args.runs, lambda p=path: measure(p, limit))  # type: ignore[misc]
        print(
            f"{path.name}: {sizes.format}, file {path.stat().st_size} bytes, decompressed "
            f"content read to the end, expanded {sizes.expanded_bytes} bytes: {summary(times)}"
        )


def bench_bomb(args: argparse.Namespace, tmp: Path) -> None:
    frame = zstandard.ZstdCompressor().compress(bytes(8 * MIB))
    path = tmp / "bomb.img.zst"
    path.write_bytes(frame * (args.bomb_gib * GIB // (8 * MIB)))
    limit = None if args.no_limit else args.partition_gib * GIB
    started, started_cpu = time.perf_counter(), time.process_time()
    try:
        sizes = measure(path, limit)
        at_least = " (at least)" if sizes.details.get("expanded_at_least") else ""
        fits = sizes.expanded_bytes <= args.partition_gib * GIB
        outcome = f"used_bytes {sizes.expanded_bytes}{at_least}, fits: {fits}"
    except ImageFormatError as exc:
        outcome = f"error: {exc.problem}"
    elapsed, cpu = time.perf_counter() - started, time.process_time() - started_cpu
    mode = "limit" if limit is not None and TAKES_LIMIT else "no limit"
    print(
        f"bomb: {path.stat().st_size} bytes of zstd expanding to {args.bomb_gib} GiB, "
        f"measured with {mode}: {elapsed:.2f} s (CPU {cpu:.2f} s), peak RSS "
        f"{peak_rss_mib():.0f} MiB; {outcome}"
    )


def bench_sparse(args: argparse.Namespace, tmp: Path) -> None:
    path = tmp / "bench.simg"
    raw_bytes = build(path, args.chunks)
    size = path.stat().st_size

    sizes = measure_image(path)  # warm the page cache; checks the numbers too
    assert sizes.expanded_bytes == EXPANDED, sizes
    assert sizes.details["chunks"] == args.chunks, sizes
    assert sizes.details["raw_bytes"] == raw_bytes, sizes

    before = bytes_read_by_process()
    measure_image(path)
    after = bytes_read_by_process()

    times = timed(args.runs, lambda: measure_image(path))

    print(f"image: {args.chunks} chunks, expanded {EXPANDED} bytes, file {size} bytes")
    print(f"data_bytes {sizes.data_bytes}, raw_bytes {raw_bytes}")
    print(f"measure_image: {summary(times)}")
    if before is not None and after is not None:
        read = after - before
        print(f"bytes read in one run: {read} ({100 * read / size:.2f}% of the file)")


PARTS = {"sparse": bench_sparse, "compressed": bench_compressed, "bomb": bench_bomb}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("parts", nargs="*", help=f"any of {', '.join(PARTS)} (default: sparse)")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--chunks", type=int, default=10_000)
    parser.add_argument("--dir", type=Path, default=None)
    parser.add_argument("--bomb-gib", type=int, default=100)
    parser.add_argument("--partition-gib", type=int, default=4)
    parser.add_argument("--no-limit", action="store_true")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.parts) - set(PARTS))
    if unknown:
        parser.error(f"unknown parts {unknown}; known: {', '.join(PARTS)}")
    print(f"measure_image takes a limit: {TAKES_LIMIT}")
    for part in args.parts or ["sparse"]:
        with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
            PARTS[part](args, Path(tmp))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
