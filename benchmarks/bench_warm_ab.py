"""A/B of warm runs: two (or more) checkouts of this plugin on one generated product.

On a shared machine the load drifts by more than a small change costs, so runs of the
checkouts alternate (ABBA order), each run a whole ``pytest --sizebudget -q`` in a
subprocess, and the CPU time (user + sys) of each is recorded.  The product is
``bench_warm_run.generate()``'s; its cache is filled once by a cold run of the first
checkout (the cache format is the same for all of them, or the comparison is moot).

Run, e.g. with the base branch exported beside this checkout::

    git archive main | tar -x -C /tmp/base
    python benchmarks/bench_warm_ab.py base=/tmp/base new=. --runs 20

``--named`` names the budget file (no walk of the product's files).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_warm_run import generate


def run(tree: Path, root: Path, args: list[str], pycache: Path) -> tuple[float, float]:
    env = {**os.environ, "PYTHONPATH": str(tree), "PYTHONPYCACHEPREFIX": str(pycache)}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "--sizebudget", "-q", *args],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{tree}: pytest exited {proc.returncode}\n{proc.stdout[-3000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("trees", nargs="+", help="name=path of a checkout")
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--named", action="store_true", help="name the budget file")
    parser.add_argument("--pytest-args", default="-p no:hypothesispytest")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    trees = {n: Path(p).resolve() for n, p in (t.split("=", 1) for t in args.trees)}
    tmp = Path(tempfile.mkdtemp(prefix="sizebudget-ab-"))
    try:
        compare(trees, tmp, args)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def compare(trees: dict[str, Path], tmp: Path, args: argparse.Namespace) -> None:
    root = tmp / "product"
    print("product:", generate(root, 150, 15, 70, args.seed))
    extra = [*args.pytest_args.split(), *(["product.sizebudget.json"] if args.named else [])]
    first = next(iter(trees.values()))
    run(first, root, extra, tmp / "pyc-cold")  # cold: fills the cache
    for name, tree in trees.items():
        run(tree, root, extra, tmp / f"pyc-{name}")  # bytecode, page cache
    cpu: dict[str, list[float]] = {n: [] for n in trees}
    wall: dict[str, list[float]] = {n: [] for n in trees}
    names = list(trees)
    for i in range(args.runs):
        for name in names if i % 2 == 0 else reversed(names):
            w, c = run(trees[name], root, extra, tmp / f"pyc-{name}")
            wall[name].append(w)
            cpu[name].append(c)
    print(f"load average: {os.getloadavg()[0]:.2f}; {args.runs} runs each, alternating")
    for name in names:
        print(
            f"{name}: CPU median {statistics.median(cpu[name]):.3f} s, min "
            f"{min(cpu[name]):.3f} s; wall median {statistics.median(wall[name]):.3f} s"
        )


if __name__ == "__main__":
    main()
