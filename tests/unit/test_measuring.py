"""EngineSizer pieces that need no pytest run: thread split, progress text, packed sizes."""

from __future__ import annotations

import os
from pathlib import Path

from pytest_sizebudget.measure.merkle import merkle_root
from pytest_sizebudget.measure.sizer import EngineSizer, Progress, SizeRequest, default_threads


def test_xdist_workers_split_the_cores() -> None:
    cpus = os.cpu_count() or 1
    assert default_threads({}) == cpus
    assert default_threads({"PYTEST_XDIST_WORKER_COUNT": "2"}) == max(1, cpus // 2)
    assert default_threads({"PYTEST_XDIST_WORKER_COUNT": str(cpus * 4)}) == 1
    assert default_threads({"PYTEST_XDIST_WORKER_COUNT": "junk"}) == cpus


def test_progress_text() -> None:
    text = Progress(3, 10, 5 << 20, 2.0).describe()
    assert text == "sizebudget: measuring blobs: 3/10 done, 5.0 MiB read, 2.5 MiB/s"


def test_packed_sizes_answer_a_warm_sizer_without_per_blob_entries(tmp_path: Path) -> None:
    blob = tmp_path / "blob"
    blob.write_bytes(b"x" * 20_000)
    request = SizeRequest(merkle_root(blob.read_bytes()), blob, 20_000)
    cold = EngineSizer(tmp_path / "cache", threads=1)
    assert cold.size_blobs([request], "compact") == {request.merkle: 8192}
    assert cold.stats.files_measured == 1
    for entry in (tmp_path / "cache").rglob("blobs/**/*.json"):
        entry.unlink()
    warm = EngineSizer(tmp_path / "cache", threads=1)
    assert warm.size_blobs([request], "compact") == {request.merkle: 8192}
    assert warm.stats.cache_hits == 1
    assert warm.stats.files_measured == 0
    # A manifest size that disagrees with the file is caught on the packed path too.
    wrong = SizeRequest(request.merkle, blob, 7)
    assert "file is 20000 bytes but 7 bytes were expected" in str(
        warm.size_blobs([wrong], "compact")[request.merkle]
    )


def test_reuse_within_a_run_is_no_cache_hit(tmp_path: Path) -> None:
    """A cold run that meets a blob twice (two budget files) reuses its measurement: the
    summary must not call that a cache hit, which reads like a stale cache."""
    blob = tmp_path / "blob"
    blob.write_bytes(b"y" * 20_000)
    request = SizeRequest(merkle_root(blob.read_bytes()), blob, 20_000)
    cold = EngineSizer(tmp_path / "cache", threads=1, run="run-1")
    cold.size_blobs([request], "compact")
    cold.size_blobs([request], "compact")  # the second budget file
    assert (cold.stats.files_measured, cold.stats.reused, cold.stats.cache_hits) == (1, 1, 0)
    # Another xdist worker of the same run reads the entry: reuse too.
    worker = EngineSizer(tmp_path / "cache", threads=1, run="run-1")
    for entry in (tmp_path / "cache").rglob("packed/*.json"):
        entry.unlink()  # reach the per-blob entry, which carries the run
    worker.size_blobs([request], "compact")
    assert (worker.stats.reused, worker.stats.cache_hits) == (1, 0)
    # The next run: a cache hit.
    warm = EngineSizer(tmp_path / "cache", threads=1, run="run-2")
    warm.size_blobs([request], "compact")
    assert (warm.stats.files_measured, warm.stats.reused, warm.stats.cache_hits) == (0, 0, 1)
