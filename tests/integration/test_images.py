"""Image budgets as users run them: ``pytest --sizebudget`` over real and hand-built images.

Android sparse images come from the real ``img2simg``/``simg2simg`` (checked against
``simg2img``); the tool-based tests skip only when the tools are missing.
"""

from __future__ import annotations

import bz2
import gzip
import json
import lzma
import shutil
import subprocess
from typing import Any

import pytest

from tests.conftest import Product
from tests.unit.images import sparse_builders as sb
from tests.unit.images.sparse_builders import make_raw, rand
from tests.unit.images.test_images_plain import expected_method

MIB = 1 << 20
WARNING = "pytest_sizebudget.plugin.SizeBudgetWarning"


def tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        pytest.skip(f"{name} not installed (apt-get install android-sdk-libsparse-utils)")
    return found


def budgets(product: Product, *entries: dict[str, Any]) -> None:
    product.budget_file({"image_budgets": list(entries)}, "images.sizebudget.json5")


def run(pytester: pytest.Pytester, *args: str) -> tuple[pytest.RunResult, dict[str, Any]]:
    result = pytester.runpytest("--sizebudget", "--sizebudget-json=r.json", *args)
    report = json.loads((pytester.path / "r.json").read_text())
    return result, {b["name"]: b for b in report["budgets"]}


def android_sparse_sample() -> bytes:
    """1 MiB expanded: 16 KiB RAW, 64 KiB zero FILL, the rest DONT_CARE (4 KiB blocks)."""
    return sb.android_sparse([sb.raw(4, 4096), sb.fill(16), sb.dont_care(236)])


@pytest.mark.parametrize("blk", [1024, 4096])
def test_android_sparse_from_img2simg(
    pytester: pytest.Pytester, pt_product: Product, blk: int
) -> None:
    img2simg, simg2img = tool("img2simg"), tool("simg2img")
    orig, simg, back = (pytester.path / n for n in ("system.img", "system.simg", "back.img"))
    make_raw(orig, 4 * MIB, [(MIB, rand(300_000, 1)), (3 * MIB, b"\xab" * 65536)])
    subprocess.run([img2simg, str(orig), str(simg), str(blk)], check=True)
    subprocess.run([simg2img, str(simg), str(back)], check=True)
    budgets(pt_product, {"name": "system", "image": "system.simg", "budget_bytes": "8 MiB"})
    result, report = run(pytester)
    result.assert_outcomes(passed=2)
    entry = report["system"]
    assert (entry["kind"], entry["passed"], entry["error"]) == ("image", True, None)
    image = entry["image"]
    assert image["format"] == "android_sparse"
    assert image["file_bytes"] == simg.stat().st_size
    assert image["expanded_bytes"] == back.stat().st_size == 4 * MIB
    assert entry["used_bytes"] == image["expanded_bytes"]
    assert image["details"]["block_size"] == blk
    assert image["details"]["total_blocks"] == 4 * MIB // blk
    assert image["reserve_bytes"] == 0
    assert entry["parameters"] == {"format": "auto", "images": ["system.simg"]}


def test_split_android_sparse_image(pytester: pytest.Pytester, pt_product: Product) -> None:
    img2simg, simg2simg, simg2img = tool("img2simg"), tool("simg2simg"), tool("simg2img")
    orig, simg = pytester.path / "vendor.img", pytester.path / "vendor.simg"
    make_raw(orig, 8 * MIB, [(0, rand(2 * MIB, 2)), (6 * MIB, rand(MIB, 3))])
    subprocess.run([img2simg, str(orig), str(simg)], check=True)
    subprocess.run([simg2simg, str(simg), str(pytester.path / "split.simg"), "1000000"], check=True)
    pieces = sorted(p.name for p in pytester.path.glob("split.simg.*"))
    assert len(pieces) > 1
    back = pytester.path / "back.img"
    subprocess.run([simg2img, *pieces, str(back)], check=True, cwd=pytester.path)
    budgets(
        pt_product,
        {"name": "vendor", "image": pieces, "budget_bytes": "8 MiB"},
        {"name": "vendor whole", "image": "vendor.simg", "budget_bytes": "8 MiB"},
    )
    result, report = run(pytester)
    result.assert_outcomes(passed=3)
    split, whole = report["vendor"]["image"], report["vendor whole"]["image"]
    # Every piece claims the whole partition; it is counted once.
    assert split["expanded_bytes"] == whole["expanded_bytes"] == back.stat().st_size == 8 * MIB
    assert split["data_bytes"] == whole["data_bytes"]
    assert split["details"]["pieces"] == len(pieces)
    assert split["file_bytes"] == sum((pytester.path / p).stat().st_size for p in pieces)
    assert report["vendor"]["parameters"]["images"] == pieces


