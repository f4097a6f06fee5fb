from __future__ import annotations

import random
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import zstandard

from pytest_sizebudget.measure.blobfs import chunk_size
from pytest_sizebudget.measure.engine import MeasurementEngine
from pytest_sizebudget.measure.memory import (
    ByteBudget,
    CompressorPool,
    compress_bound,
    context_bytes,
    new_compressor,
)
from pytest_sizebudget.measure.requests import BlobRequest

KiB, MiB = 1 << 10, 1 << 20
# Blobfs chunk lengths of a 32 MiB blob and of a 2 GiB one: small and full-size contexts.
SMALL, BIG = chunk_size(32 * MiB), chunk_size(2048 * MiB)


def _blocked(
    target: Callable[..., object], *args: object
) -> tuple[threading.Thread, threading.Event]:
    """Run ``target(*args)`` on a thread; the event is set once it returns."""
    done = threading.Event()

    def run() -> None:
        target(*args)
        done.set()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, done


def _need(length: int) -> int:
    """What one compression of ``length`` bytes holds: its context and output buffer."""
    return context_bytes(length) + compress_bound(length)


def test_context_bytes_follows_the_chunk_and_stops_at_level_14s_window() -> None:
    small, big = context_bytes(32 * KiB), context_bytes(BIG)
    assert small < 2 * MiB < 40 * MiB < big
    # Past level 14's 2^22 window the context stops growing; only the chunk itself does.
    assert context_bytes(4 * BIG) == big
    # Chunk lengths with the same parameters share a context (and a pool key).
    assert context_bytes(32 * KiB) == context_bytes(32 * KiB - 1000)
    assert compress_bound(0) == (128 * KiB) >> 11
    assert compress_bound(MiB) == MiB + MiB // 256


def test_a_returned_compressor_is_reused_for_the_same_context() -> None:
    pool = CompressorPool()
    for length in (SMALL, SMALL - 1, SMALL - 4096):  # a blob's last chunk is shorter
        with pool.borrow(length) as compressor:
            compressor.compress(bytes(length))
    assert pool.created == 1
    assert pool.live_bytes == context_bytes(SMALL)


