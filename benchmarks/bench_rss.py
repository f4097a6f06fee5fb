"""Peak memory of a whole ``pytest --sizebudget`` run that measures one big blob.

For each size asked for, the script writes one blob file of that size into a directory
package, a budget file naming it, and a ``conftest.py`` that records the process's peak
resident set (``VmHWM`` from ``/proc/self/status``) when pytest unconfigures.  It then runs
the whole command, as CI would, in a subprocess with an empty cache, and reports the
peak next to the blob size, blobfs's chunk size, and the wall time.  The same run with a
tiny blob gives the floor: interpreter, pytest, every installed plugin and this one.

The blob is mostly zeros, so that a 4 GiB run takes seconds rather than minutes, with a
1 MiB island of random bytes every 64 MiB: the level-14 contexts zstd needs are sized
from the chunk length, not its content, so the memory measured is that of any blob of
the size (random islands keep the compressed output buffers honest too).

Run: ``python benchmarks/bench_rss.py`` (default sizes 512 MiB, 2 GiB and 4 GiB), or
``--sizes 512 2048 4096 8192``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from pytest_sizebudget.measure.blobfs import chunk_size  # noqa: E402

MiB = 1 << 20

CONFTEST = '''
import os

def pytest_unconfigure(config):
    with open("/proc/self/status") as status:
        peak = next(line for line in status if line.startswith("VmHWM:"))
    with open(os.environ["SIZEBUDGET_BENCH_RSS_OUT"], "w") as out:
        out.write(peak.split()[1])
'''

BUDGET = """{
  blobfs_layout: "compact",
  package_set_budgets: [
    { name: "Big blob", budget_bytes: "64 GiB", packages: ["pkg"] },
  ],
}
"""


def make_blob(path: Path, size: int) -> None:
    with path.open("wb") as f:
        f.truncate(size)
        for offset in range(0, size, 64 * MiB):
            f.seek(offset)
            f.write(os.urandom(min(MiB, size - offset)))


def run_once(workdir: Path, size: int) -> tuple[int, float, str]:
    shutil.rmtree(workdir, ignore_errors=True)
    (workdir / "pkg").mkdir(parents=True)
    make_blob(workdir / "pkg" / "blob", size)
    (workdir / "conftest.py").write_text(CONFTEST)
    (workdir / "big.sizebudget.json5").write_text(BUDGET)
    out = workdir / "peak-kib"
    env = {**os.environ, "SIZEBUDGET_BENCH_RSS_OUT": str(out)}
    cmd = [sys.executable, "-m", "pytest", "--sizebudget", "-q", "-p", "no:randomly"]
    cmd += ["--sizebudget-cache-dir", str(workdir / "cache"), "big.sizebudget.json5"]
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=workdir, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"pytest failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    last = proc.stdout.strip().splitlines()[-1]
    return int(out.read_text()), elapsed, last


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[512, 2048, 4096],
                        help="blob sizes in MiB (default 512 2048 4096)")
    parser.add_argument("--dir", default=None, help="where to write the blobs (default: TMPDIR)")
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="bench-rss-", dir=args.dir))
    try:
        print(f"{'blob':>10} {'chunk':>10} {'peak RSS':>10} {'wall':>8}  pytest said")
        for size_mib in [0, *args.sizes]:
            size = size_mib * MiB if size_mib else 100_000
            peak_kib, wall, said = run_once(root / "run", size)
            label = f"{size_mib} MiB" if size_mib else "100 kB"
            print(
                f"{label:>10} {chunk_size(size) // 1024:>7} KiB {peak_kib / 1024:>6.0f} MiB "
                f"{wall:>7.1f}s  {said}",
                flush=True,
            )
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