def test_sparse_raw_and_fvm_images(pytester: pytest.Pytester, pt_product: Product) -> None:
    make_raw(pytester.path / "holes.img", 16 * MIB, [(MIB, rand(8192, 4)), (9 * MIB, b"x" * 100)])
    (pytester.path / "dense.img").write_bytes(rand(50_000, 5))
    parts = [
        sb.Partition("blobfs", (sb.Extent(0, 2, 40_000), sb.Extent(2, 1, 100))),
        sb.Partition("minfs", (sb.Extent(0, 1, 5000),)),
    ]
    (pytester.path / "fvm.sparse.blk").write_bytes(
        sb.fvm_image(parts, slice_size=32768, maximum_disk_size=4 * MIB)
    )
    budgets(
        pt_product,
        {"name": "holes", "image": "holes.img", "budget_bytes": "16 MiB"},
        {"name": "dense", "image": "dense.img", "budget_bytes": 50_000, "format": "raw"},
        {"name": "fvm", "image": "fvm.sparse.blk", "budget_bytes": "4 MiB", "format": "fvm_sparse"},
    )
    result, report = run(pytester)
    result.assert_outcomes(passed=4)
    holes = report["holes"]["image"]
    assert holes["format"] == "sparse_file"
    assert holes["file_bytes"] == holes["expanded_bytes"] == 16 * MIB
    assert 8192 + 100 <= holes["data_bytes"] < MIB
    # The JSON says how the holes were found: FIEMAP where the file system has it.
    assert holes["details"]["data_method"] in ("fiemap", "seek_data")
    assert holes["details"]["data_method"] == expected_method(pytester.path)
    dense = report["dense"]["image"]
    assert (dense["format"], dense["expanded_bytes"], dense["data_bytes"]) == (
        "raw",
        50_000,
        50_000,
    )
    fvm = report["fvm"]["image"]
    assert fvm["format"] == "fvm_sparse"
    assert (fvm["expanded_bytes"], fvm["data_bytes"]) == (4 * MIB, 45_100)
    assert fvm["details"]["partitions"] == 2
    assert fvm["details"]["slice_size"] == 32768


@pytest.mark.parametrize(
    ("suffix", "compress"),
    [(".gz", lambda b: gzip.compress(b, mtime=0)), (".xz", lzma.compress), (".bz2", bz2.compress)],
    ids=["gzip", "xz", "bzip2"],
)
def test_compressed_images(
    pytester: pytest.Pytester, pt_product: Product, suffix: str, compress: Any
) -> None:
    sparse = compress(android_sparse_sample())
    raw = compress(b"rootfs " * 100_000)
    (pytester.path / f"sparse.simg{suffix}").write_bytes(sparse)
    (pytester.path / f"rootfs.img{suffix}").write_bytes(raw)
    budgets(
        pt_product,
        {"name": "sparse", "image": f"sparse.simg{suffix}", "budget_bytes": "1 MiB"},
        {"name": "rootfs", "image": f"rootfs.img{suffix}", "budget_bytes": "1 MiB"},
    )
    result, report = run(pytester)
    result.assert_outcomes(passed=3)
    name = {".gz": "gzip", ".xz": "xz", ".bz2": "bzip2"}[suffix]
    s = report["sparse"]["image"]
    assert (s["format"], s["file_bytes"], s["expanded_bytes"]) == (
        "android_sparse",
        len(sparse),
        MIB,
    )
    assert s["data_bytes"] == 20 * 4096
    assert s["details"]["compression"] == name
    r = report["rootfs"]["image"]
    assert (r["format"], r["file_bytes"], r["expanded_bytes"]) == ("raw", len(raw), 700_000)
    assert r["details"]["compression"] == name


