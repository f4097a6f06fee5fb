"""Every accounting vector of reference fuchsia.md §1.4, plus the rules around them."""

from __future__ import annotations

from pytest_sizebudget.accounting import ResourceInput, SetInput, account
from pytest_sizebudget.packages.model import BlobEntry, Package
from tests.conftest import fake_merkle

A, B, C, X, M1, M2 = (fake_merkle(x) for x in ("A", "B", "C", "X", "M1", "M2"))


def pkg(name: str, *blobs: tuple[str, str]) -> Package:
    return Package(
        name, f"{name}/package_manifest.json", "manifest", tuple(BlobEntry(m, p) for p, m in blobs)
    )


def test_summing_one_package() -> None:
    sets = [SetInput("S", [pkg("p", ("a", A), ("b", B))])]
    (usage,), _ = account(sets, [], {A: 8, B: 32, C: 128})
    assert usage.used_bytes == 40
    assert usage.packages[0].proportional_size == 40
    assert usage.packages[0].used_space_in_blobfs == 40


def shared_sets() -> list[SetInput]:
    return [
        SetInput("Software Deliver", [pkg("p1", ("path/in/pkg-cache", X)), pkg("p2", ("x", X))]),
        SetInput("Connectivity", [pkg("p3", ("x", X))]),
    ]


def test_shared_across_budgets_global_sharing_splits_by_all_instances() -> None:
    (sd, conn), _ = account(shared_sets(), [], {X: 159}, "global")
    assert (sd.used_bytes, conn.used_bytes) == (106, 53)
    assert sd.packages[0].blobs[0].share_count == 3


def test_shared_across_budgets_per_set_sharing_matches_current_ffx() -> None:
    (sd, conn), _ = account(shared_sets(), [], {X: 159}, "per_set")
    assert (sd.used_bytes, conn.used_bytes) == (158, 159)  # one byte lost to rounding
    p1 = sd.packages[0]
    # ffx V4's verbose JSON for p1: proportional 79, used_space_in_blobfs 159, share 2.
    assert (p1.proportional_size, p1.used_space_in_blobfs) == (79, 159)
    assert p1.blobs[0].share_count == 2


def test_merge_dedupes_drops_meta_far_and_adds_fixed_meta_far() -> None:
    sets = [
        SetInput(
            "M",
            [pkg("p1", ("meta/", M1), ("a", A), ("b", B)), pkg("p2", ("meta/", M2), ("b", B))],
            merge=True,
        )
    ]
    (usage,), _ = account(sets, [], {A: 8, B: 32, M1: 8192, M2: 8192})
    assert usage.used_bytes == 32808
    assert usage.fixed_bytes == 32768


def test_merge_charges_the_last_instance_as_ffx_does() -> None:
    # ffx V2/V3 collect a merged set into a map by merkle: the last instance survives,
    # so B is charged to p2 (at its path there), not to p1.
    sets = [
        SetInput(
            "M",
            [pkg("p1", ("a", A), ("lib/b", B)), pkg("p2", ("lib/b-copy", B))],
            merge=True,
        )
    ]
    (usage,), _ = account(sets, [], {A: 8, B: 32})
    p1, p2 = usage.packages
    assert [(c.path, c.charged_bytes) for c in p1.blobs] == [("a", 8)]
    assert [(c.path, c.charged_bytes) for c in p2.blobs] == [("lib/b-copy", 32)]
    assert usage.used_bytes == 32768 + 40


def test_resource_budget_matches_the_merge_survivor_path() -> None:
    # Resource matching runs after the merge: only the surviving instance's path counts.
    merged = [SetInput("M", [pkg("p1", ("lib/b", B)), pkg("p2", ("other/b", B))], merge=True)]
    _, (first_path,) = account(merged, [ResourceInput("R", frozenset({"lib/b"}))], {B: 32})
    _, (last_path,) = account(merged, [ResourceInput("R", frozenset({"other/b"}))], {B: 32})
    assert (first_path.used_bytes, last_path.used_bytes) == (0, 32)


def test_without_merge_repeats_split_the_size() -> None:
    sets = [SetInput("M", [pkg("p1", ("a", A), ("b", B)), pkg("p2", ("b", B))])]
    (usage,), _ = account(sets, [], {A: 8, B: 32})
    assert usage.used_bytes == 8 + 16 + 16


def test_repeats_inside_one_package_count_as_instances() -> None:
    sets = [SetInput("S", [pkg("p", ("a", A), ("a2", A))])]
    (usage,), _ = account(sets, [], {A: 9})
    assert usage.used_bytes == 8  # 9 // 2 twice: rounding down loses a byte


def test_resource_budget_takes_merkles_at_its_paths_everywhere() -> None:
    sets = [
        SetInput("S1", [pkg("p1", ("lib/ld.so.1", A), ("bin/x", B))]),
        SetInput("S2", [pkg("p2", ("lib/other-name", A), ("bin/y", C))]),
    ]
    (s1, s2), (res,) = account(
        sets, [ResourceInput("Shlibs", frozenset({"lib/ld.so.1"}))], {A: 100, B: 10, C: 20}
    )
    # The resource takes every instance of A (also at another path), split globally.
    assert res.used_bytes == 50 + 50
    assert (s1.used_bytes, s2.used_bytes) == (10, 20)
    excluded = s2.packages[0].blobs[0]
    assert (excluded.charged_bytes, excluded.excluded_by) == (0, "Shlibs")


def test_resource_instances_do_not_add_to_share_counts() -> None:
    sets = [SetInput("S", [pkg("p", ("a", A))])]
    _, (res,) = account(sets, [ResourceInput("R", frozenset({"a"}))], {A: 10})
    assert res.used_bytes == 10


def test_missing_sizes_are_reported_not_guessed() -> None:
    sets = [SetInput("S", [pkg("p", ("a", A), ("b", B))])]
    (usage,), _ = account(sets, [], {A: 8})
    assert [(m.package, m.path, m.merkle) for m in usage.missing] == [("p", "b", B)]
