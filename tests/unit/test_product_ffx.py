"""ffx's product check texts and numbers (reference fuchsia_current.md §2), by hand."""

from __future__ import annotations

from pytest_sizebudget.kinds.product_ffx import (
    PLATFORM_RESOURCES,
    breakdown,
    breakdown_text,
    diff,
    diff_lines,
    wrap_path,
)
from tests.conftest import fake_merkle

A1, A2, B, C, D, L = (fake_merkle(x) for x in ("A1", "A2", "B", "C", "D", "L"))


def test_breakdown_line_matches_ffxs_example() -> None:
    # ffx's own example line (breakdown.rs test): lib/lib2, merkle 123456..., 30 B, 2 refs.
    merkle = "123456" + "0" * 58
    bd = breakdown([("p1", [(merkle, "lib/lib2", 30)]), ("p2", [(merkle, "lib/lib2", 30)])])
    lines = breakdown_text(bd).split("\n")
    assert lines[0] == "PACKAGES" + " " * 35 + "    MERKLE      SIZE     PSIZE     SHARE"
    assert lines[1] == "p1" + " " * 51 + "        30        15"
    assert (
        lines[2]
        == "   lib/lib2                                    123456        30        15         2"
    )
    assert lines[-1] == "Total size: 30 bytes"  # distinct merkles; no newline at the end


def test_long_paths_wrap_as_ffx_wraps_them() -> None:
    path = "".join(chr(ord("a") + i % 26) for i in range(100))
    wrapped = wrap_path(path)
    assert wrapped.split("\n") == [
        path[:37] + "...",
        "      " + path[37:71] + "...",
        "      " + path[71:] + " " * (43 - 6 - 29),
    ]
    assert wrap_path("x" * 40) == "x" * 40
    assert wrap_path("lib/a") == "lib/a" + " " * 35


def test_breakdown_psize_shares_and_platform_resources() -> None:
    bd = breakdown(
        [
            ("system", [(L, "lib/ld.so.1", 8192), (A1, "bin/app", 16384)]),
            ("app", [(L, "lib/ld.so.1", 8192), (B, "sub/lib/ld.so.1", 4096), (B, "x", 4096)]),
        ]
    )
    assert bd.consumed_bytes == 8192 + 16384 + 4096
    # Only an exact path counts: a subpackage's copy (sub/lib/...) is not a platform resource.
    assert bd.resources_bytes == 8192
    assert (bd.blobs[L].psize, bd.blobs[B].psize) == (4096, 2048)
    assert len(PLATFORM_RESOURCES) == 13


def before_after() -> tuple[list[tuple[str, list[tuple[str, str, int]]]], ...]:
    before = [
        ("a", [(A1, "bin/a", 100), (L, "lib/ld.so.1", 50)]),
        ("b", [(B, "bin/b", 30)]),
        ("c", [(C, "data", 20)]),
    ]
    after = [
        ("a", [(A2, "bin/a", 120), (L, "lib/ld.so.1", 50)]),
        ("b", [(B, "bin/b", 30), (L, "lib/ld.so.1", 50)]),
        ("d", [(D, "data", 40)]),
    ]
    return before, after


def test_diff_matches_by_merkle_then_package_and_path() -> None:
    before, after = before_after()
    d = diff(breakdown(before), breakdown(after), "old/images.json")
    # A1 is gone, but (a, bin/a) still exists: A2 is its successor, not an added blob.
    modes = {(c.before, c.after): c.mode for c in d.blobs}
    assert modes == {
        (None, D): "added",
        (A1, A2): "updated",
        (L, L): "updated",  # same merkle, one more reference
        (C, None): "removed",
    }
    assert d.unchanged_blobs == 1  # B
    assert (d.before_bytes, d.after_bytes) == (200, 240)
    assert [(p.mode, p.name, p.delta) for p in d.packages] == [
        ("updated", "b", 50),
        ("added", "d", 40),
        ("updated", "a", 20),
        ("removed", "c", -20),
    ]


def test_diff_text_is_ffxs_layout() -> None:
    before, after = before_after()
    lines = diff_lines(diff(breakdown(before), breakdown(after), "old/images.json"))

    def ref(mark: str, package: str, path: str) -> str:
        return mark + package.ljust(30) + path.ljust(30)

    def num(delta: str, value: str | None) -> str:
        return delta.rjust(10) + (f"({value})".ljust(10) if value else " " * 10)

    assert lines == [
        "TOTAL SIZE",
        "-" * 117,
        "before:        200",
        "after:         240",
        "diff:          +40",
        "",
        "",
        "PACKAGES".ljust(32) + "      SIZE",
        "-" * 117,
        "  " + "b".ljust(30) + "       +50" + "(80)".ljust(10),
        "++" + "d".ljust(30) + "       +40" + " " * 10,
        "  " + "a".ljust(30) + "       +20" + "(170)".ljust(10),
        "--" + "c".ljust(30) + "       -20" + " " * 10,
        "",
        "",
        "BLOB MERKLE".ljust(22)
        + " "
        + "PACKAGE".ljust(30)
        + "PATH".ljust(30)
        + "SIZE".rjust(10)
        + "PSIZE".rjust(20)
        + "SHARE".rjust(20),
        "-" * 137,
        "++" + D[:6].ljust(20) + ref("+", "d", "data") + num("+40", None) * 2 + num("+1", None),
        "  "
        + f"{A1[:6]} -> {A2[:6]}".ljust(20)
        + ref(" ", "a", "bin/a")
        + num("+20", "120")
        + num("+20", "120")
        + num("+0", "1"),
        "  "
        + L[:6].ljust(20)
        + ref("+", "b", "lib/ld.so.1")
        + num("+0", "50")
        + num("-25", "25")
        + num("+1", "2"),
        " " * 22 + ref(" ", "a", "lib/ld.so.1"),
        "--" + C[:6].ljust(20) + ref("-", "c", "data") + num("-20", None) * 2 + num("-1", None),
    ]


def test_no_change_prints_only_the_totals() -> None:
    before, _ = before_after()
    d = diff(breakdown(before), breakdown(before), "same")
    assert diff_lines(d) == [
        "TOTAL SIZE",
        "-" * 117,
        "before:        200",
        "after:         200",
        "diff:           +0",
        "",
        "",
    ]
    assert d.to_dict()["blobs"] == []
    assert d.unchanged_blobs == 4
