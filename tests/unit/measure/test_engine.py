from __future__ import annotations

import builtins
import os
import random
import time
from pathlib import Path
from typing import Any

import pytest

from pytest_sizebudget.errors import MeasurementError
from pytest_sizebudget.measure import small_blobs
from pytest_sizebudget.measure.blob import BlobMeasurement, measure_file, stat_blob
from pytest_sizebudget.measure.cache import BlobCache
from pytest_sizebudget.measure.engine import MeasurementEngine
from pytest_sizebudget.measure.formats import StorageFormat
from pytest_sizebudget.measure.merkle import merkle_root
from pytest_sizebudget.measure.requests import BlobRequest, EngineStats

RNG = random.Random(42)
TEXT = b"".join(RNG.choice([b"alpha ", b"beta ", b"gamma\n", b"delta "]) for _ in range(40_000))


def _write(directory: Path, name: str, data: bytes) -> Path:
    path = directory / name
    path.write_bytes(data)
    past = time.time() - 60  # old enough for the stat index's racy-clean rule
    os.utime(path, (past, past))
    return path


@pytest.fixture
def product(tmp_path: Path) -> dict[str, Path]:
    src = tmp_path / "src"
    src.mkdir()
    return {
        "text": _write(src, "text", TEXT),
        "copy": _write(src, "copy", TEXT),  # same content, another path
        "random": _write(src, "random", RNG.randbytes(300_000)),
        "zeros": _write(src, "zeros", bytes(200_000)),
        "small": _write(src, "small", b"hello world"),
        "same-size": _write(src, "same-size", TEXT[:-1] + b"!"),
    }


class Measured:
    """Files the engine read to measure them (small ones in batches, large ones alone)."""

    def __init__(self) -> None:
        self.small: list[Path] = []
        self.large: list[Path] = []

    @property
    def created(self) -> int:
        return len(self.small) + len(self.large)


@pytest.fixture
def sizer_calls(monkeypatch: pytest.MonkeyPatch) -> Measured:
    from pytest_sizebudget.measure import engine as engine_module

    seen = Measured()
    real_read, real_measure = small_blobs.read_blob, measure_file

    def read(path: Path, *args: Any, **kwargs: Any) -> Any:
        seen.small.append(path)
        return real_read(path, *args, **kwargs)

    def measure(path: Path, *args: Any, **kwargs: Any) -> Any:
        seen.large.append(path)
        return real_measure(path, *args, **kwargs)

    monkeypatch.setattr(engine_module, "read_blob", read)
    monkeypatch.setattr(engine_module, "measure_file", measure)
    return seen


def test_results_match_single_file_measurement(product: dict[str, Path]) -> None:
    engine = MeasurementEngine("deprecated_padded", threads=2)
    requests = [BlobRequest(p) for p in product.values()]
    got = engine.measure(requests)
    assert list(got) == requests
    for request in requests:
        expected, _ = measure_file(request.source, "deprecated_padded")
        assert got[request] == expected


def test_identical_content_is_compressed_once(
    product: dict[str, Path], sizer_calls: Measured
) -> None:
    engine = MeasurementEngine("compact", threads=2)
    requests = [
        BlobRequest(product["text"]),
        BlobRequest(product["copy"]),
        BlobRequest(product["text"]),
    ]
    got = engine.measure(requests)
    assert got[requests[0]] == got[requests[1]]
    assert sizer_calls.created == 1
    assert engine.last_stats.blobs_compressed == 1
    # "same-size" shares the size but not the content: hashed, then compressed separately.
    engine.measure([BlobRequest(product["text"]), BlobRequest(product["same-size"])])
    assert sizer_calls.created == 3