# This suite turns warnings into errors; the inner runs inherit that unless told otherwise.
@pytest.mark.filterwarnings(f"default::{WARNING}")
def test_warn_at_warns_but_passes(pytester: pytest.Pytester, pt_product: Product) -> None:
    (pytester.path / "boot.img").write_bytes(rand(96_000, 6))
    budgets(
        pt_product,
        {"name": "boot", "image": "boot.img", "budget_bytes": 100_000, "warn_at": 95},
        {"name": "quiet", "image": "boot.img", "budget_bytes": 200_000, "warn_at": 95},
    )
    result, report = run(pytester)
    result.assert_outcomes(passed=3, warnings=1)
    assert report["boot"]["passed"]
    result.stdout.fnmatch_lines(
        [
            "*images.sizebudget.json5:*: SizeBudgetWarning: Image budget 'boot' is at 96.0% "
            "of its budget, above warn_at 95%: used 96,000 B of 100,000 B*",
        ]
    )
    result.stdout.no_fnmatch_line("*'quiet' is at*")

    strict, _ = run(pytester, "-W", f"error::{WARNING}")
    strict.assert_outcomes(passed=2, failed=1)
    strict.stdout.fnmatch_lines(["*Image budget 'boot' is at 96.0% of its budget*"])
    strict.stdout.no_fnmatch_line("*Traceback*")


def test_reserve_bytes_push_an_image_over(pytester: pytest.Pytester, pt_product: Product) -> None:
    (pytester.path / "boot.img").write_bytes(rand(100_000, 7))
    budgets(
        pt_product,
        {"name": "boot", "image": "boot.img", "budget_bytes": 160_000, "reserve_bytes": 69632},
        {"name": "boot no avb", "image": "boot.img", "budget_bytes": 160_000},
    )
    result, report = run(
        pytester, "--sizebudget-gerrit=g.json", "--junitxml=j.xml", "-o", "junit_family=xunit1"
    )
    result.assert_outcomes(passed=2, failed=1)
    boot = report["boot"]
    assert (boot["used_bytes"], boot["reserve_bytes"], boot["passed"]) == (100_000, 69632, False)
    assert boot["image"]["reserve_bytes"] == 69632
    assert "reserve_bytes" not in report["boot no avb"]
    result.stdout.fnmatch_lines(
        [
            "Image budget 'boot' does not fit its partition: over by 9,632 B (9.41 KiB)",
            "  used          100,000 B (97.66 KiB)  (expanded size of the image)",
            "  reserve       69,632 B (68.00 KiB)  (must stay free in the partition)",
            "  used+reserve  169,632 B (165.66 KiB)",
            "  partition     160,000 B (156.25 KiB)  (budget_bytes)",
            "  over by       9,632 B (9.41 KiB)",
            "  format        raw",
            "  file bytes    100,000 B  (as stored)",
            "  expanded      100,000 B  (as written)",
            "  data bytes    100,000 B  (not holes)",
            "  details       *",
            "  image         boot.img",
            "  file          images.sizebudget.json5:* (image_budgets?0?)",
        ]
    )
    result.stdout.fnmatch_lines(
        [
            "boot *100,000*160,000*-9,632*106.0%  OVER",
            "boot no avb *100,000*160,000*+60,000*62.5%  ok",
        ]
    )
    gerrit = json.loads((pytester.path / "g.json").read_text())
    assert (gerrit["boot"], gerrit["boot.budget"]) == (100_000, 160_000 - 69632)
    assert (gerrit["boot no avb"], gerrit["boot no avb.budget"]) == (100_000, 160_000)
    junit = (pytester.path / "j.xml").read_text()
    assert 'name="sizebudget.reserve_bytes" value="69632"' in junit
    assert 'name="sizebudget.used_bytes" value="100000"' in junit


