"""Small blobs in batches: the same frames and answers as one chunk at a time."""

from __future__ import annotations

import random
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from pytest_sizebudget.measure import small_blobs
from pytest_sizebudget.measure.blob import BlobMeasurement, measure_file
from pytest_sizebudget.measure.formats import StorageFormat
from pytest_sizebudget.measure.memory import new_compressor
from pytest_sizebudget.measure.small_blobs import (
    ReadBlob,
    frame_lengths,
    measure_in_batches,
    measured,
    read_blob,
)

RNG = random.Random(7)
WORDS = [b"zircon ", b"fidl ", b"component ", b"blob\n", b"0x1f ", b"route "]


def text(n: int) -> bytes:
    out = bytearray()
    while len(out) < n:
        out += RNG.choice(WORDS)
    return bytes(out[:n])


# Sizes around every threshold: blobfs compresses above 8 KiB, Fxfs above 4 KiB, a chunk
# is 32 KiB, the batch path takes blobs up to 1 MiB.
SIZES = [0, 1, 4096, 4097, 8192, 8193, 32768, 32769, 65537, 200_000, 1 << 20]


def corpus() -> list[bytes]:
    blobs = [text(n) for n in SIZES]
    blobs += [RNG.randbytes(n) for n in (8193, 40_000, 1 << 20)]  # incompressible
    blobs += [bytes(n) for n in (9000, 300_000)]  # zeros
    # Almost incompressible: a few frames fit, the sum does not (the early stop's case).
    blobs.append(RNG.randbytes(60_000) + text(5_000))
    return blobs


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    root = tmp_path_factory.mktemp("small")
    paths = []
    for i, data in enumerate(corpus()):
        path = root / f"{i:02d}.bin"
        path.write_bytes(data)
        paths.append(path)
    return paths


def test_frame_lengths_are_the_lengths_of_one_call_per_chunk() -> None:
    chunks: list[bytes] = [b"", b"x", text(32768), RNG.randbytes(32768), bytes(32768)]
    chunks += [text(n) for n in (100, 9000, 20_000)]
    one_at_a_time = [len(new_compressor().compress(c)) for c in chunks]
    for threads in (1, 2, 4):
        assert frame_lengths(chunks, threads, new_compressor()) == one_at_a_time
    views = [memoryview(c) for c in chunks]
    assert frame_lengths(views, 2, new_compressor()) == one_at_a_time
    assert frame_lengths([], 2, new_compressor()) == []


def test_frame_lengths_without_multi_compress(monkeypatch: pytest.MonkeyPatch) -> None:
    class NoMulti:
        def __init__(self) -> None:
            self.real = new_compressor()

        def multi_compress_to_buffer(self, *args: Any, **kwargs: Any) -> Any:
            raise NotImplementedError  # as python-zstandard's cffi backend

        def compress(self, data: Any) -> bytes:
            return self.real.compress(data)

    chunks = [text(9000), RNG.randbytes(100)]
    expected = [len(new_compressor().compress(c)) for c in chunks]
    assert frame_lengths(chunks, 2, NoMulti()) == expected  # type: ignore[arg-type]


def run_batches(
    paths: list[Path], layout: StorageFormat, delivery: bool
) -> dict[Path, BlobMeasurement]:
    got: dict[Path, BlobMeasurement] = {}

    def read(path: Path) -> ReadBlob:
        return read_blob(path, layout, delivery=delivery)

    def finish(path: Path, blob: ReadBlob, frames: list[int] | None) -> None:
        assert path not in got
        got[path] = measured(blob, frames, layout, delivery=delivery)

    measure_in_batches(paths, read, finish, threads=2)
    return got


@pytest.mark.parametrize("layout", ["compact", "deprecated_padded", "fxfs"])
@pytest.mark.parametrize("delivery", [False, True], ids=["", "delivery"])
@pytest.mark.parametrize("batch_bytes", [1, 50_000, 8 << 20], ids=["each", "some", "all"])
def test_batches_answer_as_measure_file(
    files: list[Path],
    layout: StorageFormat,
    delivery: bool,
    batch_bytes: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(small_blobs, "BATCH_BYTES", batch_bytes)
    got = run_batches(files, layout, delivery)
    assert set(got) == set(files)
    for path in files:
        assert got[path] == measure_file(path, layout, delivery=delivery)[0], path.name


def test_a_batch_is_cut_at_its_file_count(
    files: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(small_blobs, "BATCH_FILES", 2)
    calls: list[int] = []
    real = small_blobs.frame_lengths

    def counted(chunks: Any, *args: Any) -> list[int]:
        calls.append(len(chunks))
        return real(chunks, *args)

    monkeypatch.setattr(small_blobs, "frame_lengths", counted)
    got = run_batches(files, "compact", False)
    compressed = [p for p in files if read_blob(p, "compact").chunks()]
    assert len(calls) == -(-len(compressed) // 2)
    assert all(got[p] == measure_file(p, "compact")[0] for p in files)


def test_a_blob_with_nothing_to_compress_is_finished_without_a_batch(tmp_path: Path) -> None:
    small = tmp_path / "small"
    small.write_bytes(b"hello")
    seen: list[list[int] | None] = []
    measure_in_batches(
        [small],
        lambda p: read_blob(p, "compact"),
        lambda p, blob, frames: seen.append(frames),
        threads=2,
    )
    assert seen == [None]


def test_items_that_fail_to_read_are_skipped(files: list[Path]) -> None:
    finished: list[Path] = []
    measure_in_batches(
        files,
        lambda p: None if p == files[3] else read_blob(p, "compact"),
        lambda p, blob, frames: finished.append(p),
        threads=2,
    )
    assert sorted(finished) == sorted(p for p in files if p != files[3])


def test_waiting_for_a_batch_calls_idle(files: list[Path], monkeypatch: pytest.MonkeyPatch) -> None:
    release = threading.Event()
    real = small_blobs.frame_lengths

    def slow(*args: Any) -> list[int]:
        release.wait(5)
        return real(*args)

    idled: list[float] = []

    def idle() -> None:
        idled.append(time.monotonic())
        if len(idled) >= 3:
            release.set()

    monkeypatch.setattr(small_blobs, "frame_lengths", slow)
    measure_in_batches(
        files[-3:],
        lambda p: read_blob(p, "compact"),
        lambda *a: None,
        threads=1,
        idle=idle,
        interval=0.01,
    )
    assert len(idled) >= 3


def test_a_compression_failure_is_raised(
    files: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any) -> list[int]:
        raise RuntimeError("libzstd failed")

    monkeypatch.setattr(small_blobs, "frame_lengths", broken)
    with pytest.raises(RuntimeError, match="libzstd failed"):
        run_batches(files, "compact", False)
