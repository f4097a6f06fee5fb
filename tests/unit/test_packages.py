"""Package manifests, directory packages and blobs.json indexes."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from pytest_sizebudget.errors import InputError
from pytest_sizebudget.measure.merkle import merkle_root, merkle_root_of_file
from pytest_sizebudget.packages.blob_sizes import BlobSizeStore, load_blobs_json
from pytest_sizebudget.packages.directory import list_directory_files, load_directory
from pytest_sizebudget.packages.manifest import load_manifest
from tests.conftest import Product, fake_merkle

A, B = fake_merkle("A"), fake_merkle("B")


def test_manifest_sources_relative_to_working_dir_or_file(product: Product) -> None:
    rel = product.manifest("p", [("meta/", A), ("bin/x", B)])
    pkg = load_manifest(product.root / rel, working_dir=Path("/build"))
    assert pkg.name == "p"
    assert [(b.path, b.merkle) for b in pkg.blobs] == [("meta/", A), ("bin/x", B)]
    assert Path(pkg.blobs[0].source or "") == Path("/build/blobs") / A
    rel = product.manifest("q", [("bin/x", B)], extra={"blob_sources_relative": "file"})
    pkg = load_manifest(product.root / rel, working_dir=Path("/build"))
    assert Path(pkg.blobs[0].source or "") == product.root / "q" / "blobs" / B


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "a package manifest must be a JSON object"),
        ({"version": 1}, 'version: unsupported manifest version 1; expected "1"'),
        ({"version": "2"}, 'unsupported manifest version "2"'),
        ({"package": {}}, "unsupported manifest version missing"),
        ({"version": "1", "blobs": []}, "package.name: missing or not a string"),
        ({"version": "1", "package": {"name": "p"}}, "blobs: missing or not a list"),
        (
            {"version": "1", "package": {"name": "p"}, "blobs": [{"merkle": "xyz", "path": "a"}]},
            "blobs[0].merkle: expected 64 lowercase hex digits, got 'xyz'",
        ),
        (
            {"version": "1", "package": {"name": "p"}, "blobs": [{"merkle": A}]},
            "blobs[0].path: expected a non-empty string, got None",
        ),
        (
            {
                "version": "1",
                "package": {"name": "p"},
                "blobs": [{"merkle": A, "path": "a", "size": -1}],
            },
            "blobs[0].size: expected a non-negative integer, got -1",
        ),
        (
            {"version": "1", "package": {"name": "p"}, "blobs": [], "blob_sources_relative": "cwd"},
            'blob_sources_relative: must be "working_dir" or "file"',
        ),
    ],
)
def test_manifest_shape_errors_name_file_and_key(
    tmp_path: Path, data: object, message: str
) -> None:
    path = tmp_path / "m.json"
    path.write_text(json.dumps(data))
    with pytest.raises(InputError) as excinfo:
        load_manifest(path, working_dir=tmp_path)
    assert str(excinfo.value).startswith(f"{path}: ")
    assert message in str(excinfo.value)


def test_manifest_unreadable(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        load_manifest(tmp_path / "missing.json", working_dir=tmp_path)
    bad = tmp_path / "bad.json"
    bad.write_text("{\n  oops\n}")
    with pytest.raises(InputError, match=r"bad.json:2:3: invalid JSON"):
        load_manifest(bad, working_dir=tmp_path)


def test_subpackages_are_left_out_unless_asked(product: Product) -> None:
    product.manifest("child", [("meta/", B)], filename="child/package_manifest.json")
    rel = product.manifest(
        "parent",
        [("meta/", A)],
        extra={
            "blob_sources_relative": "file",
            "subpackages": [
                {"manifest_path": "../child/package_manifest.json", "name": "kid", "merkle": B},
                {"manifest_path": "../child/package_manifest.json", "name": "kid2", "merkle": B},
            ],
        },
    )
    path = product.root / rel
    assert [b.path for b in load_manifest(path, working_dir=product.root).blobs] == ["meta/"]
    with_subs = load_manifest(path, working_dir=product.root, include_subpackages=True)
    # The same subpackage manifest reached twice is stored once, as Fuchsia does.
    assert [(b.path, b.merkle) for b in with_subs.blobs] == [("meta/", A), ("kid/meta/", B)]


def test_directory_package_hashes_every_file_in_sorted_order(tmp_path: Path) -> None:
    root = tmp_path / "pkg"
    (root / "b" / "c").mkdir(parents=True)
    (root / "z.txt").write_bytes(b"hello world")
    (root / "b" / "c" / "deep").write_bytes(b"\xff" * 8193)
    (root / ".hidden").write_bytes(b"")
    pkg = load_directory(root, merkle_root_of_file)
    assert pkg.name == "pkg"
    assert pkg.kind == "directory"
    assert [(b.path, b.merkle, b.size) for b in pkg.blobs] == [
        (".hidden", merkle_root(b""), 0),
        ("b/c/deep", "374781f7d770b6ee9c1a63e186d2d0ccdad10d6aef4fd027e82b1be5b70a2a0c", 8193),
        ("z.txt", "8af85e2fe5da3385ea468ed1cb8412eaea6530a90b5dd8dee96529c8d9d39b97", 11),
    ]


def test_directory_symlinks_are_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    (outside / "sub").mkdir(parents=True)
    (outside / "data.bin").write_bytes(b"x")
    (outside / "sub" / "f").write_bytes(b"y")
    root = tmp_path / "pkg"
    root.mkdir()
    (root / "link-to-file").symlink_to(outside / "data.bin")
    (root / "link-to-dir").symlink_to(outside / "sub")
    assert [p for p, _ in list_directory_files(root)] == ["link-to-dir/f", "link-to-file"]


def test_directory_symlink_loop_dangling_link_and_fifo_are_errors(tmp_path: Path) -> None:
    root = tmp_path / "pkg"
    (root / "a").mkdir(parents=True)
    (root / "a" / "up").symlink_to(root)
    with pytest.raises(InputError, match="symbolic link loop"):
        list_directory_files(root)
    (root / "a" / "up").unlink()
    (root / "dangling").symlink_to(tmp_path / "nowhere")
    with pytest.raises(InputError, match=r"dangling symbolic link \(-> .*nowhere\)"):
        list_directory_files(root)
    (root / "dangling").unlink()
    os.mkfifo(root / "pipe")
    with pytest.raises(InputError, match=r"pipe: is a FIFO \(named pipe\), which cannot be a blob"):
        list_directory_files(root)


def test_directory_holding_a_manifest_is_refused_with_a_hint(tmp_path: Path) -> None:
    """Walked as files, the manifest would be the package's only blob (issue 11)."""
    root = tmp_path / "out" / "pkg"
    root.mkdir(parents=True)
    (root / "package_manifest.json").write_text("{}")
    with pytest.raises(InputError) as info:
        load_directory(root, merkle_root_of_file, display="out/pkg")
    assert str(info.value) == (
        "out/pkg: is a directory that holds package_manifest.json: name that file instead "
        "(out/pkg/package_manifest.json); a directory given as a package counts every file "
        "in it as a blob, the manifest too"
    )
    # Deeper down it is a file like any other (the directory is not a package's own).
    (root / "package_manifest.json").rename(root / "nested.json")
    (root / "sub").mkdir()
    (root / "sub" / "package_manifest.json").write_text("{}")
    assert [b.path for b in load_directory(root, merkle_root_of_file).blobs] == [
        "nested.json",
        "sub/package_manifest.json",
    ]