def test_warm_run_reads_no_file(
    product: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = BlobCache(tmp_path / "cache", "compact", racy_seconds=0)
    requests = [BlobRequest(p) for p in product.values()]
    cold = MeasurementEngine("compact", cache=cache, threads=2).measure(requests)
    with_merkles = [
        BlobRequest(r.source, expected_merkle=m.merkle)
        for r, m in cold.items()
        if isinstance(m, BlobMeasurement)
    ]

    real_open, real_os_open = builtins.open, os.open

    def no_reads(opener: Any) -> Any:
        def guarded(path: Any, *args: object, **kwargs: object) -> object:
            if not Path(path).is_relative_to(tmp_path / "cache"):
                raise AssertionError(f"file opened on a warm run: {path}")
            return opener(path, *args, **kwargs)

        return guarded

    monkeypatch.setattr(os, "open", no_reads(real_os_open))
    monkeypatch.setattr(builtins, "open", no_reads(real_open))
    warm_cache = BlobCache(tmp_path / "cache", "compact", racy_seconds=0)
    engine = MeasurementEngine("compact", cache=warm_cache, threads=2)
    # Manifests give merkles: answered from the cache after one stat of each file (that it
    # still has the blob's length), without opening it.
    warm = engine.measure(with_merkles)
    assert [m for m in warm.values()] == [cold[BlobRequest(r.source)] for r in with_merkles]
    assert engine.last_stats.cache_hits == len(with_merkles)
    assert engine.last_stats.bytes_read == 0
    # No merkles: the stat index names the content, the cache sizes it; still no reads.
    again = engine.measure(requests)
    assert again == cold
    assert engine.last_stats.stat_index_hits == len(product)
    assert engine.last_stats.bytes_read == 0


def test_verify_mismatch_names_claimed_and_actual_root(product: dict[str, Path]) -> None:
    claimed = "0" * 64
    actual = merkle_root(TEXT)
    request = BlobRequest(product["text"], expected_merkle=claimed, verify=True)
    got = MeasurementEngine("compact", threads=1).measure([request])[request]
    assert isinstance(got, MeasurementError)
    message = str(got)
    assert str(product["text"]) in message
    assert claimed in message
    assert actual in message


def test_verify_ignores_a_cached_claim(product: dict[str, Path], tmp_path: Path) -> None:
    cache = BlobCache(tmp_path / "cache", "compact")
    text, _ = measure_file(product["text"], "compact")
    cache.put(text)
    # The manifest claims that same-size (text's length, other content) is the text blob:
    # a warm run trusts that (one stat, no read), verify catches it.
    trusting = BlobRequest(product["same-size"], expected_merkle=text.merkle)
    checking = BlobRequest(product["same-size"], expected_merkle=text.merkle, verify=True)
    got = MeasurementEngine("compact", cache=cache).measure([trusting, checking])
    assert got[trusting] == text
    assert isinstance(got[checking], MeasurementError)


def test_cached_claim_of_a_file_of_another_length_gives_the_cold_error(
    product: dict[str, Path], tmp_path: Path
) -> None:
    """A warm cache must not answer for a file that cannot be the claimed blob: its length
    differs from the cached blob's.  The answer is the cold run's, word for word."""
    zeros, _ = measure_file(product["zeros"], "compact")
    claims = [
        BlobRequest(product["text"], expected_merkle=zeros.merkle),
        BlobRequest(product["text"], expected_merkle=zeros.merkle, expected_size=200_000),
        BlobRequest(tmp_path / "src" / "gone", expected_merkle=zeros.merkle),
    ]
    cold = MeasurementEngine("compact").measure(claims)
    cache = BlobCache(tmp_path / "cache", "compact")
    cache.put(zeros)
    warm = MeasurementEngine("compact", cache=cache).measure(claims)
    for claim in claims:
        assert isinstance(cold[claim], MeasurementError)
        assert str(warm[claim]) == str(cold[claim])
    assert "merkle root is" in str(warm[claims[0]])
    assert f"file is {len(TEXT)} bytes but 200000 bytes were expected" in str(warm[claims[1]])
    assert "gone: does not exist" in str(warm[claims[2]])


def test_expected_size_mismatch(product: dict[str, Path]) -> None:
    request = BlobRequest(product["small"], expected_size=12)
    got = MeasurementEngine("compact").measure([request])[request]
    assert isinstance(got, MeasurementError)
    assert "small: file is 11 bytes but 12 bytes were expected" in str(got)


def test_bad_inputs_become_per_request_errors(product: dict[str, Path], tmp_path: Path) -> None:
    missing = BlobRequest(tmp_path / "missing")
    directory = BlobRequest(tmp_path)
    good = BlobRequest(product["zeros"])
    got = MeasurementEngine("compact", threads=2).measure([missing, directory, good])
    assert isinstance(got[missing], MeasurementError)
    assert "missing: does not exist" in str(got[missing])
    assert isinstance(got[directory], MeasurementError)
    assert "is a directory" in str(got[directory])
    assert isinstance(got[good], BlobMeasurement)


@pytest.mark.parametrize(
    "size", [300_000, small_blobs.SMALL_BLOB_BYTES + 12_345], ids=["small", "large"]
)
def test_file_vanishing_between_stat_and_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, size: int
) -> None:
    from pytest_sizebudget.measure import engine as engine_module

    path = _write(tmp_path, "random", RNG.randbytes(size))
    real_read, real_measure = small_blobs.read_blob, measure_file

    def vanish_then_read(path: Path, *args: Any, **kwargs: Any) -> Any:
        path.unlink()
        return real_read(path, *args, **kwargs)

    def vanish_then_measure(path: Path, *args: Any, **kwargs: Any) -> Any:
        path.unlink()
        return real_measure(path, *args, **kwargs)

    monkeypatch.setattr(engine_module, "read_blob", vanish_then_read)
    monkeypatch.setattr(engine_module, "measure_file", vanish_then_measure)
    request = BlobRequest(path)
    got = MeasurementEngine("compact").measure([request])[request]
    assert isinstance(got, MeasurementError)
    assert f"{path}: does not exist" in str(got)


