"""Directory packages under the three symlink policies: a root filesystem as the target
sees it ("tree"), links as links ("link"), and today's "follow"."""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

from pytest_sizebudget.errors import InputError
from pytest_sizebudget.measure.merkle import merkle_root_of_file
from pytest_sizebudget.packages.directory import link_key, load_directory_batch
from pytest_sizebudget.packages.rootfs_walk import resolve_in_tree, walk_tree


def hash_files(paths: Sequence[Path]) -> Mapping[Path, str | Exception]:
    return {p: merkle_root_of_file(p)[0] for p in paths}


def rootfs(tmp_path: Path) -> Path:
    """A small rootfs with the link shapes real ones have."""
    root = tmp_path / "rootfs"
    for d in ("lib", "usr/lib", "etc", "bin", "dev", "var"):
        (root / d).mkdir(parents=True)
    (root / "lib/libc.so.6").write_bytes(b"C" * 9000)
    (root / "lib/libc.so").symlink_to("libc.so.6")  # relative, inside
    (root / "bin/busybox").write_bytes(b"B" * 5000)
    (root / "bin/sh").symlink_to("/bin/busybox")  # absolute: the target's /, not the host's
    (root / "etc/mtab").symlink_to("/proc/self/mounts")  # dangles until the system runs
    (root / "etc/escape").symlink_to("../../../../etc/hostname")  # .. stops at the root
    (root / "etc/hostname").write_bytes(b"qemu\n")
    (root / "usr/lib/libc.so.6").symlink_to("../../lib/libc.so.6")
    (root / "var/run").symlink_to("/run")  # a directory link that dangles
    (root / "lib64").symlink_to("lib")  # a directory link inside: not walked twice
    (root / "loop-a").symlink_to("loop-b")
    (root / "loop-b").symlink_to("loop-a")
    os.link(root / "bin/busybox", root / "bin/busybox.hard")
    os.mkfifo(root / "dev/initctl")
    return root


def test_tree_resolves_inside_the_root_and_counts_each_file_once(tmp_path: Path) -> None:
    root = rootfs(tmp_path)
    listing = walk_tree(root, "rootfs", "tree")
    assert [p for p, _ in listing.files] == ["bin/busybox", "etc/hostname", "lib/libc.so.6"]
    assert listing.links == []
    assert listing.hard_links == 1  # bin/busybox.hard
    assert listing.resolved_links == 5  # libc.so, sh, escape, usr/lib/libc.so.6, lib64
    assert listing.uncounted == [
        ("dev/initctl", "a FIFO (named pipe), holds no bytes"),
        ("etc/mtab", "symbolic link to /proc/self/mounts: dangling (/proc is not in the tree)"),
        ("loop-a", "symbolic link to loop-b: a loop (more than 40 links in a row)"),
        ("loop-b", "symbolic link to loop-a: a loop (more than 40 links in a row)"),
        ("var/run", "symbolic link to /run: dangling (/run is not in the tree)"),
    ]


def test_tree_never_reads_the_host(tmp_path: Path) -> None:
    root = tmp_path / "rootfs"
    root.mkdir()
    # /etc/passwd exists on the host, not in this tree: the link dangles here.
    (root / "passwd").symlink_to("/etc/passwd")
    listing = walk_tree(root, "r", "tree")
    assert listing.uncounted == [
        ("passwd", "symbolic link to /etc/passwd: dangling (/etc is not in the tree)")
    ]
    (root / "etc").mkdir()
    (root / "etc/passwd").write_bytes(b"root:x:0:0\n")
    (root / "a/b").mkdir(parents=True)
    (root / "a/b/c").symlink_to("../../../../../etc/passwd")  # .. stops at the root
    (root / "x").symlink_to("etc/passwd/more")
    listing = walk_tree(root, "r", "tree")
    assert listing.resolved_links == 2
    assert listing.uncounted == [
        ("x", "symbolic link to etc/passwd/more: dangling (/etc/passwd is not a directory)")
    ]
    modes = {"": stat.S_IFDIR, "etc": stat.S_IFDIR, "etc/passwd": stat.S_IFREG}
    assert resolve_in_tree(modes, {}, "a/b/c", "/etc/passwd") == ("etc/passwd", stat.S_IFREG)


def test_link_policy_charges_each_link_its_length(tmp_path: Path) -> None:
    root = rootfs(tmp_path)
    pkg = load_directory_batch(root, hash_files, display="rootfs", symlinks="link")
    by_path = {b.path: b for b in pkg.blobs}
    assert by_path["lib/libc.so"].size == len("libc.so.6")
    assert by_path["etc/mtab"].size == len("/proc/self/mounts")  # dangling: still a link
    assert by_path["var/run"].size == len("/run")
    assert by_path["lib64"].size == 3
    assert dict(pkg.fixed_sizes)[link_key("lib/libc.so", "libc.so.6")] == 9
    assert by_path["lib/libc.so"].merkle == link_key("lib/libc.so", "libc.so.6")
    assert "bin/busybox.hard" not in by_path  # one inode, counted once
    assert pkg.uncounted == (("dev/initctl", "a FIFO (named pipe), holds no bytes"),)
    # Files are blobs as always, sorted with the links by path.
    assert [b.path for b in pkg.blobs] == sorted(by_path)
    assert by_path["bin/busybox"].merkle == merkle_root_of_file(root / "bin/busybox")[0]


def test_follow_is_unchanged_and_fails_on_a_dangling_link(tmp_path: Path) -> None:
    root = rootfs(tmp_path)
    with pytest.raises(InputError):
        load_directory_batch(root, hash_files, display="rootfs", symlinks="follow")


def test_device_nodes_are_listed(tmp_path: Path) -> None:
    root = tmp_path / "rootfs"
    (root / "dev").mkdir(parents=True)
    try:
        os.mknod(root / "dev/null", 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    except PermissionError:
        pytest.skip("making a device node needs root (CAP_MKNOD)")
    listing = walk_tree(root, "rootfs", "link")
    assert listing.uncounted == [("dev/null", "a character device, holds no bytes")]


def test_unreadable_directory_is_an_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="rootfs: cannot list directory"):
        walk_tree(tmp_path / "missing", "rootfs", "tree")


def test_walk_is_linear_in_the_tree(tmp_path: Path) -> None:
    # Deep and wide at once: every entry is visited once (counted, not timed).
    root = tmp_path / "wide"
    for i in range(30):
        d = root / "/".join(f"d{j}" for j in range(i % 6 + 1)) / f"n{i}"
        d.mkdir(parents=True, exist_ok=True)
        (d / "f").write_bytes(b"x")
        (d / "l").symlink_to("f")
    listing = walk_tree(root, "wide", "tree")
    assert len(listing.files) == 30
    assert listing.resolved_links == 30
