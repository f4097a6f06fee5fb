"""Whole-run benchmark: ``pytest --sizebudget`` on a product of >= 10,000 blob instances.

Generates a Fuchsia-shaped product (150 package manifests in 15 package sets, blobs shared
between packages, small real-ish files: text-like compressible ones and random "media"
ones, about half of them sized by a blobs.json and the rest measured by the engine), then
runs the whole command in a subprocess, as a user would:

- cold: pytest's cache directory removed before each run (every unsized blob measured);
- warm: the cache filled by the previous run, with pytest walking the whole product
  directory (every blob file is offered to collection), and with the budget file named
  on the command line (no walk);
- floor: the same directory collected without this plugin (``pytest --co -p
  no:sizebudget``): interpreter, pytest, every other installed plugin and pytest's walk of
  the product, which no change to this plugin can remove; the warm run less the floor is
  this plugin's share;
- baseline: ``pytest --version`` in the same environment.

Each is repeated and the median wall time is reported.  Bytecode: the benchmark sets
``PYTHONPYCACHEPREFIX`` to a private directory and clears ``PYTHONDONTWRITEBYTECODE``, so
imports are cached as on a normal install without writing into site-packages; pass
``--no-bytecode-cache`` to time the environment as it is.

Run: ``python benchmarks/bench_warm_run.py`` (``--help`` for the knobs).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from pytest_sizebudget.measure.merkle import merkle_root  # noqa: E402

WORDS = [
    *("fuchsia", "component", "protocol", "capability", "route", "expose", "offer", "use"),
    *("storage", "blob", "zircon", "driver", "handle", "channel", "vmo", "port", "socket"),
    *("fidl", "realm", "manifest", "resolver", "package", "cache"),
]


def blob_bytes(rng: random.Random) -> bytes:
    """A small file like those in a product: mostly code/text, some incompressible media."""
    kind = rng.random()
    if kind < 0.55:  # small text, stored uncompressed (<= 8 KiB)
        n = rng.randint(200, 8000)
    elif kind < 0.9:  # compressible, 9-64 KiB
        n = rng.randint(9000, 64_000)
    else:  # media: random bytes, 9-48 KiB
        return rng.randbytes(rng.randint(9000, 48_000))
    out = bytearray()
    while len(out) < n:
        out += (" ".join(rng.choice(WORDS) for _ in range(12)) + f" {rng.random():.6f}\n").encode()
    return bytes(out[:n])


def generate(root: Path, packages: int, sets: int, per_package: int, seed: int) -> dict[str, int]:
    rng = random.Random(seed)
    shared_pool = [blob_bytes(rng) for _ in range(600)]
    blob_dir = root / "blobs"
    blob_dir.mkdir(parents=True)
    merkles: dict[bytes, str] = {}
    instances = 0

    def store(data: bytes) -> tuple[str, str]:
        merkle = merkles.get(data)
        if merkle is None:
            merkle = merkle_root(data)
            merkles[data] = merkle
            (blob_dir / merkle).write_bytes(data)
        return merkle, f"../../blobs/{merkle}"

    manifests = []
    for p in range(packages):
        entries = []
        own = per_package // 2
        contents = [("meta/", blob_bytes(rng))]
        contents += [(f"lib/own{i}", blob_bytes(rng)) for i in range(own - 1)]
        contents += [
            (f"lib/shared{i}", shared_pool[j])
            for i, j in enumerate(rng.sample(range(len(shared_pool)), per_package - own))
        ]
        for path, data in contents:
            merkle, source = store(data)
            entries.append(
                {"source_path": source, "path": path, "merkle": merkle, "size": len(data)}
            )
        instances += len(entries)
        rel = f"obj/pkg{p:03d}/package_manifest.json"
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(
            json.dumps(
                {
                    "version": "1",
                    "package": {"name": f"pkg{p:03d}", "version": "0"},
                    "blobs": entries,
                    "blob_sources_relative": "file",
                }
            )
        )
        manifests.append(rel)
    # A blobs.json from an earlier build: sizes of about half the blobs.
    known = sorted(m for m in merkles.values() if int(m[:2], 16) < 128)
    sizes = {m: -(-(blob_dir / m).stat().st_size // 8192) * 8192 for m in known}
    (root / "blobs.json").write_text(
        json.dumps([{"merkle": m, "size": s} for m, s in sorted(sizes.items())])
    )
    per_set = packages // sets
    budget = {
        "blob_sizes": ["blobs.json"],
        "package_set_budgets": [
            {
                "name": f"Set {s:02d}",
                "budget_bytes": "64 MiB",
                "packages": manifests[s * per_set : (s + 1) * per_set],
            }
            for s in range(sets)
        ],
    }
    (root / "product.sizebudget.json").write_text(json.dumps(budget, indent=2))
    (root / "pytest.ini").write_text("[pytest]\n")
    counts = {"instances": instances, "distinct_blobs": len(merkles), "in_blobs_json": len(sizes)}
    (root / "counts.json").write_text(json.dumps(counts))
    return counts


CPU: list[float] = []  # CPU seconds (user + system) of each timed run, in order


def timed(
    cmd: list[str], cwd: Path, env: dict[str, str], ok: tuple[int, ...] = (0, 1)
) -> tuple[float, str]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    CPU.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    if proc.returncode not in ok:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout}{proc.stderr}")
    return elapsed, proc.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--packages", type=int, default=150)
    parser.add_argument("--sets", type=int, default=15)
    parser.add_argument("--blobs-per-package", type=int, default=70)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--dir", type=Path, help="build the product here (default: a temp dir)")
    parser.add_argument("--no-bytecode-cache", action="store_true")
    parser.add_argument(
        "--pytest-args", default="", help="extra arguments for every pytest run (quoted)"
    )
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="use the product an earlier run left in --dir (its cache too) as it is",
    )
    parser.add_argument("--no-cold", action="store_true", help="skip the cold runs")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="sizebudget-bench-"))
    root = args.dir or tmp / "product"
    if args.reuse and (root / "counts.json").is_file():
        counts = json.loads((root / "counts.json").read_text())
    else:
        if root.exists():
            shutil.rmtree(root)
        counts = generate(root, args.packages, args.sets, args.blobs_per_package, args.seed)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    if not args.no_bytecode_cache:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(tmp / "pycache")
    cmd = [sys.executable, "-m", "pytest", "--sizebudget", "-q", *args.pytest_args.split()]
    # One throw-away run so imports are compiled; it also checks the product passes.
    timed(cmd, root, env)

    def runs(
        command: list[str], cold: bool = False, ok: tuple[int, ...] = (0, 1)
    ) -> tuple[list[float], list[float], str]:
        walls, out = [], ""
        for _ in range(args.repeat):
            if cold:
                shutil.rmtree(root / ".pytest_cache", ignore_errors=True)
            wall, out = timed(command, root, env, ok)
            walls.append(wall)
        return walls, CPU[-args.repeat :], out

    def median(result: tuple[list[float], list[float], str]) -> str:
        walls, cpu, _ = result
        return (
            f"{statistics.median(walls):.2f} s wall (runs: {', '.join(f'{t:.2f}' for t in walls)})"
            f", {statistics.median(cpu):.2f} s CPU"
        )

    named = [*cmd, "product.sizebudget.json"]  # no walk of the 6,000 blob files
    # The same command without this plugin, collecting only: interpreter, pytest, every
    # other installed plugin, and pytest's walk of the product directory.
    floor_cmd = [sys.executable, "-m", "pytest", "--co", "-q", "-p", "no:sizebudget"]
    floor_cmd += args.pytest_args.split()
    # The named command without this plugin: pytest starts, finds nothing to run in the
    # file (4: not found) and ends, as the plugin's run does around its work.
    floor_named_cmd = [*floor_cmd[:3], "-q", "-p", "no:sizebudget", *args.pytest_args.split()]
    floor_named_cmd.append("product.sizebudget.json")
    cold = None if args.no_cold else runs(cmd, cold=True)
    warm = runs(cmd)
    floor = runs(floor_cmd, ok=(5,))  # 5: no tests collected, as expected
    # Named and its floor alternate, so that the machine's load drifts over both alike.
    warm_named: tuple[list[float], list[float], str] = ([], [], "")
    floor_named: tuple[list[float], list[float], str] = ([], [], "")
    for _ in range(args.repeat):
        for into, command, ok in (
            (warm_named, named, (0, 1)),
            (floor_named, floor_named_cmd, (4, 5)),
        ):
            wall, out = timed(command, root, env, ok)
            into[0].append(wall)
            into[1].append(CPU[-1])
    base = runs([sys.executable, "-m", "pytest", "--version"])
    out = warm[2]
    stats = [line for line in out.splitlines() if line.startswith(("blob measurement", "15 "))]
    shape = (
        "as an earlier run left it" if args.reuse else f"{args.packages} packages, {args.sets} sets"
    )
    print(f"product: {counts} ({shape}) in {root}")
    print(f"cpus: {os.cpu_count()}, load average: {os.getloadavg()[0]:.2f}")
    print(f"command: {' '.join(cmd[2:])}")
    if cold is not None:
        print(f"cold (no cache):     {median(cold)}")
    print(f"warm (cache filled): {median(warm)}")
    print(f"floor, without this plugin (pytest --co -p no:sizebudget): {median(floor)}")
    ours = statistics.median(warm[0]) - statistics.median(floor[0])
    print(f"this plugin's share of the warm run: {ours:.2f} s")
    print(f"warm, budget file named on the command line: {median(warm_named)}")
    print(f"floor, the same command without this plugin: {median(floor_named)}")
    named_share = statistics.median(warm_named[0]) - statistics.median(floor_named[0])
    per_instance = named_share / counts["instances"] * 1e6
    print(
        f"this plugin's share of the named warm run: {named_share:.2f} s "
        f"({per_instance:.1f} µs per blob instance)"
    )
    print(f"pytest --version:    {median(base)}")
    for line in stats:
        print(f"warm run: {line}")
    if args.dir is None:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
