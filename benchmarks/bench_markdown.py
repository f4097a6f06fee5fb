#!/usr/bin/env python3
"""Benchmark: the Markdown and metrics reports of a large run.

Builds ``--budgets`` results (a quarter over budget, each of those with ``--packages``
packages of 5 blobs and 30 blob changes since the baseline; the rest matched with small
deltas) and renders the Markdown report at a comment's limit (65,536) and a job
summary's (1 MiB), and the GitLab metrics report.  Prints each one's size, what it kept
and its CPU time (best of ``--runs``); building the results is not timed.

Usage: PYTHONPATH=. python benchmarks/bench_markdown.py [--budgets 1000] [--packages 40]
       [--runs 3]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

from pytest_sizebudget.accounting import BlobCharge, PackageCharge
from pytest_sizebudget.kinds.builtin import builtin_kinds
from pytest_sizebudget.report.diff import BlobChange
from pytest_sizebudget.report.markdown import COMMENT_LIMIT, JOB_SUMMARY_LIMIT, render_markdown
from pytest_sizebudget.report.metrics import render_metrics
from pytest_sizebudget.report.model import BudgetResult


def results(n: int, packages: int) -> list[BudgetResult]:
    out = []
    for i in range(n):
        used = 1_000_000 + 7_919 * i
        over = i % 4 == 0
        pk: tuple[PackageCharge, ...] = ()
        diff: tuple[BlobChange, ...] = ()
        if over:
            pk = tuple(
                PackageCharge(
                    f"pkg{i}-{p}",
                    f"out/pkg{i}-{p}/package_manifest.json",
                    15_000,
                    15_000,
                    tuple(
                        BlobCharge(
                            f"{p:032x}{b:032x}", f"bin/b{b}", 1000 * (b + 1), 1, 1000 * (b + 1)
                        )
                        for b in range(5)
                    ),
                )
                for p in range(packages)
            )
            diff = tuple(
                BlobChange(
                    kind="added",
                    package=f"pkg{i}-{j}",
                    path=f"lib/l{j}.so",
                    new_merkle=f"{j:064x}",
                    new_size=4096 * j,
                    new_charged=4096 * j,
                )
                for j in range(30)
            )
        out.append(
            BudgetResult(
                name=f"budget {i:05d}",
                kind="package_set",
                file=f"dir{i % 20}/product.sizebudget.json5",
                line=i + 1,
                key=f"package_set_budgets[{i}]",
                budget_bytes=used - 10 if over else used + 100_000,
                creep_budget_bytes=10**9,
                used_bytes=used,
                packages=pk,
                baseline="matched",
                baseline_used_bytes=used - (i % 7) * 5_000,
                delta_bytes=(i % 7) * 5_000,
                diff=diff,
            )
        )
    return out


def best(runs: int, work: Callable[[], str]) -> tuple[float, str]:
    times, text = [], ""
    for _ in range(runs):
        start = time.process_time()
        text = work()
        times.append(time.process_time() - start)
    return min(times), text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budgets", type=int, default=1_000)
    parser.add_argument("--packages", type=int, default=40)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    rs = results(args.budgets, args.packages)
    kinds = builtin_kinds()
    print(f"{args.budgets:,} budgets, {sum(1 for r in rs if not r.passed):,} over")
    for label, limit in (("comment", COMMENT_LIMIT), ("job summary", JOB_SUMMARY_LIMIT)):
        cpu, text = best(
            args.runs,
            lambda limit=limit: render_markdown(  # type: ignore[misc]
                rs, baseline="base.json", breakdown=kinds.breakdown, limit=limit
            ),
        )
        print(
            f"markdown ({label}, limit {limit:,}): {len(text.encode()):,} bytes, "
            f"{text.count('<summary>Breakdown of'):,} breakdowns, "
            f"{text.count(chr(10) + '| `budget '):,} budget rows, {cpu:.2f} s CPU"
        )
    cpu, text = best(args.runs, lambda: render_metrics(rs))
    print(f"metrics: {len(text.encode()):,} bytes, {cpu:.3f} s CPU")


if __name__ == "__main__":
    main()
