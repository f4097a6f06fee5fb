"""The stat index: merkle roots of files by path and stat identity, kept in packs."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from pytest_sizebudget.measure import stat_index as stat_index_module
from pytest_sizebudget.measure.blob import FileIdentity
from pytest_sizebudget.measure.stat_index import StatIndex
from pytest_sizebudget.measure.store import PackDir, seal


def _identity(i: int, ctime: int = 1) -> FileIdentity:
    return FileIdentity(size=i, mtime_ns=1, ctime_ns=ctime, inode=1000 + i, device=1)


def _packs(root: Path) -> list[Path]:
    return sorted((root / "packs").glob("*.pack"))


def test_hit_and_miss(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    blob = src / "blob"
    blob.write_bytes(b"x")
    past = time.time() - 100
    os.utime(blob, (past, past))
    identity = FileIdentity.of(blob.stat())
    index = StatIndex(tmp_path / "idx", racy_seconds=0)
    assert index.lookup(blob, identity) is None
    index.record([(blob, identity, "b" * 64)])
    assert index.lookup(blob, identity) == "b" * 64  # this process, at once
    fresh = StatIndex(tmp_path / "idx", racy_seconds=0)
    assert fresh.lookup(blob, identity) == "b" * 64
    for changed in (
        FileIdentity(
            identity.size + 1, identity.mtime_ns, identity.ctime_ns, identity.inode, identity.device
        ),
        FileIdentity(
            identity.size, identity.mtime_ns + 1, identity.ctime_ns, identity.inode, identity.device
        ),
        FileIdentity(
            identity.size, identity.mtime_ns, identity.ctime_ns + 1, identity.inode, identity.device
        ),
        FileIdentity(
            identity.size, identity.mtime_ns, identity.ctime_ns, identity.inode + 1, identity.device
        ),
        FileIdentity(
            identity.size, identity.mtime_ns, identity.ctime_ns, identity.inode, identity.device + 1
        ),
    ):
        assert fresh.lookup(blob, changed) is None
    assert fresh.lookup(src / "other", identity) is None
    assert StatIndex(None).lookup(blob, identity) is None
    assert not StatIndex(None).enabled


def test_one_pack_per_record_whatever_the_directories(tmp_path: Path) -> None:
    """The point of packs: a tree of thousands of directories is one file, not one per
    directory."""
    index = StatIndex(tmp_path, racy_seconds=0)
    items = [
        (Path(f"/tree/d{d}/f{f}"), _identity(d * 10 + f), f"{d:062x}{f:02x}")
        for d in range(300)
        for f in range(3)
    ]
    index.record(items)
    (pack,) = _packs(tmp_path)
    body = json.loads(pack.read_bytes())
    assert body["kind"] == "stat-pack"
    assert len(body["dirs"]) == 300
    assert body["dirs"]["/tree/d7"]["f2"] == [72, 1, 1, 1072, 1, f"{7:062x}02"]
    fresh = StatIndex(tmp_path)
    assert all(fresh.lookup(path, identity) == merkle for path, identity, merkle in items)
    index.record([])  # nothing new: no pack
    assert len(_packs(tmp_path)) == 1


def test_racily_clean_files_are_not_recorded(tmp_path: Path) -> None:
    blob = tmp_path / "new"
    blob.write_bytes(b"x")
    identity = FileIdentity.of(blob.stat())
    index = StatIndex(tmp_path / "idx", racy_seconds=60)
    index.record([(blob, identity, "c" * 64)])
    assert StatIndex(tmp_path / "idx").lookup(blob, identity) is None
    assert _packs(tmp_path / "idx") == []


def test_the_newer_state_of_a_file_wins_whatever_the_order_of_packs(tmp_path: Path) -> None:
    path = Path("/src/a")
    old, new = _identity(1, ctime=100), _identity(2, ctime=200)
    # Packs are read in name order: write the newer one under the first name.
    packs = PackDir(tmp_path / "packs", "stat-pack")
    for name, identity, merkle in (("0.pack", new, "e" * 64), ("1.pack", old, "f" * 64)):
        entry = [identity.size, identity.mtime_ns, identity.ctime_ns, identity.inode, 1, merkle]
        packs.write(name, {"dirs": {"/src": {"a": entry}}})
    index = StatIndex(tmp_path)
    assert index.lookup(path, new) == "e" * 64
    assert index.lookup(path, old) is None  # the older state is not what the file is now


def test_damaged_foreign_and_malformed_entries_are_misses(tmp_path: Path) -> None:
    index = StatIndex(tmp_path, racy_seconds=0)
    index.record([(Path("/x/y"), _identity(1), "d" * 64)])
    (pack,) = _packs(tmp_path)
    pack.write_bytes(pack.read_bytes()[:-5])  # truncated
    (tmp_path / "packs" / "blob.pack").write_bytes(
        seal({"kind": "pack", "dirs": {"/x": {"y": [1, 1, 1, 1001, 1, "d" * 64]}}})
    )
    good = [1, 1, 1, 1001, 1, "d" * 64]
    malformed: dict[str, object] = {
        "short": good[:5],
        "text": ["1", 1, 1, 1001, 1, "d" * 64],
        "bool": [True, 1, 1, 1001, 1, "d" * 64],
        "merkle": [1, 1, 1, 1001, 1, "d" * 63],
        "none": None,
    }
    (tmp_path / "packs" / "odd.pack").write_bytes(
        seal({"kind": "stat-pack", "dirs": {"/x": malformed, "/z": "not entries"}})
    )
    fresh = StatIndex(tmp_path)
    assert fresh.lookup(Path("/x/y"), _identity(1)) is None
    for name in malformed:
        assert fresh.lookup(Path(f"/x/{name}"), _identity(1)) is None


def test_many_packs_are_merged_into_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stat_index_module, "PACK_MERGE_AT", 4)
    items = [(Path(f"/src/d{i}/f"), _identity(i), f"{i:064x}") for i in range(7)]
    writer = StatIndex(tmp_path, racy_seconds=0)  # reads the packs once, at the first record
    for item in items:
        writer.record([item])
    assert len(_packs(tmp_path)) == 7
    reader = StatIndex(tmp_path)
    assert reader.lookup(*items[0][:2]) == items[0][2]
    assert len(_packs(tmp_path)) == 1  # the first lookup merged them
    fresh = StatIndex(tmp_path)
    assert all(fresh.lookup(path, identity) == merkle for path, identity, merkle in items)


def test_an_unwritable_index_only_costs_hashing(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    index = StatIndex(blocker, racy_seconds=0)
    index.record([(Path("/x/y"), _identity(1), "d" * 64)])
    assert index.lookup(Path("/x/y"), _identity(1)) == "d" * 64  # known in this process
    assert StatIndex(blocker).lookup(Path("/x/y"), _identity(1)) is None