def test_subpackage_paths_are_checked_before_they_are_resolved(product: Product) -> None:
    """A link loop made Path.resolve() raise RuntimeError, a NUL byte ValueError."""
    (product.root / "loop-a").symlink_to("loop-b")
    (product.root / "loop-b").symlink_to("loop-a")
    for where, what in (
        ("../loop-a", "is a symbolic link loop"),
        ("../a\0b", "the path contains a NUL byte"),
        ("..", "is a directory, not a file"),
    ):
        rel = product.manifest(
            "parent",
            [("meta/", A)],
            extra={
                "blob_sources_relative": "file",
                "subpackages": [{"manifest_path": where, "name": "kid"}],
            },
        )
        with pytest.raises(InputError) as info:
            load_manifest(
                product.root / rel,
                working_dir=product.root,
                include_subpackages=True,
                display=rel,
            )
        assert str(info.value).startswith(
            "parent/package_manifest.json: subpackages[0].manifest_path: "
        )
        assert what in str(info.value)


def test_blobs_json_reads_merkle_and_size_only(product: Product) -> None:
    rel = product.blobs_json({A: 8192, B: 16384})
    assert dict(load_blobs_json(product.root / rel).sizes) == {A: (8192, 0), B: (16384, 1)}


def test_blobs_json_conflict_inside_one_file(tmp_path: Path) -> None:
    path = tmp_path / "blobs.json"
    path.write_text(
        json.dumps([{"merkle": A, "size": 1}, {"merkle": A, "size": 1}, {"merkle": A, "size": 2}])
    )
    with pytest.raises(
        InputError, match=f"same hash {A} but different sizes: 1 at \\[0\\] and 2 at \\[2\\]"
    ):
        load_blobs_json(path)


def test_blobs_json_conflict_across_files_names_both(product: Product) -> None:
    first = product.root / product.blobs_json({A: 8192}, "one.json")
    second = product.root / product.blobs_json({B: 1, A: 16384}, "two.json")
    store = BlobSizeStore()
    with pytest.raises(InputError) as excinfo:
        store.index([(first, "one.json"), (second, "two.json")])
    assert str(excinfo.value) == (
        f"two blobs with the same hash {A} but different sizes: "
        "8192 in one.json[0] and 16384 in two.json[1]"
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "must be a JSON list"),
        ([1], r"\[0\]: expected an object"),
        ([{"merkle": "A" * 64, "size": 1}], r"\[0\].merkle: expected 64 lowercase hex"),
        ([{"merkle": "a" * 64, "size": "1"}], r"\[0\].size: expected a non-negative integer"),
    ],
)
def test_blobs_json_shape_errors(tmp_path: Path, data: object, message: str) -> None:
    path = tmp_path / "blobs.json"
    path.write_text(json.dumps(data))
    with pytest.raises(InputError, match=message):
        load_blobs_json(path)
