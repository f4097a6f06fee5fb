"""Benchmark of the blob measurement engine against libzstd's own multithreaded limit.

Builds a "product" from real files on this machine (referenced in place, never copied),
then reports:

a. cold time (empty cache) and its throughput ratio to the raw limit: the same chunks
   compressed at level 14 on all cores from C by ``multi_compress_to_buffer``;
b. warm times (cache filled): files stat'ed (stat index), and manifest merkles given;
c. peak RSS of a whole ``pytest --sizebudget`` run measuring one big blob (``bench_rss``);
d. cold time at three product sizes (cost per byte);
e. the exact early exit on incompressible data vs compressing everything;
f. small files against the raw limit, as (cold - warm) / raw in the same run: a mixed
   product of real shared objects and Python sources (~400 files, 60 MB), and 100,000
   generated files shaped like a product's blobs (mostly small);
g. the remote cache (nginx with WebDAV on 127.0.0.1, started here): machine A cold with
   uploads, then machine B (an empty local cache) warm from the server, which must
   compress nothing;
t. a real tree (``--tree``, default /usr/share: tens of thousands of mostly tiny files)
   measured cold as a directory package is (no merkles given, so files of a shared size
   are hashed first), against the raw limit over the same chunks, and the bytes read.

Ours and the raw limit run interleaved and repeated, and medians are reported, because
the machine may be shared.  Run ``python benchmarks/bench_engine.py --help``.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import sys
import sysconfig
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import zstandard

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_rss

from pytest_sizebudget.measure.blob import BlobMeasurement, compression_limit
from pytest_sizebudget.measure.blobfs import archive_header_size, chunk_size, frame_count
from pytest_sizebudget.measure.cache import BlobCache
from pytest_sizebudget.measure.compress import ChunkedSizer, libzstd_version
from pytest_sizebudget.measure.engine import MeasurementEngine
from pytest_sizebudget.measure.formats import STORAGE_FORMATS, StorageFormat
from pytest_sizebudget.measure.requests import BlobRequest

MiB = 1 << 20
DEFAULT_SOURCES = ["/usr/lib", "/usr/share", sysconfig.get_paths()["stdlib"]]


def walk_files(sources: list[str], max_file: int) -> Iterator[Path]:
    for source in sources:
        for root, dirs, files in os.walk(source):
            dirs.sort()
            for name in sorted(files):
                path = Path(root, name)
                try:
                    if path.is_symlink() or not path.is_file():
                        continue
                    if 0 < path.stat().st_size <= max_file and os.access(path, os.R_OK):
                        yield path
                except OSError:
                    continue


def build_product(sources: list[str], total_bytes: int, max_file: int) -> list[Path]:
    picked: list[Path] = []
    size = 0
    for path in walk_files(sources, max_file):
        picked.append(path)
        size += path.stat().st_size
        if size >= total_bytes:
            break
    return picked


def product_bytes(paths: list[Path]) -> int:
    return sum(p.stat().st_size for p in paths)


def warm_page_cache(paths: list[Path]) -> None:
    for path in paths:
        with path.open("rb") as f:
            while f.read(8 * MiB):
                pass


def run_ours(
    paths: list[Path],
    cache_dir: Path | None,
    threads: int | None,
    fmt: StorageFormat = "compact",
    delivery: bool = False,
) -> float:
    cache = BlobCache(cache_dir, fmt, racy_seconds=0)
    engine = MeasurementEngine(fmt, cache=cache, threads=threads)
    start = time.perf_counter()
    results = engine.measure([BlobRequest(p) for p in paths], delivery=delivery)
    elapsed = time.perf_counter() - start
    bad = [r for r in results.values() if not isinstance(r, BlobMeasurement)]
    if bad:
        raise SystemExit(f"measurement failed: {bad[0]}")
    return elapsed


def raw_chunks(
    paths: list[Path], fmt: StorageFormat = "compact", delivery: bool = False
) -> list[bytes | bytearray | memoryview]:
    """The chunks the engine must compress: every chunk of every blob for which some
    answer asked for depends on compression (blobfs: above 8192 bytes; Fxfs: above 4096;
    delivery sizes: any blob whose archive header is not already larger than it)."""
    chunks: list[bytes | bytearray | memoryview] = []
    for path in paths:
        data = path.read_bytes()
        limit = compression_limit(len(data), fmt, delivery=delivery)
        if limit is None or archive_header_size(frame_count(len(data))) > limit:
            continue
        step = chunk_size(len(data))
        chunks.extend(data[i : i + step] for i in range(0, len(data), step))
    return chunks


def run_raw(chunks: list[bytes | bytearray | memoryview]) -> float:
    compressor = zstandard.ZstdCompressor(level=14)
    start = time.perf_counter()
    compressor.multi_compress_to_buffer(chunks, threads=-1)
    return time.perf_counter() - start


def median(values: list[float]) -> float:
    return statistics.median(values)


def section_cold_warm(paths: list[Path], args: argparse.Namespace, rows: list[str]) -> None:
    size = product_bytes(paths)
    warm_page_cache(paths)
    chunks = raw_chunks(paths, args.format, args.delivery)
    chunk_bytes = sum(len(c) for c in chunks)
    ours: list[float] = []
    raw: list[float] = []
    workdir = Path(tempfile.mkdtemp(prefix="bench-engine-"))
    try:
        for rep in range(args.repeats):
            cache_dir = workdir / f"cache-{rep}"
            ours.append(run_ours(paths, cache_dir, args.threads, args.format, args.delivery))
            raw.append(run_raw(chunks))
            print(f"  rep {rep + 1}: ours {ours[-1]:.2f}s  raw limit {raw[-1]:.2f}s", flush=True)
        warm_stat: list[float] = []
        warm_manifest: list[float] = []
        cache_dir = workdir / "cache-0"
        merkles = _merkles(paths, cache_dir)
        for _ in range(args.repeats):
            warm_stat.append(run_ours(paths, cache_dir, args.threads, args.format, args.delivery))
            engine = MeasurementEngine(
                args.format, cache=BlobCache(cache_dir, args.format), threads=args.threads
            )
            requests = [BlobRequest(p, expected_merkle=merkles[p]) for p in paths]
            start = time.perf_counter()
            engine.measure(requests, delivery=args.delivery)
            warm_manifest.append(time.perf_counter() - start)
            if engine.last_stats.bytes_read:
                raise SystemExit("warm run with merkles read files")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    ours_m, raw_m = median(ours), median(raw)
    rows.append(
        f"| product | {len(paths)} files, {size / MiB:.0f} MiB "
        f"({chunk_bytes / MiB:.0f} MiB in compressible blobs) "
        f"| format {args.format}{', delivery sizes' if args.delivery else ''} |"
    )
    rows.append(
        f"| (a) cold, ours (median of {args.repeats}) | {ours_m:.2f} s "
        f"| {size / MiB / ours_m:.1f} MiB/s of product |"
    )
    rows.append(
        f"| (a) raw limit: multi_compress_to_buffer(threads=-1) | {raw_m:.2f} s "
        f"| {chunk_bytes / MiB / raw_m:.1f} MiB/s of chunks |"
    )
    ratios = [r / o for o, r in zip(ours, raw, strict=True)]
    rows.append(
        f"| (a) ours / raw throughput | {raw_m / ours_m:.2f} "
        f"| per-rep {', '.join(f'{x:.2f}' for x in ratios)} |"
    )
    rows.append(f"| (b) warm, stat index (no merkles given) | {median(warm_stat):.3f} s | |")
    rows.append(f"| (b) warm, manifest merkles given | {median(warm_manifest):.3f} s | |")


def _merkles(paths: list[Path], cache_dir: Path | None) -> dict[Path, str]:
    engine = MeasurementEngine("compact", cache=BlobCache(cache_dir, "compact"))
    found = engine.hash_only(paths)
    return {p: m for p, m in found.items() if isinstance(m, str)}


def section_rss(args: argparse.Namespace, rows: list[str]) -> None:
    # The whole pytest command, as CI runs it (bench_rss.py has the details).
    workdir = Path(tempfile.mkdtemp(prefix="bench-rss-", dir=args.blob_dir))
    try:
        for size_mb in args.rss_sizes:
            peak_kib, wall, said = bench_rss.run_once(workdir / "run", size_mb * MiB)
            rows.append(
                f"| (c) peak RSS (VmHWM) of `pytest --sizebudget`, one {size_mb} MiB blob "
                f"| {peak_kib / 1024:.0f} MiB | {wall:.1f} s; chunk "
                f"{chunk_size(size_mb * MiB) // 1024} KiB; {said} |"
            )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def section_scaling(args: argparse.Namespace, rows: list[str]) -> None:
    # Every 4th, every 2nd, then every file of one product: the three sizes keep the
    # same mix of file types, so time per byte should stay flat if cost is linear.
    full = build_product(args.sources, args.size_mb * MiB, args.max_file_mb * MiB)
    full.sort(key=lambda p: p.stat().st_size)  # so every stride gets the same size mix
    for stride in (4, 2, 1):
        paths = full[::stride]
        warm_page_cache(paths)
        size = product_bytes(paths)
        t = median([run_ours(paths, None, args.threads) for _ in range(max(1, args.repeats - 1))])
        rows.append(
            f"| (d) cold, {size / MiB:.0f} MiB product (every {stride}. file) | {t:.2f} s "
            f"| {t / (size / MiB) * 1000:.1f} ms/MiB |"
        )


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _time(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def section_early_exit(args: argparse.Namespace, rows: list[str]) -> None:
    size = args.early_exit_mb * MiB
    random_data = os.urandom(size)
    precompressed = zstandard.ZstdCompressor(level=3).compress(
        b"".join(p.read_bytes() for p in build_product(args.sources, size * 4, 16 * MiB))
    )[:size]
    from concurrent.futures import ThreadPoolExecutor

    from pytest_sizebudget.measure.blobfs import max_useful_compressed_size

    for name, data in (("random", random_data), ("zstd-compressed", precompressed)):
        n = len(data)

        def sized(limit: int | None, data: bytes = data, n: int = n) -> ChunkedSizer:
            with ThreadPoolExecutor(args.threads or os.cpu_count()) as pool:
                sizer = ChunkedSizer(n, limit, executor=pool)
                for i in range(0, n, sizer.batch):
                    sizer.update(data[i : i + sizer.batch])
                sizer.finish()
            return sizer

        limit = max_useful_compressed_size(n, "compact")
        exits: list[float] = []
        fulls: list[float] = []
        for _ in range(args.repeats):
            exits.append(_time(lambda limit=limit: sized(limit)))  # type: ignore[misc]
            fulls.append(_time(lambda: sized(None)))
        frames = sized(limit).frames_compressed
        total_frames = sized(None).frames_compressed
        rows.append(
            f"| (e) {name} {n / MiB:.0f} MiB: early exit vs full | "
            f"{median(exits):.2f} s vs {median(fulls):.2f} s "
            f"| {frames}/{total_frames} frames compressed before the proof |"
        )


def mixed_small_product(total_bytes: int, max_files: int) -> list[Path]:
    """Shared objects and Python sources, alternating, until the size or count is reached."""
    libs = [
        p for p in walk_files(["/usr/lib/x86_64-linux-gnu", "/usr/lib"], 4 * MiB) if ".so" in p.name
    ]
    stdlib = [sysconfig.get_paths()["stdlib"]]
    sources = [p for p in walk_files(stdlib, 4 * MiB) if p.suffix == ".py"]
    picked: list[Path] = []
    size = 0
    seen: set[Path] = set()
    for lib, src in zip(libs, sources, strict=False):
        for path in (lib, src):
            real = path.resolve()
            if real in seen:
                continue
            seen.add(real)
            picked.append(path)
            size += path.stat().st_size
        if size >= total_bytes or len(picked) >= max_files:
            break
    return picked


def many_small_files(directory: Path, count: int, seed: int = 1) -> list[Path]:
    """``count`` distinct files with the size mix of bench_warm_run's product blobs."""
    import random

    from bench_warm_run import blob_bytes

    rng = random.Random(seed)
    paths = []
    for i in range(count):
        sub = directory / f"{i % 256:02x}"
        if i < 256:
            sub.mkdir(parents=True, exist_ok=True)
        path = sub / f"{i}.bin"
        path.write_bytes(blob_bytes(rng) + i.to_bytes(4, "little"))  # every file distinct
        paths.append(path)
    return paths


