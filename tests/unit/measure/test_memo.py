"""The evaluation memo's store: keys from file contents, the stat shortcut, sealing."""

from __future__ import annotations

import os
import pickle
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from pytest_sizebudget.accounting import BlobCharge, PackageCharge, Usage
from pytest_sizebudget.kinds.package_set_memo import RememberedPackages, remember
from pytest_sizebudget.measure import memo as memo_module
from pytest_sizebudget.measure.formats import StorageFormat
from pytest_sizebudget.measure.memo import AnsweredBlobs, EvaluationMemo

SLOT = b"s" * 32


class Counted:
    def __init__(self) -> None:
        self.calls: list[tuple[StorageFormat, list[str]]] = []

    def __call__(self, layout: StorageFormat, merkles: Sequence[str]) -> None:
        self.calls.append((layout, list(merkles)))


def make(root: Path, racy_seconds: float = 0.0) -> tuple[EvaluationMemo, Counted]:
    counted = Counted()
    memo = EvaluationMemo(root, lambda layout: f"id-{layout}", counted, racy_seconds=racy_seconds)
    return memo, counted


@pytest.fixture
def inputs(tmp_path: Path) -> list[tuple[Path, str]]:
    files = []
    for name in ("a.json", "b.json"):
        path = tmp_path / name
        path.write_text(f'{{"name": "{name}"}}')
        os.utime(path, ns=(1_000_000_000, 1_000_000_000))  # long ago: not racy
        files.append((path, name))
    return files


def reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    seen: list[str] = []
    real = memo_module.read_bytes  # type: ignore[attr-defined]

    def counting(path: Path, shown: str) -> bytes:
        seen.append(shown)
        return real(path, shown)

    monkeypatch.setattr(memo_module, "read_bytes", counting)
    return seen


def test_a_remembered_payload_comes_back_under_the_same_key(
    tmp_path: Path, inputs: list[tuple[Path, str]]
) -> None:
    memo, _ = make(tmp_path / "cache")
    at = memo.key(SLOT, b"salt", inputs)
    assert at is not None
    assert memo.recall(at) is None  # nothing kept yet
    memo.remember(at, ([1, 2], {"x": "y"}))
    again, _ = make(tmp_path / "cache")  # the next run
    at2 = again.key(SLOT, b"salt", inputs)
    assert at2 is not None
    assert at2.key == at.key
    assert again.recall(at2) == ([1, 2], {"x": "y"})