@pytest.mark.parametrize("length", [9000, 32 * KiB, SMALL, 600 * KiB, BIG])
def test_pooled_compressors_give_the_bytes_of_a_fresh_one(length: int) -> None:
    # Reuse must not change a single byte: the sizes are exact only if every frame is what
    # a fresh ZSTD_compress2 at level 14 makes of it.
    rng = random.Random(length)
    pool = CompressorPool(budget_bytes=0)
    pieces = [rng.randbytes(length), bytes(length), rng.randbytes(length // 2) * 2]
    for piece in pieces + pieces:
        with pool.borrow(len(piece)) as compressor:
            got = compressor.compress(piece)
        assert got == new_compressor().compress(piece)


def test_contexts_beyond_the_budget_wait_for_one_to_come_back() -> None:
    pool = CompressorPool(budget_bytes=_need(BIG) + MiB)
    first = pool.borrow(BIG)
    first.__enter__()
    thread, done = _blocked(lambda: pool.borrow(BIG).__enter__())
    assert not done.wait(0.3)  # a second 48 MiB context would exceed the budget
    first.__exit__(None, None, None)
    thread.join(10)
    assert done.is_set()
    assert pool.created == 1  # the waiter got the returned compressor
    assert pool.peak_bytes == _need(BIG)


def test_one_context_is_always_allowed_even_above_the_budget() -> None:
    pool = CompressorPool(budget_bytes=MiB)
    with pool.borrow(BIG) as compressor:
        assert len(compressor.compress(bytes(BIG))) < BIG
    assert pool.peak_bytes == _need(BIG) > pool.budget_bytes


def test_idle_contexts_of_other_sizes_are_dropped_to_make_room() -> None:
    # Room for the big context, but not for it and a small compression too.
    pool = CompressorPool(budget_bytes=context_bytes(BIG) + _need(SMALL) // 2)
    with pool.borrow(SMALL):
        pass
    with pool.borrow(BIG):
        assert pool.live_bytes == _need(BIG)  # the idle small one was freed
    with pool.borrow(SMALL):
        assert pool.live_bytes == _need(SMALL)  # and now the big one
    assert pool.peak_bytes == _need(BIG)


def test_small_compressions_cannot_starve_a_big_one() -> None:
    # Two threads keep borrowing small contexts; a big borrower arrives and must get its
    # turn: returned small contexts are freed instead of kept while it waits.
    pool = CompressorPool(budget_bytes=_need(BIG) + _need(SMALL) // 2)
    stop = threading.Event()

    def churn() -> None:
        while not stop.is_set():
            with pool.borrow(SMALL) as compressor:
                compressor.compress(bytes(1000))

    with ThreadPoolExecutor(2) as executor:
        churners = [executor.submit(churn) for _ in range(2)]
        thread, done = _blocked(lambda: pool.borrow(BIG).__enter__())
        got_turn = done.wait(20)
        stop.set()
        for churner in churners:
            churner.result()
    assert got_turn
    thread.join(10)


def test_pool_rejects_a_negative_budget() -> None:
    with pytest.raises(ValueError, match="must not be negative"):
        CompressorPool(budget_bytes=-1)


def test_byte_budget_serves_in_order_and_lets_an_oversized_request_go_alone() -> None:
    budget = ByteBudget(limit=10)
    budget.acquire(6)
    order: list[int] = []

    def take(n: int) -> None:
        budget.acquire(n)
        order.append(n)

    big, big_done = _blocked(take, 30)
    assert not big_done.wait(0.2)  # 30 bytes must wait until nothing else is held
    small, small_done = _blocked(take, 2)
    # 2 bytes would fit now, but the big request came first.
    assert not small_done.wait(0.2)
    budget.release(6)
    big.join(10)
    assert big_done.is_set()
    assert not small_done.wait(0.2)  # 30 held: over the limit, so the next one waits
    budget.release(30)
    small.join(10)
    assert order == [30, 2]
    assert budget.peak_bytes == 30


def _text(rng: random.Random, n: int) -> bytes:
    words = [b"component", b"capability", b"route", b"expose", b"offer", b"\n"]
    return b" ".join(rng.choice(words) + rng.randbytes(rng.randint(0, 3)) for _ in range(n // 9))[
        :n
    ]


def test_measuring_under_a_tiny_budget_gives_the_same_answers(tmp_path: Path) -> None:
    rng = random.Random(7)
    files = []
    for i, size in enumerate([40 * MiB, 33 * MiB, 300 * KiB, 9000]):
        # Mostly zeros (quick at level 14) with text and random islands: both storage
        # decisions, and contexts of several sizes (40 MiB and 33 MiB have larger chunks).
        path = tmp_path / f"blob{i}"
        with path.open("wb") as f:
            f.truncate(size)
            f.write(_text(rng, min(size, 200 * KiB)))
            f.seek(size // 2)
            f.write(rng.randbytes(min(size // 2, 2 * MiB if i != 2 else size // 2)))
        files.append(path)
    requests = [BlobRequest(path) for path in files]
    roomy = MeasurementEngine(threads=2).measure(requests)
    tight_pool = CompressorPool(budget_bytes=0)
    tight = MeasurementEngine(threads=2, compressors=tight_pool).measure(requests)
    assert tight == roomy
    # Never more than one context alive at once, the largest any chunk here needs.
    assert tight_pool.peak_bytes == max(_need(chunk_size(40 * MiB)), _need(9000))


def test_zstandard_streaming_differs_from_one_shot_so_chunks_stay_whole() -> None:
    # Why the pool cannot save memory by feeding a chunk to libzstd in pieces: streaming
    # compression makes other (valid) frames, and blobfs's sizes are those of one-shot.
    # With a random stretch between text, libzstd 1.5.7 streams other frames than one-shot.
    rng = random.Random(11)
    data = _text(rng, 300_000) + rng.randbytes(100_000) + _text(rng, 200_000)
    one_shot = new_compressor().compress(data)
    stream = new_compressor().compressobj(size=len(data))
    streamed = b"".join(stream.compress(data[i : i + MiB]) for i in range(0, len(data), MiB))
    streamed += stream.flush()
    assert zstandard.ZstdDecompressor().decompress(streamed) == data
    assert streamed != one_shot
