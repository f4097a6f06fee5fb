#!/usr/bin/env python3
"""Benchmark: ELF budgets on a large program (many sections, a large map file).

Generates, in a temporary directory, what a large firmware link leaves: an ELF program
with ``--sections`` allocated sections (``-ffunction-sections`` without
``--gc-sections`` keeps thousands) and a GNU ld map file with ``--objects`` input
objects of ``--pieces`` input sections each (Zephyr's maps are tens of MB).  Times, each
in a fresh child process with its own peak RSS (``ru_maxrss``):

- ``import``: the imports alone (the floor of the RSS figures);
- ``regions``: reading the map's Memory Configuration (what collecting the budget file
  does);
- ``elf``: reading the ELF's ranges and placing them in the regions;
- ``objects``: reading the whole memory map into bytes per input object per region;
- ``run``: ``pytest --sizebudget`` on a budget file with the entry (the whole thing).

Usage: PYTHONPATH=. python benchmarks/bench_firmware.py [--sections 5000]
       [--objects 5000] [--pieces 20] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.elf_builder import SHF_ALLOC, SHF_EXECINSTR, Sec, make_elf

FLASH, RAM = 0x08000000, 0x20000000

CHILD = r"""
import json, resource, sys, time
from pathlib import Path
what, elf, map_ = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
from pytest_sizebudget.firmware.elf import read_elf
from pytest_sizebudget.firmware.ldmap import read_input_pieces, read_memory_configuration
from pytest_sizebudget.firmware.regions import region_usage
start = time.perf_counter()
cpu = time.process_time()
if what == "import":
    n = 0
elif what == "regions":
    n = len(read_memory_configuration(map_, "m"))
elif what == "elf":
    regions = read_memory_configuration(map_, "m")
    n = sum(len(u.ranges) for u in region_usage(regions, read_elf(elf, "e").ranges))
else:
    n = len(read_input_pieces(map_, "m"))
print(json.dumps({"s": time.perf_counter() - start, "cpu": time.process_time() - cpu,
                  "rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, "n": n}))
"""


def make_inputs(out: Path, sections: int, objects: int, pieces: int) -> tuple[Path, Path]:
    secs = [
        Sec(f".text.f{i}", FLASH + 64 * i, 60, flags=SHF_ALLOC | SHF_EXECINSTR)
        for i in range(sections)
    ]
    secs.append(Sec(".bss", RAM, 0x10000, nobits=True))
    elf = out / "big.elf"
    elf.write_bytes(make_elf(secs))
    map_ = out / "big.map"
    per_section = max(1, objects * pieces // max(sections, 1))
    n = 0
    with map_.open("w") as f:  # streamed: the parent's peak RSS is inherited by children
        f.write(
            "Memory Configuration\n\n"
            "Name             Origin             Length             Attributes\n"
            f"FLASH            {FLASH:#010x}         0x00400000         xr\n"
            f"RAM              {RAM:#010x}         0x00040000         xrw\n"
            "*default*        0x00000000         0xffffffff\n\n"
            "Linker script and memory map\n\n"
        )
        for i in range(sections):
            f.write(f".text.f{i}     {FLASH + 64 * i:#010x}       0x3c\n")
            for _ in range(per_section):
                obj = f"/build/zephyr/subsys/module_{n % objects}/src/file_{n % objects}.c.obj"
                f.write(
                    f" .text.function_{n}_with_a_long_name\n"
                    f"                {FLASH + 64 * i:#010x}        0x4 {obj}\n"
                    f"                {FLASH + 64 * i:#010x}                function_{n}\n"
                )
                n += 1
    return elf, map_


def child(what: str, elf: Path, map_: Path) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, what, str(elf), str(map_)],
        capture_output=True,
        text=True,
        check=True,
    )
    return dict(json.loads(done.stdout))


def whole_run(out: Path) -> dict[str, float]:
    (out / "fw.sizebudget.json5").write_text(
        json.dumps({"elf_budgets": [{"name": "big", "elf": "big.elf", "map": "big.map"}]})
    )
    start = time.perf_counter()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(
        [sys.executable, "-m", "pytest", "--sizebudget", str(out), "-q", "-p", "no:cacheprovider"],
        capture_output=True,
        check=True,
        cwd=out,
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {
        "s": time.perf_counter() - start,
        "cpu": after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime,
        "rss": after.ru_maxrss,
        "n": 2,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sections", type=int, default=5000)
    parser.add_argument("--objects", type=int, default=5000)
    parser.add_argument("--pieces", type=int, default=20)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        elf, map_ = make_inputs(out, args.sections, args.objects, args.pieces)
        print(
            f"ELF {elf.stat().st_size / 1e6:.1f} MB ({args.sections} sections), map "
            f"{map_.stat().st_size / 1e6:.1f} MB ({args.objects} objects)"
        )
        print(f"{'what':<10} {'median s':>9} {'cpu s':>7} {'peak rss MB':>12} {'items':>8}")
        for what in ("import", "regions", "elf", "objects", "run"):
            got = [
                whole_run(out) if what == "run" else child(what, elf, map_)
                for _ in range(args.runs)
            ]
            print(
                f"{what:<10} {statistics.median(g['s'] for g in got):9.2f} "
                f"{statistics.median(g['cpu'] for g in got):7.2f} "
                f"{max(g['rss'] for g in got) / 1024:12.1f} {int(got[0]['n']):>8}"
            )


if __name__ == "__main__":
    main()
