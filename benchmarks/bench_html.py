"""The HTML report of a large product: how big the file is and how long it takes to write.

    python benchmarks/bench_html.py [--packages 1000] [--blobs 50000] [--out report.html]

Makes one package-set budget over ``--packages`` packages holding ``--blobs`` blobs
between them (sizes spread over five orders of magnitude, some blobs shared), plus a few
small budgets that fail or warn, and renders the page.  The browser side (load and draw
time in Chromium) is measured by tests/integration/test_html_browser.py, which uses the
same product (``tests/integration/big_product.py``).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pytest_sizebudget.kinds.builtin import builtin_kinds
from pytest_sizebudget.report.html import render_html
from tests.integration.big_product import big_results


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--packages", type=int, default=1000)
    ap.add_argument("--blobs", type=int, default=50_000)
    ap.add_argument("--out", type=Path, default=Path("report.html"))
    args = ap.parse_args()
    t = time.perf_counter()
    results = big_results(args.packages, args.blobs)
    made = time.perf_counter() - t
    t = time.perf_counter()
    page = render_html(results, [], {"name": "pytest-sizebudget"}, kinds=builtin_kinds())
    rendered = time.perf_counter() - t
    args.out.write_text(page, encoding="utf-8")
    print(
        f"{args.packages} packages, {args.blobs} blobs: results made in {made:.2f} s, "
        f"page rendered in {rendered:.2f} s, {len(page.encode()) / 1e6:.1f} MB -> {args.out}"
    )


if __name__ == "__main__":
    main()