def cold_warm_raw(paths: list[Path], args: argparse.Namespace, label: str, rows: list[str]) -> None:
    """Cold and warm engine runs (manifest merkles given) and the raw limit, alternating."""
    warm_page_cache(paths)
    merkles = _merkles(paths, None)
    requests = [BlobRequest(p, expected_merkle=merkles[p]) for p in paths]
    chunks = raw_chunks(paths)
    size = product_bytes(paths)
    colds: list[float] = []
    warms: list[float] = []
    raws: list[float] = []
    # CPU seconds of this process (every thread): what the work costs, whatever else runs
    # on the machine; wall time alone swings with a shared machine's load.
    cpu: dict[str, list[float]] = {"cold": [], "warm": [], "raw": []}
    compressed = 0
    workdir = Path(tempfile.mkdtemp(prefix="bench-small-"))
    try:
        for rep in range(args.repeats):
            cache = BlobCache(workdir / f"c{rep}", "compact", racy_seconds=0)
            engine = MeasurementEngine("compact", cache=cache, threads=args.threads)
            c0 = _cpu()
            colds.append(_time(lambda e=engine: e.measure(requests)))  # type: ignore[misc]
            c1 = _cpu()
            compressed = engine.last_stats.blobs_compressed
            raws.append(run_raw(chunks))
            c2 = _cpu()
            engine = MeasurementEngine(
                "compact", cache=BlobCache(workdir / f"c{rep}", "compact"), threads=args.threads
            )
            warms.append(_time(lambda e=engine: e.measure(requests)))  # type: ignore[misc]
            c3 = _cpu()
            cpu["cold"].append(c1 - c0)
            cpu["raw"].append(c2 - c1)
            cpu["warm"].append(c3 - c2)
            if engine.last_stats.blobs_compressed:
                raise SystemExit("warm run compressed")
            ratio = raws[-1] / max(colds[-1] - warms[-1], 1e-9)
            cpu_ratio = cpu["raw"][-1] / max(cpu["cold"][-1] - cpu["warm"][-1], 1e-9)
            print(
                f"  {label} rep {rep + 1}: cold {colds[-1]:.2f}s warm {warms[-1]:.3f}s "
                f"raw {raws[-1]:.2f}s -> {ratio:.2f}; CPU cold {cpu['cold'][-1]:.2f}s "
                f"warm {cpu['warm'][-1]:.3f}s raw {cpu['raw'][-1]:.2f}s -> {cpu_ratio:.2f}",
                flush=True,
            )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    ratios = [r / max(c - w, 1e-9) for c, w, r in zip(colds, warms, raws, strict=True)]
    cpu_ratios = [
        r / max(c - w, 1e-9) for c, w, r in zip(cpu["cold"], cpu["warm"], cpu["raw"], strict=True)
    ]
    rows.append(
        f"| (f) {label}, CPU time | cold {median(cpu['cold']):.2f} s, warm "
        f"{median(cpu['warm']):.3f} s, raw {median(cpu['raw']):.2f} s "
        f"| raw / (cold - warm) **{median(cpu_ratios):.2f}** "
        f"(per pair {', '.join(f'{x:.2f}' for x in cpu_ratios)}) |"
    )
    rows.append(
        f"| (f) {label}: {len(paths):,} files, {size / MiB:.0f} MiB, {compressed:,} compressed "
        f"| cold {median(colds):.2f} s, warm {median(warms):.3f} s, raw {median(raws):.2f} s "
        f"| raw / (cold - warm) **{median(ratios):.2f}** "
        f"(per pair {', '.join(f'{x:.2f}' for x in ratios)}) |"
    )


