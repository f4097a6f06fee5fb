"""Yocto packages from buildhistory trees and pkgdata, generated in the documented formats."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_sizebudget.errors import InputError
from pytest_sizebudget.packages.yocto import (
    YoctoReader,
    YoctoSelection,
    parse_file_list,
    select,
)
from tests.yocto_trees import YoctoPackageSpec, find_listing, write_buildhistory, write_pkgdata

BUSYBOX = YoctoPackageSpec(
    "busybox",
    {
        "/bin/busybox": b"B" * 700_001,
        "/bin/sh": ("link", "busybox"),
        "/bin/ls": ("link", "/bin/busybox"),
    },
)
LIBC = YoctoPackageSpec(
    "glibc",
    {"/lib/libc.so.6": b"C" * 1_900_123, "/lib/ld-linux-x86-64.so.2": b"L" * 210_000},
    renamed="libc6",
)
BASE = YoctoPackageSpec(
    "base-files",
    {"/etc/issue": b"Poky\n", "/etc/motd": b"", "/etc/hostname": b"qemux86-64\n"},
)
HARD = YoctoPackageSpec(
    "hardy",
    {"/usr/bin/a": b"h" * 5000, "/usr/bin/b": ("hardlink", "/usr/bin/a")},
)
ALL = [BUSYBOX, LIBC, BASE, HARD]


def reader() -> YoctoReader:
    return YoctoReader(lambda p: p.as_posix())


def sel(tmp_path: Path, *names: str, **kw: object) -> YoctoSelection:
    args: dict[str, object] = {
        "key": "package_set_budgets[0].packages[0]",
        "buildhistory": tmp_path / "bh",
        "image": "core-image-minimal",
        "pkgdata": None,
        "names": names or ("*",),
    }
    args.update(kw)
    return YoctoSelection(**args)  # type: ignore[arg-type]


def test_exact_bytes_from_latest_files(tmp_path: Path) -> None:
    sizes = write_buildhistory(tmp_path / "bh", ALL)
    got = {p.name: p for p in reader().read(sel(tmp_path))}
    assert sorted(got) == ["base-files", "busybox", "hardy", "libc6"]
    for name, size in sizes.items():
        assert (got[name].size, got[name].exact) == (size, True)
    # busybox: the binary plus two links of 7 and 12 bytes (lstat sizes, as PKGSIZE).
    assert got["busybox"].size == 700_001 + len("busybox") + len("/bin/busybox")
    # A hard link is one inode: counted once.
    assert got["hardy"].size == 5000
    # The renamed package is found under its installed name.
    assert got["libc6"].size == 1_900_123 + 210_000
    assert got["libc6"].source.endswith("packages/core2-64/glibc/glibc/latest")


def test_globs_pick_installed_packages(tmp_path: Path) -> None:
    write_buildhistory(tmp_path / "bh", ALL)
    names = [p.name for p in reader().read(sel(tmp_path, "lib*", "busybox", "b*"))]
    assert names == ["base-files", "busybox", "libc6"]


def test_a_name_that_matches_nothing_is_an_error(tmp_path: Path) -> None:
    write_buildhistory(tmp_path / "bh", ALL)
    with pytest.raises(InputError, match=r"packages\[0\]: 'busybox-extra' matches no package"):
        reader().read(sel(tmp_path, "busybox-extra"))
    with pytest.raises(InputError, match=r"'libc\*x' matches no package"):
        reader().read(sel(tmp_path, "libc*x"))


def test_largest_files_come_from_the_file_lists(tmp_path: Path) -> None:
    write_buildhistory(tmp_path / "bh", ALL)
    got = {p.name: p for p in reader().read(sel(tmp_path, "busybox"))}
    assert dict(got["busybox"].files) == {"bin/busybox": 700_001, "bin/ls": 12, "bin/sh": 7}


def test_without_latest_files_sizes_are_whole_kib_and_flagged(tmp_path: Path) -> None:
    sizes = write_buildhistory(tmp_path / "bh", ALL, with_latest=False)
    got = {p.name: p for p in reader().read(sel(tmp_path))}
    assert got["libc6"].exact is False
    assert got["libc6"].size == (sizes["libc6"] + 512) // 1024 * 1024
    assert got["libc6"].source.endswith("installed-package-sizes.txt")


def test_pkgdata_gives_exact_bytes_and_files(tmp_path: Path) -> None:
    write_buildhistory(tmp_path / "bh", ALL, with_latest=False)
    write_pkgdata(tmp_path / "pkgdata", ALL, tmp_path / "scratch")
    got = {p.name: p for p in reader().read(sel(tmp_path, pkgdata=tmp_path / "pkgdata"))}
    assert got["libc6"].exact is True
    assert got["libc6"].size == 1_900_123 + 210_000
    assert got["libc6"].source.endswith("pkgdata/runtime/glibc")
    assert dict(got["busybox"].files)["bin/busybox"] == 700_001
    # pkgdata alone: every package it has, by both names.
    alone = sel(tmp_path, "libc6", "busybox", buildhistory=None, image=None)
    alone_got = reader().read(
        YoctoSelection(alone.key, None, None, tmp_path / "pkgdata", alone.names)
    )
    assert [(p.name, p.size) for p in alone_got] == [
        ("busybox", 700_020),
        ("libc6", 2_110_123),
    ]


def test_trees_of_different_builds_are_refused(tmp_path: Path) -> None:
    write_buildhistory(tmp_path / "bh", ALL)
    latest = tmp_path / "bh/packages/core2-64/busybox/busybox/latest"
    latest.write_text(latest.read_text().replace("PKGSIZE = 700020", "PKGSIZE = 900000"))
    with pytest.raises(InputError, match="the trees come from different builds"):
        reader().read(sel(tmp_path, "busybox"))


def test_image_by_short_name_or_full_path(tmp_path: Path) -> None:
    write_buildhistory(tmp_path / "bh", [BASE], machine="qemux86_64")
    write_buildhistory(tmp_path / "bh", [BASE], machine="qemuarm64", scratch=tmp_path / "s2")
    with pytest.raises(InputError, match="built for several machines"):
        reader().read(sel(tmp_path))
    got = reader().read(sel(tmp_path, image="qemuarm64/glibc/core-image-minimal"))
    assert [p.name for p in got] == ["base-files"]
    with pytest.raises(InputError, match="no image 'core-image-sato'"):
        reader().read(sel(tmp_path, image="core-image-sato"))


def test_malformed_lines_name_file_and_line(tmp_path: Path) -> None:
    write_buildhistory(tmp_path / "bh", ALL)
    sizes = tmp_path / "bh/images/qemux86_64/glibc/core-image-minimal/installed-package-sizes.txt"
    sizes.write_text(sizes.read_text() + "12 MiB oops\n")
    with pytest.raises(InputError, match=r"installed-package-sizes.txt:5: expected"):
        reader().read(sel(tmp_path))
    sizes.write_text("")
    latest = tmp_path / "bh/packages/core2-64/busybox/busybox/latest"
    latest.write_text("PKGSIZE = lots\n")
    with pytest.raises(InputError, match="PKGSIZE: expected a number of bytes, got 'lots'"):
        reader().read(sel(tmp_path, image=None, names=("busybox",)))


def test_missing_tree_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"buildhistory .*bh: does not exist"):
        reader().read(sel(tmp_path))


def test_file_lists_parse_paths_with_spaces_and_links(tmp_path: Path) -> None:
    d = tmp_path / "d"
    (d / "usr/share").mkdir(parents=True)
    (d / "usr/share/a file").write_bytes(b"12345")
    (d / "usr/share/a link").symlink_to("a file")
    listing = find_listing(d)
    assert "./usr/share/a link -> a file" in listing
    assert parse_file_list(listing.splitlines(), "x", "k") == {
        "usr/share/a file": 5,
        "usr/share/a link": 6,
    }


def test_select_is_sorted_and_unique() -> None:
    assert select(["b", "a", "ab"], ["a*", "a", "b"], "k", strict=True) == ["a", "ab", "b"]
    assert select(["b"], ["zz"], "k", strict=False) == []


def test_set_details_round_trip_through_json() -> None:
    from pytest_sizebudget.kinds.package_set import PackageSetDetails, PackageSetKind

    details = PackageSetDetails(
        merged=False,
        uncounted=(("rootfs", "dev/console", "a character device, holds no bytes"),),
        largest_files=(("libc6", "lib/libc.so.6", 1_900_123),),
        rounded=("busybox",),
    )
    kind = PackageSetKind()
    assert kind.details_from_dict(details.to_dict()) == details
    assert kind.details_from_dict({"merged": True}) == PackageSetDetails(merged=True)
    with pytest.raises(ValueError, match="expected a list of objects"):
        kind.details_from_dict({"uncounted": ["dev/console"]})
