from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pytest_sizebudget.measure import cache as cache_module
from pytest_sizebudget.measure.blob import BlobMeasurement, FileIdentity
from pytest_sizebudget.measure.cache import (
    PACK_ENTRIES,
    PACK_MERGE_AT,
    BlobCache,
    StatIndex,
    params_fingerprint,
)
from pytest_sizebudget.measure.sizer import BlobLocks


def _measurement(i: int, layout: str = "compact") -> BlobMeasurement:
    merkle = f"{i:064x}"
    return BlobMeasurement.from_sizes(merkle, 100_000 + i, 5000 + i, "compact")


def test_round_trip_through_a_pack(tmp_path: Path) -> None:
    cache = BlobCache(tmp_path, "compact")
    m = _measurement(7)
    assert cache.get(m.merkle) is None
    cache.put(m)
    assert cache.get(m.merkle) == m  # this process sees it before it is written
    assert cache.get(m.merkle.upper()) == m
    assert list(cache.pack_dir.glob("*.pack")) == []
    cache.flush()
    (pack,) = cache.pack_dir.glob("*.pack")
    assert cache.fingerprint in pack.parts
    assert (cache.hits, cache.misses, cache.rejected) == (2, 1, 0)
    assert BlobCache(tmp_path, "compact").get(m.merkle) == m  # the next process
    assert not [p for p in tmp_path.rglob(".tmp-*")]


def test_many_entries_go_to_few_files(tmp_path: Path) -> None:
    cache = BlobCache(tmp_path, "compact")
    for i in range(PACK_ENTRIES + 5):
        cache.put(_measurement(i))
    assert len(list(cache.pack_dir.glob("*.pack"))) == 1  # a full pack is written at once
    cache.flush()
    assert len(list(cache.pack_dir.glob("*.pack"))) == 2
    again = BlobCache(tmp_path, "compact")
    assert all(again.get(_measurement(i).merkle) == _measurement(i) for i in range(1029))


def test_packs_are_merged_when_there_are_many(tmp_path: Path) -> None:
    """Seventy runs, a pack each: the run that finds more than PACK_MERGE_AT merges
    them, and the ones after it add theirs (six files in the end, every entry in them)."""
    for i in range(PACK_MERGE_AT + 6):
        writer = BlobCache(tmp_path, "compact")
        writer.put(_measurement(i))
        writer.flush()
    assert len(list(writer.pack_dir.glob("*.pack"))) == 6
    again = BlobCache(tmp_path, "compact")
    assert all(again.get(_measurement(i).merkle) == _measurement(i) for i in range(70))


def test_entries_of_this_run_are_told_apart(tmp_path: Path) -> None:
    writer = BlobCache(tmp_path, "compact", run="run-1")
    writer.put(_measurement(1))
    writer.flush()
    same_run = BlobCache(tmp_path, "compact", run="run-1")
    later = BlobCache(tmp_path, "compact", run="run-2")
    assert same_run.get(_measurement(1).merkle) == later.get(_measurement(1).merkle)
    assert same_run.this_run == {_measurement(1).merkle}
    assert later.this_run == set()


def legacy_entry(cache: BlobCache, m: BlobMeasurement) -> Path:
    """An entry as earlier versions wrote them, one file per blob: still read."""
    path = cache.entry_path(m.merkle)
    path.parent.mkdir(parents=True, exist_ok=True)
    body: dict[str, object] = {
        "kind": "blob",
        "key": m.merkle,
        "params": cache.fingerprint,
        "result": m.to_dict(),
    }
    path.write_bytes(cache_module.seal(body))
    return path


def test_an_entry_of_one_blob_per_file_is_still_read(tmp_path: Path) -> None:
    cache = BlobCache(tmp_path, "compact")
    m = _measurement(5)
    path = legacy_entry(cache, m)
    assert path.parent.name == m.merkle[:2]
    assert cache.get(m.merkle) == m


def test_fingerprint_depends_on_layout() -> None:
    assert params_fingerprint("compact") != params_fingerprint("deprecated_padded")


def test_other_layout_does_not_see_entries(tmp_path: Path) -> None:
    m = _measurement(1)
    BlobCache(tmp_path, "compact").put(m)
    assert BlobCache(tmp_path, "deprecated_padded").get(m.merkle) is None


def test_disabled_cache_is_a_no_op(tmp_path: Path) -> None:
    cache = BlobCache(None, "compact")
    cache.put(_measurement(1))
    assert cache.get(_measurement(1).merkle) is None
    assert not cache.enabled
    assert not cache.stat_index.enabled


