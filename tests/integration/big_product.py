"""A large product's results, made without measuring anything: 1,000 packages and 50,000
blobs for the HTML report's browser test and for benchmarks/bench_html.py."""

from __future__ import annotations

import hashlib
import random

from pytest_sizebudget.accounting import BlobCharge, PackageCharge
from pytest_sizebudget.kinds.builtin import builtin_kinds
from pytest_sizebudget.report.model import BudgetResult


def big_results(packages: int = 1000, blobs: int = 50_000, seed: int = 1) -> list[BudgetResult]:
    """A package set of ``packages`` packages and ``blobs`` blobs, and three small budgets
    (over, warn, ok) so that the page has something to put first."""
    rng = random.Random(seed)
    per = [blobs // packages + (1 if i < blobs % packages else 0) for i in range(packages)]
    # Packages differ in size by orders of magnitude, as in a real product.
    scale = [10 ** rng.uniform(0, 2.5) for _ in range(packages)]
    charges = []
    n = 0
    for i, count in enumerate(per):
        name = f"pkg-{i:04d}-" + rng.choice(["netstack", "fonts", "media", "ui", "driver"])
        out = []
        for j in range(count):
            size = int(scale[i] * 10 ** rng.uniform(1, 4.5))
            share = 1 if rng.random() < 0.9 else rng.randint(2, 5)
            merkle = hashlib.sha256(f"{n}".encode()).hexdigest()
            n += 1
            out.append(
                BlobCharge(merkle, f"lib/part{j:03d}/blob-{n}.so", size, share, size // share)
            )
        used = sum(b.charged_bytes for b in out)
        charges.append(
            PackageCharge(name, f"obj/{name}/package_manifest.json", used, used, tuple(out))
        )
    used = sum(p.proportional_size for p in charges)
    product = BudgetResult(
        name="System",
        kind="package_set",
        file="product.sizebudget.json5",
        line=3,
        key="package_set_budgets[0]",
        budget_bytes=used - 1000,
        used_bytes=used,
        packages=tuple(charges),
        parameters={"sharing": "global", "blobfs_layout": "compact"},
    )
    small = [
        BudgetResult(
            name=f"Budget {c}",
            kind="package_set",
            file="small.sizebudget.json5",
            line=10 + i,
            key=f"package_set_budgets[{i}]",
            budget_bytes=100_000,
            used_bytes=u,
            warn_at=90,
        )
        for i, (c, u) in enumerate([("ok", 50_000), ("warn", 95_000), ("zz over", 120_000)])
    ]
    kinds = builtin_kinds()
    return [kinds.with_warning(r) for r in (product, *small)]
