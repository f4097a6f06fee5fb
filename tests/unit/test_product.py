"""Product and update budgets without pytest: the rules, hand-computed numbers, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_sizebudget.budget.parse import load_budget_file
from pytest_sizebudget.errors import BudgetFileError
from pytest_sizebudget.evaluate import BudgetEvaluator
from pytest_sizebudget.kinds.builtin import builtin_kinds
from pytest_sizebudget.kinds.product import ProductBudget
from pytest_sizebudget.kinds.update import UpdateBudget, UpdateDetails
from pytest_sizebudget.measure import BlobRequest, MeasurementEngine
from pytest_sizebudget.measure.merkle import merkle_root
from pytest_sizebudget.measure.sizer import EngineSizer, SizeRequest
from pytest_sizebudget.packages.blob_sizes import BlobSizeStore
from pytest_sizebudget.packages.model import BlobEntry, Package
from pytest_sizebudget.report.model import BudgetResult
from pytest_sizebudget.systems import account_product, account_update
from tests.conftest import Product, fake_merkle

X, L = fake_merkle("X"), fake_merkle("L")


def render_failure(result: BudgetResult, top_n: int = 10) -> str:
    return builtin_kinds().failure_text(result, top_n)


def update_details(result: BudgetResult) -> UpdateDetails:
    assert isinstance(result.details, UpdateDetails)
    return result.details


def pkg(name: str, *blobs: tuple[str, str]) -> Package:
    return Package(name, f"{name}.json", "manifest", tuple(BlobEntry(m, p) for p, m in blobs))


def test_product_total_is_over_distinct_merkles_and_psize_per_reference() -> None:
    packages = [
        pkg("p1", ("bin/x", X), ("lib/l", L)),
        pkg("p2", ("x", X), ("y", X)),  # the same blob at two paths: two references
        pkg("p3", ("lib/l", L)),
    ]
    usage = account_product(packages, {X: 159, L: 8192})
    # X has 3 (package, path) references, L has 2; each merkle is counted once in the total.
    assert usage.total_bytes == 159 + 8192 == 8351
    assert (usage.distinct_blobs, usage.references) == (2, 5)
    by_name = {p.name: p for p in usage.packages}
    # used = full sizes; psize = sum of size // references.
    assert by_name["p1"].used_space_in_blobfs == 159 + 8192
    assert by_name["p1"].proportional_size == 159 // 3 + 8192 // 2 == 53 + 4096
    assert by_name["p2"].used_space_in_blobfs == 159 + 159
    assert by_name["p2"].proportional_size == 53 + 53
    assert by_name["p3"].used_space_in_blobfs == 8192
    assert by_name["p3"].proportional_size == 4096
    assert [b.share_count for b in by_name["p2"].blobs] == [3, 3]


def test_product_psize_rounds_down() -> None:
    usage = account_product([pkg("a", ("x", X)), pkg("b", ("x", X))], {X: 9})
    assert usage.total_bytes == 9
    assert [p.proportional_size for p in usage.packages] == [4, 4]  # 9 // 2, twice


# The update scenario.  On-disk sizes (blobs.json "size") and stored sizes
# (blobs.json "compressed_file_size") of each blob:
M0, M1, N0 = fake_merkle("M0"), fake_merkle("M1"), fake_merkle("N0")
A1, A2, D, D2, U = (fake_merkle(s) for s in ("A1", "A2", "D", "D2", "U"))
ON_DISK = {
    M0: 8192,
    L: 16384,
    A1: 24576,
    N0: 8192,
    D: 40960,
    M1: 8192,
    A2: 32768,
    D2: 49152,
    U: 16384,
}
STORED = {M1: 3000, A2: 20000, D2: 45000, U: 5000}
FROM = {M0, L, A1, N0, D}  # system: meta M0, lib L, bin A1; app: meta N0, lib L, data D
TO = {M1, L, A2, N0, D2}  # system: meta M1, bin A2 (new); app: data D2 (new)
UPDATE_PACKAGE = {U, A2}  # the update package carries U and A2 (A2 is also in "to")


def test_update_download_and_peak_match_hand_computed_values() -> None:
    usage = account_update(FROM, TO, UPDATE_PACKAGE, ON_DISK, STORED, slots=1)
    # disk(from) = 8192 + 16384 + 24576 + 8192 + 40960 = 98304
    assert usage.from_bytes == 98304
    # disk(to) = 8192 + 16384 + 32768 + 8192 + 49152 = 114688
    assert usage.to_bytes == 114688
    # disk(from ∪ to) = 98304 + M1 8192 + A2 32768 + D2 49152 = 188416
    assert usage.union_bytes == 188416
    # update package: U 16384 + A2 32768 = 49152, of which only U is in neither system
    assert usage.update_package_bytes == 49152
    assert usage.update_package_extra_bytes == 16384
    # peak = max(188416, 1 × 114688) + 16384 = 204800
    assert usage.peak_bytes == 204800
    # new blobs = (to ∪ update package) − from = {M1, A2, D2, U}
    # download = 3000 + 20000 + 45000 + 5000 = 73000 (stored sizes, not on-disk)
    assert usage.download_bytes == 73000
    saves = {b.merkle: b.saves_peak for b in usage.new_blobs}
    # Without D2: max(188416 − 49152, 114688 − 49152) + 16384 = 155648 → saves 49152.
    # Without U: 188416 + 0 → saves 16384.  Without A2 (in to and in the update package):
    # max(188416 − 32768, 81920) + 16384 = 172032 → saves 32768.  Without M1: saves 8192.
    assert saves == {D2: 49152, U: 16384, A2: 32768, M1: 8192}
    assert [b.merkle for b in usage.new_blobs] == [D2, A2, U, M1]  # largest on disk first


def test_two_slots_reserve_the_to_system_twice() -> None:
    usage = account_update(FROM, TO, UPDATE_PACKAGE, ON_DISK, STORED, slots=2)
    # peak = max(188416, 2 × 114688 = 229376) + 16384 = 245760
    assert usage.peak_bytes == 245760
    saves = {b.merkle: b.saves_peak for b in usage.new_blobs}
    # Without D2: max(139264, 2 × 65536 = 131072) + 16384 = 155648 → saves 90112
    # (more than D2's size: both the doubled "to" and the union shrink).
    assert saves[D2] == 90112
    assert usage.download_bytes == 73000  # slots change the space, not what travels


def test_update_without_stored_sizes_has_no_download_number() -> None:
    usage = account_update(FROM, TO, set(), ON_DISK, {M1: 1}, slots=1)
    assert usage.download_bytes is None
    assert usage.peak_bytes == 188416


def write_json(path: Path, value: object) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value, indent=2))
    return path.name


def scenario(product: Product) -> None:
    """FROM/TO/UPDATE_PACKAGE above as manifests plus one blobs.json with both sizes."""
    product.manifest("system", [("meta/", M0), ("lib/l", L), ("bin/a", A1)], filename="v1/sys.json")
    product.manifest("app", [("meta/", N0), ("lib/l", L), ("data/d", D)], filename="v1/app.json")
    product.manifest("system", [("meta/", M1), ("lib/l", L), ("bin/a", A2)], filename="v2/sys.json")
    product.manifest("app", [("meta/", N0), ("lib/l", L), ("data/d", D2)], filename="v2/app.json")
    product.manifest("update", [("meta/", U), ("bin/a", A2)], filename="v2/update.json")
    blobs = [
        {"merkle": m, "size": s, **({"compressed_file_size": STORED[m]} if m in STORED else {})}
        for m, s in ON_DISK.items()
    ]
    write_json(product.root / "blobs.json", blobs)


def evaluate(product: Product, budgets: dict[str, object]) -> dict[str, BudgetResult]:
    bf = load_budget_file(product.budget_file(budgets), display="size.json5")
    ev = BudgetEvaluator(BlobSizeStore(), display_root=product.root)
    return {r.name: r for r in ev.evaluate(bf).results.values()}


def test_update_budget_from_manifests(product: Product) -> None:
    scenario(product)
    results = evaluate(
        product,
        {
            "blob_sizes": "blobs.json",
            "update_budgets": [
                {
                    "name": "OTA",
                    "capacity_bytes": 204800,
                    "download_budget_bytes": 73000,
                    # The blobs are not on disk: count the stored sizes blobs.json states.
                    "download_size": "stored",
                    "from": {"packages": ["v1/sys.json", "v1/app.json"]},
                    "to": {"packages": ["v2/sys.json", "v2/app.json"]},
                    "update_package": "v2/update.json",
                },
                {
                    "name": "OTA A/B",
                    "capacity_bytes": 204800,
                    "download_budget_bytes": 72999,
                    "download_size": "stored",
                    "slots": 2,
                    "from": {"packages": ["v1/sys.json", "v1/app.json"]},
                    "to": {"packages": ["v2/sys.json", "v2/app.json"]},
                    "update_package": "v2/update.json",
                },
            ],
        },
    )
    ota = results["OTA"]
    assert ota.error is None
    assert ota.passed  # 204800 <= 204800 and 73000 <= 73000
    details = update_details(ota)
    assert (ota.used_bytes, details.peak_bytes, details.download_bytes) == (
        204800,
        204800,
        73000,
    )
    assert {p.name: p.used_space_in_blobfs for p in ota.packages} == {
        "system": 8192 + 16384 + 32768,
        "app": 8192 + 16384 + 49152,
    }
    ab = results["OTA A/B"]
    assert not ab.passed
    assert update_details(ab).failed_checks == ("peak_bytes", "download_bytes")
    text = render_failure(ab)
    assert "peak_bytes over capacity_bytes by 40,960 B" in text
    assert "download_bytes over download_budget_bytes by 1 B" in text
    assert "max(disk(from ∪ to) 188,416 B, 2 × disk(to) 114,688 B)" in text
    first = text.split("SAVES DOWNLOAD")[1].splitlines()[1]
    assert first.split()[:2] == ["app:", "data/d"]
    assert "90,112 B" in first  # what removing D2 saves in the peak
    assert ab.to_dict()["peak_bytes"] == 245760


def images_json(product: Product, rel: str, packages: dict[str, list[tuple[str, str]]]) -> str:
    base = [
        {
            "name": name,
            "manifest": f"obj/{name}/package_manifest.json",
            "blobs": [
                {"path": p, "merkle": m, "used_space_in_blobfs": ON_DISK[m]} for p, m in blobs
            ],
        }
        for name, blobs in packages.items()
    ]
    images = [
        {"type": "zbi", "name": "zircon-a", "path": "fuchsia.zbi"},
        {
            "type": "blk",
            "name": "blob",
            "path": "blob.blk",
            "contents": {"packages": {"base": base[:1], "cache": base[1:]}},
        },
    ]
    write_json(product.root / rel, images if "v1" in rel else {"images": images})
    return rel


def test_product_budget_from_images_manifests_both_forms(product: Product) -> None:
    v1 = images_json(
        product,
        "v1/images.json",  # the older top-level list
        {"system": [("meta/", M0), ("lib/l", L)], "app": [("meta/", N0), ("lib/l", L)]},
    )
    v2 = images_json(
        product,
        "v2/assembled_system.json",  # wrapped in an object with "images"
        {"system": [("meta/", M1), ("lib/l", L)], "app": [("meta/", N0), ("data/d", D2)]},
    )
    results = evaluate(
        product,
        {
            "product_budgets": [
                {"name": "v1", "max_contents_bytes": 32768, "images_manifest": v1},
                {"name": "v2", "max_contents_bytes": 81919, "images_manifest": v2},
            ]
        },
    )
    # v1: distinct M0 8192 + L 16384 + N0 8192 = 32768; L is shared by two packages.
    assert results["v1"].used_bytes == 32768
    assert results["v1"].passed
    assert [p.proportional_size for p in results["v1"].packages] == [16384, 16384]
    # v2: M1 8192 + L 16384 + N0 8192 + D2 49152 = 81920 > 81919
    assert results["v2"].used_bytes == 81920
    assert not results["v2"].passed
    text = render_failure(results["v2"])
    assert text.startswith("Product 'v2' is over budget by 1 B")
    assert "data/d" in text


def test_update_from_a_json_report_gives_no_download_without_stored_sizes(
    product: Product,
) -> None:
    scenario(product)
    report = {
        "budgets": [
            {
                "name": "everything",
                "kind": "product",
                "packages": [
                    {
                        "name": "system",
                        "manifest": "x",
                        "blobs": [{"merkle": m, "path": str(i), "size": ON_DISK[m]}],
                    }
                    for i, m in enumerate(sorted(TO))
                ],
            }
        ]
    }
    write_json(product.root / "v2/report.json", report)
    budget: dict[str, object] = {
        "name": "OTA",
        "capacity_bytes": "1 MiB",
        "download_size": "stored",
        "from": {"packages": ["v1/sys.json", "v1/app.json"]},
        "to": {"report": "v2/report.json"},
    }
    # blobs.json without compressed_file_size: no stored size for the new blobs anywhere.
    write_json(product.root / "plain.json", [{"merkle": m, "size": s} for m, s in ON_DISK.items()])
    results = evaluate(product, {"blob_sizes": "plain.json", "update_budgets": [budget]})
    ota = results["OTA"]
    assert ota.passed  # no download budget: the peak decides, the download is unknown
    details = update_details(ota)
    assert details.peak_bytes == 188416
    assert details.download_bytes is None
    assert "only its on-disk size is known" in (details.download_unknown or "")
    budget["download_budget_bytes"] = "1 MiB"
    failed = evaluate(product, {"blob_sizes": "plain.json", "update_budgets": [budget]})["OTA"]
    assert failed.error is not None
    assert "3 blobs of update 'OTA' have no known download size" in failed.error
    # With compressed_file_size in blobs.json the report suffices.
    ok = evaluate(product, {"blob_sizes": "blobs.json", "update_budgets": [budget]})["OTA"]
    assert ok.error is None
    assert update_details(ok).download_bytes == 3000 + 20000 + 45000
    # Delivery blobs (the default) are measured from the bytes, which a report lacks.
    del budget["download_size"]
    dl = evaluate(product, {"blob_sizes": "blobs.json", "update_budgets": [budget]})["OTA"]
    assert dl.error is not None
    assert "a delivery-blob size is measured from the blob's bytes" in dl.error
    assert 'download_size: "stored"' in dl.error


def test_unreadable_from_and_to_are_clear_errors(product: Product) -> None:
    scenario(product)
    write_json(product.root / "bad.json", {"no": "budgets"})
    results = evaluate(
        product,
        {
            "update_budgets": [
                {
                    "name": "missing",
                    "capacity_bytes": 1,
                    "from": {"images_manifest": "nope/images.json"},
                    "to": {"packages": ["v2/sys.json"]},
                },
                {
                    "name": "not a report",
                    "capacity_bytes": 1,
                    "from": {"packages": ["v1/sys.json"]},
                    "to": {"report": "bad.json"},
                },
                {
                    "name": "no such budget",
                    "capacity_bytes": 1,
                    "from": {"packages": ["v1/sys.json"]},
                    "to": {"report": "bad.json", "budgets": ["x"]},
                },
            ]
        },
    )
    assert results["missing"].error == (
        "update_budgets[0].from.images_manifest: nope/images.json: does not exist"
    )
    assert results["not a report"].error == (
        "update_budgets[1].to.report: bad.json: not a pytest-sizebudget JSON report "
        "(no 'budgets' list)"
    )
    assert results["no such budget"].error is not None


def test_images_manifest_without_packages_is_an_error(product: Product) -> None:
    write_json(product.root / "images.json", [{"type": "zbi", "name": "zircon-a", "path": "z"}])
    results = evaluate(
        product,
        {
            "product_budgets": [
                {"name": "p", "max_contents_bytes": 1, "images_manifest": "images.json"}
            ]
        },
    )
    assert results["p"].error == (
        "product_budgets[0].images_manifest: images.json: no blobfs or fxfs image with "
        "contents.packages among its 1 image(s)"
    )


def test_sizes_are_measured_when_no_blobs_json_covers_them(tmp_path: Path) -> None:
    """No blobs.json: on-disk and stored sizes come from the measurement engine."""
    old, new = b"a" * 5000, b"compressible " * 20000  # 260000 bytes, zstd shrinks it
    blobs = {"old": old, "new": new}
    for name, data in blobs.items():
        (tmp_path / name).write_bytes(data)
    for release, files in (("v1", ["old"]), ("v2", ["old", "new"])):
        manifest = {
            "version": "1",
            "package": {"name": "p", "version": "0"},
            "blobs": [
                {
                    "source_path": f,
                    "path": f,
                    "merkle": merkle_root(blobs[f]),
                    "size": len(blobs[f]),
                }
                for f in files
            ],
        }
        write_json(tmp_path / f"{release}.json", manifest)
    budget = {
        "update_budgets": [
            {
                "name": "u",
                "capacity_bytes": "1 MiB",
                "download_budget_bytes": "1 MiB",
                "from": {"packages": ["v1.json"]},
                "to": {"packages": ["v2.json"]},
            }
        ],
        "product_budgets": [{"name": "p", "max_contents_bytes": "1 MiB", "packages": ["v2.json"]}],
    }
    results = evaluate(Product(tmp_path), budget)
    engine = MeasurementEngine("compact")
    got = engine.measure(
        [BlobRequest(tmp_path / f, merkle_root(d)) for f, d in blobs.items()], delivery=True
    )
    old_m, new_m = (got[r] for r in got)
    assert not isinstance(old_m, Exception)
    assert not isinstance(new_m, Exception)
    assert new_m.compressed_bytes is not None  # kept compressed: download < file size
    u = results["u"]
    assert u.error is None
    # The delivery blob: its header, and the archive's frames with their checksums.
    assert new_m.delivery_bytes is not None
    assert update_details(u).download_bytes == new_m.delivery_bytes < len(new)
    assert new_m.delivery_bytes == 28 + new_m.stored_data_bytes + 4 * -(-len(new) // 32768)
    assert u.parameters["download_size"] == "delivery_blob"
    stored = dict(budget["update_budgets"][0], download_size="stored")  # type: ignore[index]
    old_meaning = evaluate(Product(tmp_path), {"update_budgets": [stored]})["u"]
    assert update_details(old_meaning).download_bytes == new_m.stored_data_bytes
    assert update_details(u).peak_bytes == old_m.size_on_disk + new_m.size_on_disk
    assert results["p"].used_bytes == old_m.size_on_disk + new_m.size_on_disk


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (
            {"name": "u", "capacity_bytes": 1, "to": {"packages": ["a"]}},
            "update_budgets[0]: missing required key 'from'",
        ),
        (
            {"name": "u", "capacity_bytes": 1, "from": {}, "to": {"packages": ["a"]}},
            "update_budgets[0].from: needs exactly one of 'packages', 'images_manifest', "
            "'report'; got none",
        ),
        (
            {
                "name": "u",
                "capacity_bytes": 1,
                "slots": 0,
                "from": {"packages": ["a"]},
                "to": {"packages": ["a"]},
            },
            "update_budgets[0].slots: expected a positive integer (1, or 2 for A/B), got 0",
        ),
        (
            {
                "name": "u",
                "capacity_bytes": 1,
                "from": {"packages": ["a"], "budgets": ["x"]},
                "to": {"packages": ["a"]},
            },
            "update_budgets[0].from.budgets: only applies to a 'report'",
        ),
    ],
)
def test_update_entry_errors(tmp_path: Path, entry: dict[str, object], message: str) -> None:
    path = tmp_path / "b.json5"
    path.write_text(json.dumps({"update_budgets": [entry]}))
    with pytest.raises(BudgetFileError) as info:
        load_budget_file(path, display="b.json5")
    assert message in str(info.value)


def test_product_entry_parses_with_budget_and_inputs(tmp_path: Path) -> None:
    path = tmp_path / "b.json5"
    path.write_text(
        "{product_budgets: [{name: 'p', max_contents_bytes: '2 MiB', creep_budget_bytes: 5,"
        " owner: 'o', packages: ['a.json', 'dir']}],"
        " update_budgets: [{name: 'u', capacity_bytes: 10, from: {report: 'r.json',"
        " budgets: ['p']}, to: {images_manifest: 'i.json', blob_sizes: 'b2.json'}}]}"
    )
    bf = load_budget_file(path)
    product, update = bf.budgets
    assert isinstance(product, ProductBudget)
    assert isinstance(update, UpdateBudget)
    assert (product.budget_bytes, product.creep_budget_bytes, product.owner) == (2 << 20, 5, "o")
    assert [f.raw for f in product.system.files] == ["a.json", "dir"]
    assert (update.source.form, update.source.budgets) == ("report", ("p",))
    assert update.target.form == "images_manifest"
    assert [f.raw for f in update.target.blob_sizes] == ["b2.json"]
    assert update.slots == 1
    assert update.download_budget_bytes is None


def test_sizes_stated_twice_differently_are_an_error(product: Product) -> None:
    v1 = images_json(product, "v1/images.json", {"system": [("meta/", M0)]})
    write_json(product.root / "blobs.json", [{"merkle": M0, "size": 16384}])
    results = evaluate(
        product,
        {
            "blob_sizes": "blobs.json",
            "product_budgets": [{"name": "p", "max_contents_bytes": 1, "images_manifest": v1}],
        },
    )
    assert results["p"].error == (
        f"blob {M0} is 8192 bytes on disk in images manifest v1/images.json but 16384 in "
        "blobs.json[0] (different blobfs layouts?)"
    )


def test_product_measurements_share_the_sizers_cache(tmp_path: Path) -> None:
    """Product budgets measure through the evaluator's sizer, so its cache serves them."""
    data = b"x" * 10
    (tmp_path / "f").write_bytes(data)
    merkle = merkle_root(data)
    manifest = {
        "version": "1",
        "package": {"name": "p", "version": "0"},
        "blobs": [{"source_path": "f", "path": "f", "merkle": merkle, "size": len(data)}],
    }
    write_json(tmp_path / "p.json", manifest)
    bf = load_budget_file(
        Product(tmp_path).budget_file(
            {"product_budgets": [{"name": "p", "max_contents_bytes": 8192, "packages": ["p.json"]}]}
        ),
        display="size.json5",
    )
    sizer = EngineSizer(tmp_path / "cache", threads=1)
    (result,) = BudgetEvaluator(BlobSizeStore(), sizer).evaluate(bf).results.values()
    assert result.used_bytes == 8192
    assert sizer.stats.files_measured == 1
    # The product's measurement is in the sizer's cache: a package-set request hits it.
    assert sizer.size_blobs([SizeRequest(merkle, tmp_path / "f", len(data))], "compact") == {
        merkle: 8192
    }
    # (Measured earlier in this run: reused, not a cache hit.)
    assert (sizer.stats.files_measured, sizer.stats.reused, sizer.stats.cache_hits) == (1, 1, 0)
    # And another sizer over the same cache directory measures nothing again.
    warm = EngineSizer(tmp_path / "cache", threads=1)
    (again,) = BudgetEvaluator(BlobSizeStore(), warm).evaluate(bf).results.values()
    assert again == result
    assert warm.stats.files_measured == 0
