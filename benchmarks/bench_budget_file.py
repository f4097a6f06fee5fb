#!/usr/bin/env python3
"""Benchmark: loading large budget files (strict JSON and JSON5) with ``load_budget_file``.

The script generates a Fuchsia-shaped budget file of the given size twice, once as
strict JSON (``json.dumps(indent=2)``, as a generator would write it) and once as JSON5
(unquoted keys, single quotes, comments, trailing commas), then times each way of
reading it in a fresh child process, so that every figure has its own peak RSS
(``resource.getrusage``, ``ru_maxrss``) and nothing is warm from an earlier run:

- ``load``: ``load_budget_file`` with the built-in kinds, what collection does;
- ``json``: ``json.loads`` of the strict-JSON bytes, the floor (no positions, no checks);
- ``json5-package``: ``json5.loads`` of the JSON5 text, what parsed JSON5 before
  (with ``--alternatives``; slow: about 3 s per MB);
- ``json-five``: the ``json-five`` package's ``loads`` of the JSON5 text (with
  ``--json-five DIR``; its module is also named ``json5``, so it is installed apart).

Every figure includes reading the file (``read_text``); ``cpu s`` is the child's CPU
time of the same work, less sensitive than the wall time to other load on the machine.
``rss before`` is the child's peak after its imports; ``peak rss`` includes the text
read (a ``str`` of the file).

Usage: PYTHONPATH=. python benchmarks/bench_budget_file.py [--mb 50] [--json5-mb 5]
       [--runs 3] [--alternatives] [--json-five DIR] [--dir DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

PACKAGES_PER_BUDGET = 20


def budget_entries(target_bytes: int) -> list[dict[str, Any]]:
    """Package-set budgets until their JSON would pass ``target_bytes``."""
    entries: list[dict[str, Any]] = []
    size = 0
    i = 0
    while size < target_bytes:
        entry = {
            "name": f"Budget {i:06d}",
            "budget_bytes": f"{(i % 900) + 100} KiB",
            "creep_budget_bytes": 4096,
            "owner": f"https://example.com/teams/team-{i % 97}",
            "merge": i % 2 == 0,
            "packages": [
                f"out/obj/src/area{i % 31}/component{i}/pkg{j}/package_manifest.json"
                for j in range(PACKAGES_PER_BUDGET)
            ],
        }
        entries.append(entry)
        size += len(json.dumps(entry, indent=2)) + 4
        i += 1
    return entries


def strict_json(entries: list[dict[str, Any]]) -> str:
    return json.dumps({"blob_sizes": ["out/blobs.json"], "package_set_budgets": entries}, indent=2)


def json5_text(entries: list[dict[str, Any]]) -> str:
    """The same budgets in the JSON5 a person writes: comments, bare keys, trailing commas."""
    out = [
        "// generated budgets",
        "{",
        "  blob_sizes: ['out/blobs.json'],",
        "  package_set_budgets: [",
    ]
    for e in entries:
        out.append(f"    // owned by {e['owner']}")
        out.append("    {")
        out.append(f"      name: '{e['name']}',")
        out.append(f'      budget_bytes: "{e["budget_bytes"]}",')
        out.append(f"      creep_budget_bytes: 0x{e['creep_budget_bytes']:x},")
        out.append(f'      owner: "{e["owner"]}",')
        out.append(f"      merge: {'true' if e['merge'] else 'false'},")
        out.append("      packages: [")
        out.extend(f"        '{p}'," for p in e["packages"])
        out.append("      ],  /* end of packages */")
        out.append("    },")
    out += ["  ],", "}", ""]
    return "\n".join(out)


def generate(base: Path, mb: float, json5_mb: float) -> None:
    strict_entries = budget_entries(int(mb * 1e6))
    (base / "big.sizebudget.json").write_text(strict_json(strict_entries), encoding="utf-8")
    del strict_entries
    json5_entries = budget_entries(int(json5_mb * 1e6 * 0.8))  # JSON5's text is longer
    (base / "big.sizebudget.json5").write_text(json5_text(json5_entries), encoding="utf-8")
    (base / "big5.json").write_text(strict_json(json5_entries), encoding="utf-8")


def child(method: str, path: Path) -> None:
    """Runs in a fresh interpreter: one read and parse, then time and peak RSS as JSON."""

    def text() -> str:
        return path.read_text(encoding="utf-8")

    if method == "load":
        from pytest_sizebudget.budget.parse import load_budget_file
        from pytest_sizebudget.kinds.builtin import builtin_kinds

        kinds = builtin_kinds()
        run: Any = lambda: load_budget_file(path, kinds=kinds)  # noqa: E731
    elif method == "json":
        run = lambda: json.loads(text())  # noqa: E731
    elif method == "json5-package":
        import json5

        run = lambda: json5.loads(text())  # noqa: E731
    elif method == "json-five":
        # json-five's module is also called json5: it is installed apart (--json-five DIR).
        sys.path.insert(0, os.environ["JSON_FIVE_DIR"])
        import json5 as jf

        assert "json-five" in str(jf.__file__) or hasattr(jf, "loader"), jf.__file__
        run = lambda: jf.loads(text())  # noqa: E731
    else:
        raise SystemExit(f"unknown method {method}")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started, cpu_started = time.perf_counter(), time.process_time()
    run()
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps({"seconds": seconds, "cpu": cpu, "rss_before_kib": before, "rss_peak_kib": peak})
    )


def measure(method: str, path: Path, runs: int) -> dict[str, float]:
    samples = []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, __file__, "--child", method, str(path)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        samples.append(json.loads(out.strip().splitlines()[-1]))
    return {
        "seconds": statistics.median(s["seconds"] for s in samples),
        "cpu": statistics.median(s["cpu"] for s in samples),
        "min": min(s["seconds"] for s in samples),
        "max": max(s["seconds"] for s in samples),
        "rss_before_mib": max(s["rss_before_kib"] for s in samples) / 1024,
        "rss_peak_mib": max(s["rss_peak_kib"] for s in samples) / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mb", type=float, default=50, help="size of the strict-JSON file")
    parser.add_argument("--json5-mb", type=float, default=5, help="size of the JSON5 file")
    parser.add_argument("--runs", type=int, default=3, help="children per figure (median)")
    parser.add_argument("--alternatives", action="store_true", help="also time json5 packages")
    parser.add_argument("--dir", type=Path, help="keep the generated files here")
    parser.add_argument(
        "--json-five",
        type=Path,
        metavar="DIR",
        help="time json-five too, installed apart: pip install --target DIR json-five",
    )
    parser.add_argument("--child", nargs=2, metavar=("METHOD", "PATH"), help=argparse.SUPPRESS)
    parser.add_argument("--generate", metavar="DIR", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], Path(args.child[1]))
        return
    if args.generate:
        generate(Path(args.generate), args.mb, args.json5_mb)
        return
    with tempfile.TemporaryDirectory() as tmp:
        base = args.dir or Path(tmp)
        base.mkdir(parents=True, exist_ok=True)
        # Generated in a child: a child's peak RSS starts from its parent's (Linux keeps
        # ru_maxrss across fork and exec), so this process must stay small.
        subprocess.run(
            [
                sys.executable,
                __file__,
                "--generate",
                str(base),
                "--mb",
                str(args.mb),
                "--json5-mb",
                str(args.json5_mb),
            ],
            check=True,
        )
        strict = base / "big.sizebudget.json"
        five = base / "big.sizebudget.json5"
        five_as_json = base / "big5.json"
        rows: list[tuple[str, Path, str]] = [
            ("strict JSON", strict, "load"),
            ("strict JSON", strict, "json"),
            ("JSON5", five, "load"),
            ("JSON5 (the same budgets as strict JSON)", five_as_json, "json"),
        ]
        if args.alternatives:
            rows.append(("JSON5", five, "json5-package"))
        if args.json_five:
            os.environ["JSON_FIVE_DIR"] = str(args.json_five.absolute())
            rows.append(("JSON5", five, "json-five"))
        print(f"python {sys.version.split()[0]}, {args.runs} run(s) per row, median")
        print(
            f"{'file':42} {'MB':>7} {'method':14} {'seconds':>16} {'cpu s':>6} {'s/MB':>7} "
            f"{'rss before':>11} {'peak rss':>9}"
        )
        for label, path, method in rows:
            mb = path.stat().st_size / 1e6
            try:
                m = measure(method, path, args.runs)
            except subprocess.CalledProcessError as exc:
                print(f"{label:42} {mb:7.2f} {method:14} failed: {exc.stderr.strip()[-200:]}")
                continue
            spread = f"{m['seconds']:.2f} ({m['min']:.2f}-{m['max']:.2f})"
            print(
                f"{label:42} {mb:7.2f} {method:14} {spread:>16} {m['cpu']:6.2f} "
                f"{m['seconds'] / mb:7.3f} "
                f"{m['rss_before_mib']:8.0f} MiB {m['rss_peak_mib']:5.0f} MiB"
            )


if __name__ == "__main__":
    main()