def test_hash_only_uses_the_stat_index(product: dict[str, Path], tmp_path: Path) -> None:
    cache = BlobCache(tmp_path / "cache", "compact", racy_seconds=0)
    paths = [*product.values(), tmp_path / "nope"]
    engine = MeasurementEngine("compact", cache=cache)
    first = engine.hash_only(paths)
    assert first[product["small"]] == merkle_root(b"hello world")
    assert isinstance(first[tmp_path / "nope"], MeasurementError)
    assert engine.last_stats.files_hashed == len(product)
    second_engine = MeasurementEngine("compact", cache=BlobCache(tmp_path / "cache", "compact"))
    second = second_engine.hash_only(product.values())
    assert second == {p: first[p] for p in product.values()}
    assert second_engine.last_stats.files_hashed == 0
    assert second_engine.last_stats.stat_index_hits == len(product)


def test_progress_reports_reach_the_totals(product: dict[str, Path]) -> None:
    calls: list[tuple[int, int, int, int]] = []
    engine = MeasurementEngine(
        "compact", threads=2, progress=lambda *a: calls.append(a), progress_interval=0
    )
    engine.measure([BlobRequest(p) for p in product.values()])
    assert calls
    done, total, bytes_done, bytes_total = calls[-1]
    assert done == total == len(product)
    assert bytes_done == bytes_total > 0
    assert all(c[0] <= c[1] and c[2] <= c[3] for c in calls)


def test_cache_layout_must_match() -> None:
    with pytest.raises(ValueError, match="layout"):
        MeasurementEngine("compact", cache=BlobCache(None, "deprecated_padded"))


def test_request_and_stats_round_trip() -> None:
    request = BlobRequest(Path("/a/b"), "f" * 64, 3, True)
    assert BlobRequest.from_dict(request.to_dict()) == request
    stats = EngineStats(requests=2, bytes_read=5)
    assert EngineStats.from_dict(stats.to_dict()) == stats