def section_small_files(args: argparse.Namespace, rows: list[str]) -> None:
    mixed = mixed_small_product(args.mixed_mb * MiB, args.mixed_files)
    cold_warm_raw(mixed, args, "mixed real small files", rows)
    if args.many_files:
        directory = Path(tempfile.mkdtemp(prefix="bench-many-", dir=args.blob_dir))
        try:
            many = many_small_files(directory, args.many_files)
            cold_warm_raw(many, args, "generated small files", rows)
        finally:
            shutil.rmtree(directory, ignore_errors=True)


def section_remote(args: argparse.Namespace, rows: list[str]) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from pytest_sizebudget.measure.remote import RemoteCache
    from tests.nginx_cache import NginxCache, nginx_binary

    if nginx_binary() is None:
        rows.append("| (g) remote cache | skipped: nginx is not installed | |")
        return
    paths = mixed_small_product(args.mixed_mb * MiB, args.mixed_files)
    warm_page_cache(paths)
    merkles = _merkles(paths, None)
    requests = [BlobRequest(p, expected_merkle=merkles[p]) for p in paths]
    workdir = Path(tempfile.mkdtemp(prefix="bench-remote-"))
    server = NginxCache(workdir / "nginx")
    server.start()
    try:
        times: dict[str, float] = {}
        stats = {}
        for machine in ("A", "B"):
            remote = RemoteCache(server.url)
            cache = BlobCache(workdir / machine, "compact", remote=remote)
            engine = MeasurementEngine("compact", cache=cache, threads=args.threads)
            times[machine] = _time(lambda e=engine: e.measure(requests))  # type: ignore[misc]
            remote.close()
            stats[machine] = (engine.last_stats, remote.counts)
        a_stats, a_remote = stats["A"]
        b_stats, b_remote = stats["B"]
        if b_stats.blobs_compressed:
            raise SystemExit("machine B compressed blobs the server had")
        rows.append(
            f"| (g) remote cache, {len(paths)} files: A cold, uploading | {times['A']:.2f} s "
            f"| {a_stats.blobs_compressed} compressed, {a_remote.uploads} uploaded |"
        )
        rows.append(
            f"| (g) remote cache: B warm from the server (empty local cache) | "
            f"{times['B']:.2f} s | {b_stats.blobs_compressed} compressed, "
            f"{b_remote.hits} remote hits, {b_stats.bytes_read} bytes read |"
        )
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def section_tree(args: argparse.Namespace, rows: list[str]) -> None:
    paths = list(walk_files([args.tree], args.max_file_mb * MiB))
    size = product_bytes(paths)
    warm_page_cache(paths)
    chunks = raw_chunks(paths)
    ratios: list[float] = []
    cpu_ratios: list[float] = []
    colds: list[float] = []
    read = compressed = 0
    requests = [BlobRequest(p) for p in paths]
    for rep in range(args.repeats):
        workdir = Path(tempfile.mkdtemp(prefix="bench-tree-"))
        try:
            engine = MeasurementEngine(
                "compact", cache=BlobCache(workdir, "compact", racy_seconds=0), threads=args.threads
            )
            c0 = _cpu()
            cold = _time(lambda e=engine: e.measure(requests))  # type: ignore[misc]
            c1 = _cpu()
            raw = run_raw(chunks)
            c2 = _cpu()
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        read, compressed = engine.last_stats.bytes_read, engine.last_stats.blobs_compressed
        colds.append(cold)
        ratios.append(raw / cold)
        cpu_ratios.append((c2 - c1) / (c1 - c0))
        print(
            f"  tree rep {rep + 1}: cold {cold:.1f}s raw {raw:.1f}s -> {ratios[-1]:.2f}; "
            f"CPU -> {cpu_ratios[-1]:.2f}; {read / MiB:.0f} MiB read",
            flush=True,
        )
    rows.append(
        f"| (t) {args.tree}: {len(paths):,} files, {size / MiB:.0f} MiB, {compressed:,} "
        f"compressed, {read / MiB:.0f} MiB read | cold {median(colds):.1f} s "
        f"| raw / cold **{median(ratios):.2f}** (per pair "
        f"{', '.join(f'{x:.2f}' for x in ratios)}); CPU {median(cpu_ratios):.2f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mb", type=int, default=300, help="product size (default 300)")
    parser.add_argument(
        "--sources",
        nargs="+",
        default=DEFAULT_SOURCES,
        help="directories whose files make the product",
    )
    parser.add_argument(
        "--max-file-mb", type=int, default=64, help="skip files larger than this (default 64)"
    )
    parser.add_argument("--repeats", type=int, default=3, help="interleaved repeats (default 3)")
    parser.add_argument("--threads", type=int, default=None, help="engine threads (default all)")
    parser.add_argument(
        "--format",
        choices=STORAGE_FORMATS,
        default="compact",
        help="storage format of section a (default compact)",
    )
    parser.add_argument(
        "--delivery",
        action="store_true",
        help="section a also computes delivery-blob sizes (as update budgets do)",
    )
    parser.add_argument(
        "--rss-sizes",
        type=int,
        nargs="+",
        default=[512, 2048],
        help="big-blob sizes in MiB for the RSS test (default 512 2048)",
    )
    parser.add_argument("--blob-dir", default=None, help="where to write the big blobs")
    parser.add_argument(
        "--early-exit-mb",
        type=int,
        default=32,
        help="size of the incompressible blobs (default 32)",
    )
    parser.add_argument(
        "--mixed-mb",
        type=int,
        default=60,
        help="(f) size of the mixed small-file product (default 60)",
    )
    parser.add_argument(
        "--mixed-files",
        type=int,
        default=400,
        help="(f) at most this many files in it (default 400)",
    )
    parser.add_argument(
        "--many-files",
        type=int,
        default=100_000,
        help="(f) generated small files (default 100000; 0: skip)",
    )
    parser.add_argument(
        "--tree", default="/usr/share", help="(t) a real tree of files (default /usr/share)"
    )
    parser.add_argument(
        "--only",
        nargs="+",
        choices=["a", "c", "d", "e", "f", "g", "t"],
        help="run only these sections (a includes b)",
    )
    args = parser.parse_args()
    sections = set(args.only or ["a", "c", "d", "e", "f", "g"])
    print(
        f"python {sys.version.split()[0]}, zstandard {zstandard.__version__}, "
        f"libzstd {libzstd_version()}, {os.cpu_count()} cpus, "
        f"load average {os.getloadavg()[0]:.2f}",
        flush=True,
    )
    rows = ["| measurement | result | notes |", "| --- | --- | --- |"]
    if "a" in sections:
        paths = build_product(args.sources, args.size_mb * MiB, args.max_file_mb * MiB)
        section_cold_warm(paths, args, rows)
    if "c" in sections:
        section_rss(args, rows)
    if "d" in sections:
        section_scaling(args, rows)
    if "e" in sections:
        section_early_exit(args, rows)
    if "f" in sections:
        section_small_files(args, rows)
    if "g" in sections:
        section_remote(args, rows)
    if "t" in sections:
        section_tree(args, rows)
    print("\n".join(rows))


if __name__ == "__main__":
    main()