def _truncate(raw: bytes) -> bytes:
    return raw[: len(raw) // 2]


def _flip(raw: bytes) -> bytes:
    # Change a digit inside the result, keeping the JSON valid: only the checksum notices.
    text = raw.decode()
    at = text.index('"size_on_disk": ') + len('"size_on_disk": ')
    digit = text[at]
    return (text[:at] + ("1" if digit != "1" else "2") + text[at + 1 :]).encode()


def _garbage(raw: bytes) -> bytes:
    return os.urandom(len(raw))


def _empty(raw: bytes) -> bytes:
    return b""


def _not_an_object(raw: bytes) -> bytes:
    return b"[1, 2, 3]"


CORRUPTIONS: list[Callable[[bytes], bytes]] = [_truncate, _flip, _garbage, _empty, _not_an_object]


@pytest.mark.parametrize("corrupt", CORRUPTIONS, ids=lambda f: f.__name__.strip("_"))
def test_corrupt_entry_is_ignored_then_rewritten(
    tmp_path: Path, corrupt: Callable[[bytes], bytes]
) -> None:
    cache = BlobCache(tmp_path, "compact")
    m = _measurement(3)
    path = legacy_entry(cache, m)
    path.write_bytes(corrupt(path.read_bytes()))
    assert cache.get(m.merkle) is None
    assert cache.rejected == 1
    cache.put(m)  # what the engine does after recomputing
    cache.flush()
    assert BlobCache(tmp_path, "compact").get(m.merkle) == m


@pytest.mark.parametrize("corrupt", CORRUPTIONS, ids=lambda f: f.__name__.strip("_"))
def test_a_corrupt_pack_is_ignored_and_its_blobs_measured_again(
    tmp_path: Path, corrupt: Callable[[bytes], bytes]
) -> None:
    cache = BlobCache(tmp_path, "compact")
    m = _measurement(3)
    cache.put(m)
    cache.flush()
    (pack,) = cache.pack_dir.glob("*.pack")
    pack.write_bytes(corrupt(pack.read_bytes()))
    reader = BlobCache(tmp_path, "compact")
    assert reader.get(m.merkle) is None
    reader.put(m)  # measured again
    reader.flush()
    assert BlobCache(tmp_path, "compact").get(m.merkle) == m


def test_entry_under_the_wrong_key_is_rejected(tmp_path: Path) -> None:
    cache = BlobCache(tmp_path, "compact")
    a, b = _measurement(1), _measurement(2)
    target = cache.entry_path(b.merkle)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(legacy_entry(cache, a).read_bytes())  # a validly sealed entry
    assert cache.get(b.merkle) is None
    assert cache.rejected == 1


def test_resealed_entry_with_a_foreign_fingerprint_is_rejected(tmp_path: Path) -> None:
    from pytest_sizebudget.measure import cache as cache_module

    cache = BlobCache(tmp_path, "compact")
    m = _measurement(4)
    body: dict[str, object] = {
        "kind": "blob",
        "key": m.merkle,
        "params": "0" * 16,
        "result": m.to_dict(),
    }
    path = cache.entry_path(m.merkle)
    path.parent.mkdir(parents=True)
    path.write_bytes(cache_module.seal(body))
    assert cache.get(m.merkle) is None


def test_unwritable_cache_only_costs_speed(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    cache = BlobCache(blocker, "compact")
    cache.put(_measurement(1))
    cache.flush()
    assert cache.write_failures == 1
    assert BlobCache(blocker, "compact").get(_measurement(1).merkle) is None


def _writer(root: str, start: int, rounds: int) -> None:
    cache = BlobCache(root, "compact")
    for r in range(rounds):
        for i in range(20):
            cache.put(_measurement(i))
        cache.flush()  # a pack per round: enough packs for readers to merge meanwhile
        identity = FileIdentity(r, 1, 1, start + r, 1)
        cache.stat_index.record([(Path(f"/src/dir/file-{start + r}"), identity, "a" * 64)])


def test_concurrent_writers_never_leave_a_torn_entry(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_writer, args=(str(tmp_path), n * 1000, 40)) for n in range(2)]
    for p in procs:
        p.start()
    reader = BlobCache(tmp_path, "compact")
    reads = 0
    while any(p.is_alive() for p in procs):
        reader.refresh()
        for i in range(20):
            reader.get(_measurement(i).merkle)
            reads += 1
    for p in procs:
        p.join()
        assert p.exitcode == 0
    # Every entry the reader found (present but possibly mid-replace) was whole.
    assert reads > 0
    assert reader.rejected == 0
    for i in range(20):
        assert BlobCache(tmp_path, "compact").get(_measurement(i).merkle) == _measurement(i)
    # The flock-protected merge keeps both writers' stat-index entries.
    index = StatIndex(tmp_path / "v1" / "stat", racy_seconds=0)
    for n in range(2):
        for r in range(40):
            identity = FileIdentity(r, 1, 1, n * 1000 + r, 1)
            assert index.lookup(Path(f"/src/dir/file-{n * 1000 + r}"), identity) == "a" * 64
    leftovers = [p for p in tmp_path.rglob(".tmp-*")]
    assert leftovers == []


def _hold(path: str, merkle: str, held: Any, release: Any) -> None:
    locks = BlobLocks(Path(path))
    assert locks.try_lock(merkle)
    held.set()
    release.wait(10)
    locks.unlock(merkle)


def test_blob_locks_exclude_another_process_per_merkle(tmp_path: Path) -> None:
    """One file, a byte per merkle: another process's lock on one merkle leaves the
    others free, and waiting ends when it lets go."""
    ctx = multiprocessing.get_context("fork")
    held, release = ctx.Event(), ctx.Event()
    path = tmp_path / "locks" / "f.lock"
    one, other = "ab" * 32, "cd" * 32
    proc = ctx.Process(target=_hold, args=(str(path), one, held, release))
    proc.start()
    try:
        assert held.wait(10)
        locks = BlobLocks(path)
        assert not locks.try_lock(one)
        assert locks.try_lock(other)
        locks.unlock(other)
        release.set()
        locks.wait(one)  # returns once the other process let go
        assert locks.try_lock(one)
    finally:
        release.set()
        proc.join(10)
    assert proc.exitcode == 0