def test_measure_package_does_not_import_pytest() -> None:
    import subprocess
    import sys

    code = (
        "import sys, pytest_sizebudget.measure.engine, pytest_sizebudget.measure.cache\n"
        "bad = sorted(m for m in sys.modules if m == 'pytest' or m.startswith('_pytest'))\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("layout", ["compact", "fxfs"])
def test_small_blobs_in_batches_and_large_ones_alone_answer_alike(
    product: dict[str, Path], tmp_path: Path, sizer_calls: Measured, layout: StorageFormat
) -> None:
    text = TEXT * (small_blobs.SMALL_BLOB_BYTES // len(TEXT))
    large = _write(tmp_path, "large", text + RNG.randbytes(200_000))
    paths = [*product.values(), large]
    engine = MeasurementEngine(layout, threads=2)
    got = engine.measure([BlobRequest(p) for p in paths], delivery=True)
    for request, answer in got.items():
        assert answer == measure_file(request.source, layout, delivery=True)[0]
    assert sizer_calls.large == [large]  # streamed, its chunk batches in parallel
    assert len(sizer_calls.small) == len(set(p.read_bytes() for p in product.values()))


def test_a_file_changed_after_hashing_is_an_error(
    product: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    from pytest_sizebudget.measure import engine as engine_module

    real_read = small_blobs.read_blob

    def rewrite_then_read(path: Path, *args: Any, **kwargs: Any) -> Any:
        data = path.read_bytes()
        path.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))  # same length, new content
        return real_read(path, *args, **kwargs)

    monkeypatch.setattr(engine_module, "read_blob", rewrite_then_read)
    # Same-size files are hashed first (they may be one blob), then read to measure.
    requests = [BlobRequest(product["text"]), BlobRequest(product["same-size"])]
    got = MeasurementEngine("compact", threads=2).measure(requests)
    for request in requests:
        assert isinstance(got[request], MeasurementError)
        assert "file changed while being measured (merkle root" in str(got[request])


def test_when_a_shared_blob_fails_its_other_files_are_measured_alone(
    product: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    from pytest_sizebudget.measure import engine as engine_module

    real_read = small_blobs.read_blob

    def rewrite_text_then_read(path: Path, *args: Any, **kwargs: Any) -> Any:
        if path == product["text"]:
            data = path.read_bytes()
            path.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))
        return real_read(path, *args, **kwargs)

    monkeypatch.setattr(engine_module, "read_blob", rewrite_text_then_read)
    # Same content: one group, measured once through its first file, which changes.
    text, copy = BlobRequest(product["text"]), BlobRequest(product["copy"])
    got = MeasurementEngine("compact", threads=2).measure([text, copy])
    assert isinstance(got[text], MeasurementError)
    assert "file changed while being measured" in str(got[text])
    assert got[copy] == measure_file(product["copy"], "compact")[0]


def test_the_stat_index_gets_unclaimed_files_only(product: dict[str, Path], tmp_path: Path) -> None:
    cache = BlobCache(tmp_path / "cache", "compact", racy_seconds=0)
    random_merkle = merkle_root(product["random"].read_bytes())
    claimed = BlobRequest(product["random"], expected_merkle=random_merkle)
    unclaimed = [BlobRequest(product[k]) for k in ("text", "zeros", "small")]
    MeasurementEngine("compact", cache=cache, threads=2).measure([claimed, *unclaimed])
    index = BlobCache(tmp_path / "cache", "compact", racy_seconds=0).stat_index
    for request in unclaimed:
        identity = stat_blob(request.source)
        assert index.lookup(request.source, identity) == merkle_root(request.source.read_bytes())
    # Asked for only under its claimed merkle: the cache answers it by that merkle.
    assert index.lookup(product["random"], stat_blob(product["random"])) is None