def test_over_budget_sparse_image_shows_its_details(
    pytester: pytest.Pytester, pt_product: Product
) -> None:
    (pytester.path / "s.simg").write_bytes(android_sparse_sample())
    budgets(pt_product, {"name": "s", "image": "s.simg", "budget_bytes": "512 KiB"})
    result, _ = run(pytester)
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "Image budget 's' does not fit its partition: over by 524,288 B (512.00 KiB)",
            "  format        android_sparse",
            "  details       block_size: 4096, total_blocks: 256, chunks: 3, raw_bytes: 16,384 B, "
            "fill_bytes: 65,536 B, dont_care_bytes: 966,656 B, crc32_chunks: 0",
        ]
    )


def test_corrupt_image_fails_alone_with_its_offset(
    pytester: pytest.Pytester, pt_product: Product
) -> None:
    good = android_sparse_sample()
    (pytester.path / "good.simg").write_bytes(good)
    (pytester.path / "bad.simg").write_bytes(good[:100])
    (pytester.path / "bad.img.gz").write_bytes(gzip.compress(rand(10_000, 8), mtime=0)[:-20])
    budgets(
        pt_product,
        {"name": "good", "image": "good.simg", "budget_bytes": "1 MiB"},
        {"name": "truncated", "image": "bad.simg", "budget_bytes": "1 MiB"},
        {"name": "broken gzip", "image": "bad.img.gz", "budget_bytes": "1 MiB"},
        {"name": "missing", "image": ["good.simg", "gone.simg"], "budget_bytes": "1 MiB"},
        {"name": "not sparse", "image": "good.simg", "budget_bytes": "1 MiB", "format": "raw"},
    )
    result, report = run(pytester)
    result.assert_outcomes(passed=2, failed=4)
    assert report["good"]["passed"]
    assert report["truncated"]["error"] == (
        "image_budgets[1].image: bad.simg: offset 40: truncated data of chunk 0 (RAW): "
        "needs 16384 bytes, only 60 remain"
    )
    assert report["truncated"]["image"] is None
    assert report["truncated"]["used_bytes"] is None
    assert report["broken gzip"]["error"].startswith("image_budgets[2].image: bad.img.gz")
    assert report["missing"]["error"] == "image_budgets[3].image[1]: gone.simg: does not exist"
    assert (
        "format 'raw' requested but the content is 'android_sparse'"
        in (report["not sparse"]["error"])
    )
    result.stdout.fnmatch_lines(
        [
            "Image budget 'truncated' could not be checked",
            "  file    images.sizebudget.json5:* (image_budgets?1?)",
            "",
            "image_budgets?1?.image: bad.simg: offset 40: truncated data of chunk 0*",
        ]
    )
    result.stdout.no_fnmatch_line("*Traceback*")
    result.stdout.no_fnmatch_line("*pytest_sizebudget/*")


def test_images_beside_package_sets(pytester: pytest.Pytester, pt_product: Product) -> None:
    """A broken blobs.json fails the package sets, not the images of the same file."""
    (pytester.path / "a.img").write_bytes(b"a" * 1000)
    m = pt_product.manifest("p", [("bin/p", "ab" * 32)])
    pt_product.budget_file(
        {
            "blob_sizes": ["nope.json"],
            "package_set_budgets": [{"name": "set", "budget_bytes": 1, "packages": [m]}],
            "image_budgets": [{"name": "img", "image": "a.img", "budget_bytes": 1000}],
        }
    )
    result, report = run(pytester)
    result.assert_outcomes(passed=2, failed=1)
    assert report["img"]["passed"]
    assert report["set"]["error"] is not None


def test_same_json_with_xdist(pytester: pytest.Pytester, pt_product: Product) -> None:
    (pytester.path / "s.simg").write_bytes(android_sparse_sample())
    (pytester.path / "s.simg.gz").write_bytes(gzip.compress(android_sparse_sample(), mtime=0))
    (pytester.path / "bad.simg").write_bytes(android_sparse_sample()[:50])
    make_raw(pytester.path / "holes.img", 4 * MIB, [(MIB, b"y" * 5000)])
    entries = [
        {
            "name": f"{n}-{i}",
            "image": img,
            "budget_bytes": f"{i + 1} MiB",
            "reserve_bytes": 4096 * i,
        }
        for i in range(4)
        for n, img in [
            ("s", "s.simg"),
            ("gz", "s.simg.gz"),
            ("bad", "bad.simg"),
            ("holes", "holes.img"),
        ]
    ]
    budgets(pt_product, *entries)
    base = pytester.runpytest("--sizebudget", "--sizebudget-json=base.json", "-p", "no:xdist")
    other = pytester.runpytest("--sizebudget", "--sizebudget-json=other.json", "-n", "2")
    assert base.parseoutcomes() == other.parseoutcomes()
    assert base.parseoutcomes()["passed"] > 0
    assert base.parseoutcomes()["failed"] > 0
    assert (pytester.path / "base.json").read_bytes() == (pytester.path / "other.json").read_bytes()