def test_files_unchanged_since_they_were_recorded_are_not_read_again(
    tmp_path: Path, inputs: list[tuple[Path, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    memo, _ = make(tmp_path / "cache")
    at = memo.key(SLOT, b"salt", inputs)
    assert at is not None
    memo.remember(at, "payload")
    seen = reads(monkeypatch)
    again, _ = make(tmp_path / "cache")
    at2 = again.key(SLOT, b"salt", inputs)
    assert at2 is not None
    assert again.recall(at2) == "payload"
    assert seen == []


def test_recently_modified_files_are_read_again(
    tmp_path: Path, inputs: list[tuple[Path, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file modified within the racy window may change again without changing its
    size or times: its content is read (and still matches)."""
    memo, _ = make(tmp_path / "cache", racy_seconds=10**10)
    at = memo.key(SLOT, b"salt", inputs)
    assert at is not None
    memo.remember(at, "payload")
    seen = reads(monkeypatch)
    again, _ = make(tmp_path / "cache", racy_seconds=10**10)
    at2 = again.key(SLOT, b"salt", inputs)
    assert at2 is not None
    assert again.recall(at2) == "payload"
    assert seen == ["a.json", "b.json"]


def test_new_content_with_the_same_size_and_times_is_a_new_key(
    tmp_path: Path, inputs: list[tuple[Path, str]]
) -> None:
    """Size and mtime put back as they were: the inode's change time still moves, so
    the file is read, and its new content gives a new key."""
    memo, _ = make(tmp_path / "cache")
    at = memo.key(SLOT, b"salt", inputs)
    assert at is not None
    memo.remember(at, "payload")
    path = inputs[0][0]
    path.write_text(path.read_text().replace("a", "z"))
    os.utime(path, ns=(1_000_000_000, 1_000_000_000))
    again, _ = make(tmp_path / "cache")
    at2 = again.key(SLOT, b"salt", inputs)
    assert at2 is not None
    assert at2.key != at.key
    assert again.recall(at2) is None


def test_another_salt_is_another_key(tmp_path: Path, inputs: list[tuple[Path, str]]) -> None:
    memo, _ = make(tmp_path / "cache")
    at = memo.key(SLOT, b"salt", inputs)
    assert at is not None
    memo.remember(at, "payload")
    again, _ = make(tmp_path / "cache")
    other = again.key(SLOT, b"another", inputs)
    assert other is not None
    assert other.key != at.key
    assert again.recall(other) is None


@pytest.mark.parametrize("what", ["directory", "missing", "fifo", "nul"])
def test_an_input_that_is_no_regular_file_gives_no_key(
    tmp_path: Path, inputs: list[tuple[Path, str]], what: str
) -> None:
    bad = tmp_path / "bad"
    if what == "directory":
        bad.mkdir()
    elif what == "fifo":
        os.mkfifo(bad)
    elif what == "nul":
        bad = tmp_path / "b\0ad"
    memo, _ = make(tmp_path / "cache")
    assert memo.key(SLOT, b"salt", [*inputs, (bad, "bad")]) is None


@pytest.mark.parametrize(
    "damage",
    [
        lambda raw: raw[:-1],  # truncated
        lambda raw: raw[:-5] + bytes([raw[-5] ^ 1]) + raw[-4:],  # one bit flipped
        lambda raw: b"OTHER!!\n" + raw[8:],  # foreign
        lambda raw: b"",
    ],
    ids=["truncated", "bit-flipped", "foreign", "empty"],
)
def test_a_damaged_memo_is_a_miss(
    tmp_path: Path, inputs: list[tuple[Path, str]], damage: object
) -> None:
    memo, _ = make(tmp_path / "cache")
    at = memo.key(SLOT, b"salt", inputs)
    assert at is not None
    memo.remember(at, "payload")
    (path,) = memo.directory.iterdir()
    path.write_bytes(damage(path.read_bytes()))  # type: ignore[operator]
    again, _ = make(tmp_path / "cache")
    at2 = again.key(SLOT, b"salt", inputs)
    assert at2 is not None
    assert again.recall(at2) is None


def test_a_fifo_in_place_of_the_memo_is_a_miss_without_hanging(
    tmp_path: Path, inputs: list[tuple[Path, str]]
) -> None:
    memo, _ = make(tmp_path / "cache")
    at = memo.key(SLOT, b"salt", inputs)
    assert at is not None
    memo.directory.mkdir(parents=True)
    os.mkfifo(memo.directory / f"{SLOT.hex()}.bin")
    assert memo.recall(at) is None


def test_an_unwritable_memo_costs_time_not_correctness(
    tmp_path: Path, inputs: list[tuple[Path, str]]
) -> None:
    (tmp_path / "cache").write_text("a file where the directory would be")
    memo, _ = make(tmp_path / "cache")
    at = memo.key(SLOT, b"salt", inputs)
    assert at is not None
    memo.remember(at, "payload")  # no exception
    assert memo.recall(at) is None


def blobs_at(tmp_path: Path, sizes: Sequence[int]) -> AnsweredBlobs:
    triples = []
    for i, size in enumerate(sizes):
        path = tmp_path / f"blob{i}"
        path.write_bytes(b"x" * size)
        triples.append((f"{i:064x}", str(path), size))
    return AnsweredBlobs.of(triples)


def test_blobs_whose_files_kept_their_length_count_as_answered(tmp_path: Path) -> None:
    memo, counted = make(tmp_path / "cache")
    answered = blobs_at(tmp_path, [3, 5])
    assert memo.still_answered("compact", answered)
    assert counted.calls == [("compact", [f"{0:064x}", f"{1:064x}"])]


@pytest.mark.parametrize("change", ["grew", "missing", "fifo", "directory"])
def test_a_blob_file_that_changed_is_not_answered_and_nothing_is_counted(
    tmp_path: Path, change: str
) -> None:
    memo, counted = make(tmp_path / "cache")
    answered = blobs_at(tmp_path, [3, 5])
    path = tmp_path / "blob1"
    path.unlink()
    if change == "grew":
        path.write_bytes(b"x" * 6)
    elif change == "fifo":
        os.mkfifo(path)
    elif change == "directory":
        path.mkdir()
    assert not memo.still_answered("compact", answered)
    assert counted.calls == []


def charges() -> tuple[PackageCharge, ...]:
    return (
        PackageCharge("p", "p.json", 30, 20, (BlobCharge("a" * 64, "bin/a", 10, 1, 10),)),
        PackageCharge(
            "q",
            "q.json",
            20,
            10,
            (BlobCharge("a" * 64, "bin/a", 10, 2, 5), BlobCharge("b" * 64, "b", 10, 2, 5, "R")),
        ),
    )


def test_remembered_packages_decode_to_the_charges_they_stand_for(tmp_path: Path) -> None:
    memo, _ = make(tmp_path / "cache")
    at = memo.key(SLOT, b"salt", [])
    assert at is not None
    remember(memo, at, {"k": Usage(50, charges(), 0)}, AnsweredBlobs([], []))
    found: Any = memo.recall(at)
    ((key, used, fixed, count, data),) = found[1]
    lazy = RememberedPackages(data, count)
    assert (key, used, fixed, len(lazy)) == ("k", 50, 0, 2)
    assert lazy._decoded is None  # len() and bool() decode nothing
    assert bool(lazy)
    assert lazy == charges()
    assert charges() == lazy
    assert tuple(lazy) == charges()
    assert lazy[1] == charges()[1]
    assert lazy[:1] == charges()[:1]
    assert all(type(b) is BlobCharge for p in lazy for b in p.blobs)
    assert lazy[1].blobs[1].excluded_by == "R"
    # To an xdist controller (or anywhere pickled) it goes as the plain tuple.
    assert pickle.loads(pickle.dumps(lazy)) == charges()
    assert type(pickle.loads(pickle.dumps(lazy))) is tuple


@pytest.mark.parametrize(
    "payload",
    [
        (([], []), [("k", 1, 2)]),  # a budget's entry of another length
        (([], [], []), [("k", 1, 0, 0, b"")]),  # checks of another shape
        ((["m"], [("d", ["m"])]), [("k", 1, 0, 0, b"")]),  # a folder of another shape
        ((["m"], []), [("k", 1, 0, 0, b"")]),  # a blob in no folder
        (([], []), "not a list"),
        "not a pair",
    ],
    ids=["entry", "checks", "folder", "unfiled", "budgets", "payload"],
)
def test_a_remembered_answer_of_another_shape_is_a_miss(tmp_path: Path, payload: object) -> None:
    from types import SimpleNamespace

    from pytest_sizebudget.kinds.package_set_memo import recall

    memo, counted = make(tmp_path / "cache")
    at = memo.key(SLOT, b"salt", [])
    assert at is not None
    memo.remember(at, payload)
    bf: Any = SimpleNamespace(storage_format="compact")
    budgets: Any = [SimpleNamespace(key="k")]
    assert recall(memo, at, bf, budgets) is None
    assert counted.calls == []
