"""The ``sizebudget`` fixture: size checks inside ordinary test functions."""

from __future__ import annotations

import pytest

from tests.conftest import Product, fake_merkle

A, B, X = fake_merkle("A"), fake_merkle("B"), fake_merkle("X")


def product(p: Product) -> None:
    p.manifest("one", [("bin/one", A), ("lib/x.so", X)], filename="one.json")
    p.manifest("two", [("bin/two", B), ("lib/x.so", X)], filename="two.json")
    p.blobs_json({A: 30_000, B: 10_000, X: 8_000})


def test_usage_compares_with_ints_and_size_strings(
    pytester: pytest.Pytester, pt_product: Product
) -> None:
    product(pt_product)
    pytester.makepyfile(
        test_sizes="""
        def test_one(sizebudget):
            usage = sizebudget.package_set(["one.json"], blob_sizes="blobs.json")
            assert usage == 38_000
            assert usage <= "40 KiB" and usage < 40_000 and usage > "37 KiB" and usage >= 38_000
            assert int(usage) == usage.used_bytes == 38_000

        def test_shared_blob_is_split(sizebudget):
            both = sizebudget.package_set(["one.json", "two.json"], blob_sizes=["blobs.json"])
            assert both == 48_000
            per_set = sizebudget.package_set(["one.json"], blob_sizes="blobs.json", sharing="per_set")
            assert per_set == 38_000

        def test_image(sizebudget, tmp_path):
            (tmp_path / "raw.img").write_bytes(b"x" * 8192)
            sizes = sizebudget.image(tmp_path / "raw.img")
            assert (sizes.expanded_bytes, sizes.file_bytes) == (8192, 8192)
        """
    )
    result = pytester.runpytest("-p", "no:xdist")
    result.assert_outcomes(passed=3)


def test_failing_comparison_shows_the_breakdown(
    pytester: pytest.Pytester, pt_product: Product
) -> None:
    product(pt_product)
    pytester.makepyfile(
        test_sizes="""
        def test_both(sizebudget):
            assert sizebudget.package_set(["one.json", "two.json"], blob_sizes="blobs.json") <= "40 KiB"
        """
    )
    # pytest shortens long explanations unless -vv (or $CI) is given.
    result = pytester.runpytest("-p", "no:xdist", "-vv")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "E       AssertionError: assert package set of 2 packages uses 48,000 B (46.88 KiB), "
            "limit '40 KiB' is 40,960 B (40.00 KiB)",
            "E         over by 7,040 B (6.88 KiB)",
            "E         Largest packages (2 of 2):",
            "E           PACKAGE / BLOB * SIZE * SHARED BY * CHARGED",
            "E           one  (one.json) * 38,000 B * 34,000 B",
            "E             bin/one  ?414141414141? * 30,000 B * 1 * 30,000 B",
            "E             lib/x.so  ?585858585858? * 8,000 B * ?2 * 4,000 B",
            "E           two  (two.json) * 18,000 B * 14,000 B",
            "*",
            "E         accounting: blobfs_layout: compact, sharing: per_set",
        ]
    )


def test_unsized_blob_is_an_error_not_a_number(
    pytester: pytest.Pytester, pt_product: Product
) -> None:
    product(pt_product)
    pytester.makepyfile(
        test_sizes="""
        import pytest
        from pytest_sizebudget.api import UsageError

        def test_missing(sizebudget):
            with pytest.raises(UsageError, match="no known size"):
                sizebudget.package_set(["one.json"])
        """
    )
    pytester.runpytest("-p", "no:xdist").assert_outcomes(passed=1)


def test_image_limit_and_cap(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_sizes="""
        import pytest
        import zstandard

        from pytest_sizebudget.errors import InputError
        from pytest_sizebudget.images import limits

        def test_limit_stops_a_bomb(sizebudget, tmp_path):
            (tmp_path / "bomb.zst").write_bytes(zstandard.ZstdCompressor().compress(bytes(8 << 20)))
            sizes = sizebudget.image(tmp_path / "bomb.zst", limit="1 MiB")
            assert sizes.expanded_bytes == (1 << 20) + 1
            assert sizes.details["expanded_at_least"] is True

        def test_cap_without_a_limit(sizebudget, tmp_path, monkeypatch):
            monkeypatch.setattr(limits, "MAX_EXPANDED_BYTES", 1 << 20)
            (tmp_path / "bomb.zst").write_bytes(zstandard.ZstdCompressor().compress(bytes(8 << 20)))
            with pytest.raises(InputError, match="MAX_EXPANDED_BYTES"):
                sizebudget.image(tmp_path / "bomb.zst")
        """
    )
    result = pytester.runpytest("-p", "no:xdist")
    result.assert_outcomes(passed=2)