def test_decompression_bomb_stops_at_the_partition(
    pytester: pytest.Pytester, pt_product: Product
) -> None:
    import zstandard

    from pytest_sizebudget.images import measure_image

    zstd = zstandard.ZstdCompressor().compress
    # 64 MiB of zeros in about 2 KB, against a 1 MiB partition with a 4 KiB reserve: read
    # one byte past the room the partition leaves, and stop.
    (pytester.path / "bomb.img.zst").write_bytes(zstd(bytes(64 * MIB)))
    (pytester.path / "bomb.simg.zst").write_bytes(zstd(sb.android_sparse([sb.raw(4096, 4096, 0)])))
    (pytester.path / "fits.img.zst").write_bytes(zstd(b"rootfs " * 100_000))
    budgets(
        pt_product,
        {"name": "bomb", "image": "bomb.img.zst", "budget_bytes": "1 MiB", "reserve_bytes": 4096},
        {"name": "sparse bomb", "image": "bomb.simg.zst", "budget_bytes": "1 MiB"},
        {"name": "fits", "image": "fits.img.zst", "budget_bytes": "1 MiB"},
    )
    result, report = run(pytester, "--sizebudget-html=r.html")
    result.assert_outcomes(passed=2, failed=2)
    bomb = report["bomb"]
    room = MIB - 4096
    assert (bomb["used_bytes"], bomb["passed"], bomb["error"]) == (room + 1, False, None)
    assert bomb["image"]["expanded_bytes"] == bomb["image"]["data_bytes"] == room + 1
    assert bomb["image"]["details"] == {
        "compression": "zstd",
        "expanded_at_least": True,
        "stopped_early": True,
    }
    sparse = report["sparse bomb"]["image"]
    assert (sparse["expanded_bytes"], sparse["data_bytes"]) == (16 * MIB, 0)
    assert sparse["details"]["stopped_early"] is True
    assert "expanded_at_least" not in sparse["details"]
    # An image read to the end is reported exactly as without a limit.
    fits = report["fits"]["image"]
    assert fits == {
        **measure_image(pytester.path / "fits.img.zst").to_dict(),
        "reserve_bytes": 0,
    }
    result.stdout.fnmatch_lines(
        [
            "Image budget 'bomb' does not fit its partition: over by at least 1 B",
            "  used          at least 1,044,481 B (1020.00 KiB)  (expanded size of the image)",
            "  reserve       4,096 B (4.00 KiB)  (must stay free in the partition)",
            "  used+reserve  at least 1,048,577 B",
            "  partition     1,048,576 B  (budget_bytes)",
            "  over by       at least 1 B",
            "  format        raw",
            "  file bytes    * B  (as stored)",
            "  expanded      at least 1,044,481 B  (as written)",
            "  data bytes    at least 1,044,481 B  (not holes)",
            "  stopped       reading stopped early: the part of the compressed image read "
            "already shows it cannot fit",
            "  details       compression: zstd",
        ]
    )
    result.stdout.fnmatch_lines(
        [
            "Image budget 'sparse bomb' does not fit its partition: over by 15,728,640 B*",
            "  expanded      16,777,216 B  (as written)",
            "  data bytes    not counted (reading stopped early)",
            "  stopped       reading stopped early:*",
            "  details       compression: zstd, block_size: 4096, total_blocks: 4096, chunks: 1",
        ]
    )
    html = (pytester.path / "r.html").read_text()
    assert "at least 1,044,481 B" in html
