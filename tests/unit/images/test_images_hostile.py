"""Hostile images: decompression bombs, absurd counts, special files.

Every case must end quickly with either a result whose verdict is right or an
ImageFormatError naming the file and the offset; nothing may expand without bound.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import os
import stat
import struct
import threading
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import zstandard

from pytest_sizebudget.images import ImageFormatError, ImageSizes, limits, measure_image
from pytest_sizebudget.images.compression import open_compressed
from pytest_sizebudget.images.source import open_plain
from pytest_sizebudget.images.sparse_file import scan_holes
from tests.unit.images.sparse_builders import (
    EXTENT_MAGIC,
    LZ4F_MAGIC,
    Extent,
    Partition,
    android_sparse,
    dont_care,
    fill,
    fvm_header,
    fvm_image,
    raw,
)

MIB = 1 << 20


def _zstd(data: bytes) -> bytes:
    return zstandard.ZstdCompressor().compress(data)


COMPRESSORS: dict[str, Callable[[bytes], bytes]] = {
    "gzip": lambda b: gzip.compress(b, mtime=0),
    "xz": lambda b: lzma.compress(b, preset=0),
    "bzip2": lambda b: bz2.compress(b, 1),
    "zstd": _zstd,
}
KINDS = sorted(COMPRESSORS)


def write(tmp_path: Path, data: bytes, name: str = "image") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def error_of(path: Path | list[Path], **kwargs: object) -> ImageFormatError:
    with pytest.raises(ImageFormatError) as info:
        measure_image(path, **kwargs)  # type: ignore[arg-type]
    return info.value


# --- the verdict stops decompression -----------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_raw_bomb_stops_once_past_the_limit(tmp_path: Path, kind: str) -> None:
    path = write(tmp_path, COMPRESSORS[kind](bytes(8 * MIB)))
    sizes = measure_image(path, limit=MIB)
    # Read exactly one byte past the limit: enough to know the image cannot fit.
    assert (sizes.format, sizes.expanded_bytes, sizes.data_bytes) == ("raw", MIB + 1, MIB + 1)
    assert sizes.details["expanded_at_least"] is True
    assert sizes.details["stopped_early"] is True
    assert sizes.details["compression"] == kind


@pytest.mark.parametrize("kind", KINDS)
def test_fitting_image_is_read_to_the_end_and_unchanged(tmp_path: Path, kind: str) -> None:
    path = write(tmp_path, COMPRESSORS[kind](bytes(MIB)))
    unlimited = measure_image(path)
    assert measure_image(path, limit=MIB) == unlimited
    assert "expanded_at_least" not in unlimited.details
    assert "stopped_early" not in unlimited.details


def test_plain_raw_image_ignores_the_limit(tmp_path: Path) -> None:
    # Nothing is expanded: the length is one fstat away, so there is nothing to stop.
    path = write(tmp_path, bytes(2 * MIB))
    assert measure_image(path, limit=MIB) == measure_image(path)


def test_memory_stays_bounded_on_a_bomb(tmp_path: Path) -> None:
    path = write(tmp_path, _zstd(bytes(64 * MIB)))
    tracemalloc.start()
    try:
        measure_image(path, limit=48 * MIB)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 24 * MIB, peak


@pytest.mark.parametrize("kind", KINDS)
def test_compressed_android_sparse_stops_after_its_header(tmp_path: Path, kind: str) -> None:
    # 16 MiB of RAW zeros inside: the header alone says 16 MiB, which a 1 MiB partition
    # cannot hold, so the RAW data is never decompressed.
    image = android_sparse([raw(4096, 4096, 0)])
    path = write(tmp_path, COMPRESSORS[kind](image))
    sizes = measure_image(path, limit=MIB)
    assert (sizes.format, sizes.expanded_bytes, sizes.data_bytes) == (
        "android_sparse",
        16 * MIB,
        0,
    )
    assert sizes.details["stopped_early"] is True
    assert "expanded_at_least" not in sizes.details  # the header's size is exact
    assert (sizes.details["block_size"], sizes.details["total_blocks"]) == (4096, 4096)
    assert sizes.details["compression"] == kind


def test_plain_android_sparse_is_scanned_whatever_the_limit(tmp_path: Path) -> None:
    path = write(tmp_path, android_sparse([raw(2, 4096), dont_care(1000)]))
    assert measure_image(path, limit=4096) == measure_image(path)


def test_compressed_android_sparse_that_fits_is_read_fully(tmp_path: Path) -> None:
    image = android_sparse([raw(2, 4096), fill(3, 7), dont_care(10)])
    path = write(tmp_path, _zstd(image))
    sizes = measure_image(path, limit=15 * 4096)
    assert sizes == measure_image(path)
    assert sizes.details["chunks"] == 3


@pytest.mark.parametrize("kind", KINDS)
def test_compressed_fvm_stops_before_its_data(tmp_path: Path, kind: str) -> None:
    parts = [Partition("blobfs", (Extent(0, 64, 64 * 32768),))]
    path = write(tmp_path, COMPRESSORS[kind](fvm_image(parts, slice_size=32768)))
    full = measure_image(path)
    sizes = measure_image(path, limit=MIB)
    assert sizes.expanded_bytes == full.expanded_bytes > MIB
    # Everything but the data region comes from the descriptors, so it is all there.
    assert sizes.data_bytes == full.data_bytes
    assert sizes.details["stopped_early"] is True
    assert {k: v for k, v in sizes.details.items() if k != "stopped_early"} == full.details


def test_compressed_pieces_stop_after_their_headers(tmp_path: Path) -> None:
    a = android_sparse([raw(2048, 4096, 0), dont_care(2048)])
    b = android_sparse([dont_care(2048), raw(2048, 4096, 0)])
    paths = [write(tmp_path, _zstd(a), "a"), write(tmp_path, _zstd(b), "b")]
    sizes = measure_image(paths, limit=MIB)
    assert (sizes.expanded_bytes, sizes.data_bytes) == (16 * MIB, 0)
    assert sizes.details["pieces"] == 2
    assert sizes.details["stopped_early"] is True


def test_pieces_still_must_agree_when_stopping_early(tmp_path: Path) -> None:
    a = android_sparse([raw(2048, 4096, 0), dont_care(2048)])
    b = android_sparse([dont_care(2049), raw(2048, 4096, 0)])
    paths = [write(tmp_path, _zstd(a), "a"), write(tmp_path, _zstd(b), "b")]
    err = error_of(paths, limit=MIB)
    assert (err.file, err.offset) == (str(paths[1]), 12)
    assert "not pieces of one image" in err.problem


def test_negative_limit_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, b"abc")
    with pytest.raises(ValueError, match="limit"):
        measure_image(path, limit=-1)


# --- the absolute cap --------------------------------------------------------------------


@pytest.fixture
def small_cap(monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(limits, "MAX_EXPANDED_BYTES", 4 * MIB)
    return 4 * MIB


@pytest.mark.parametrize("kind", KINDS)
def test_cap_without_a_limit(tmp_path: Path, kind: str, small_cap: int) -> None:
    path = write(tmp_path, COMPRESSORS[kind](bytes(small_cap + 1)))
    err = error_of(path)
    assert (err.file, err.offset) == (str(path), small_cap)
    assert err.problem == (
        f"the {kind} stream decompresses to more than 4,194,304 B (4.00 MiB), the most "
        "sizebudget expands of one image (MAX_EXPANDED_BYTES); reading stopped there"
    )
    # Exactly at the cap is still measured.
    path = write(tmp_path, COMPRESSORS[kind](bytes(small_cap)))
    assert measure_image(path).expanded_bytes == small_cap


def test_cap_applies_when_the_limit_is_not_below_it(tmp_path: Path, small_cap: int) -> None:
    path = write(tmp_path, _zstd(bytes(small_cap + 1)))
    assert error_of(path, limit=small_cap).offset == small_cap
    assert error_of(path, limit=1 << 50).offset == small_cap
    sizes = measure_image(path, limit=small_cap - 1)
    assert sizes.expanded_bytes == small_cap


def test_cap_bounds_sparse_data_without_a_limit(tmp_path: Path, small_cap: int) -> None:
    # An Android sparse header promising 8 MiB of RAW data: without a verdict to decide,
    # the RAW data is decompressed only up to the cap.
    path = write(tmp_path, _zstd(android_sparse([raw(2048, 4096, 0)])))
    err = error_of(path)
    assert err.offset == small_cap
    assert "MAX_EXPANDED_BYTES" in err.problem


def test_split_piece_bomb_is_capped(tmp_path: Path, small_cap: int) -> None:
    good = write(tmp_path, android_sparse([raw(1, 4096), dont_care(2047)]), "a")
    bomb = write(tmp_path, _zstd(android_sparse([dont_care(1), raw(2047, 4096, 0)])), "b")
    err = error_of([good, bomb])
    assert (err.file, err.offset) == (str(bomb), small_cap)


# --- hostile structures ------------------------------------------------------------------


@pytest.mark.parametrize("compress", [False, True])
def test_chunk_count_above_the_cap(tmp_path: Path, compress: bool) -> None:
    image = android_sparse([dont_care(1)], total_chunks=limits.MAX_SPARSE_CHUNKS + 1)
    path = write(tmp_path, _zstd(image) if compress else image)
    err = error_of(path)
    assert err.offset == 20
    assert err.problem == (
        "total_chunks 4,194,305 is above 4,194,304, the most chunks sizebudget reads "
        "(MAX_SPARSE_CHUNKS)"
    )


def test_zero_block_chunk_flood_is_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Chunks of 0 blocks are legal (libsparse reads them) but add nothing: a compressed
    # file of a few KB can hold millions.  The chunk cap is what bounds the work.
    monkeypatch.setattr(limits, "MAX_SPARSE_CHUNKS", 1000)
    head = struct.pack("<I4H4I", 0xED26FF3A, 1, 0, 28, 12, 4096, 1, 0xFFFFFFFF, 0)
    flood = struct.pack("<2H2I", 0xCAC3, 0, 0, 12) * 100_000
    err = error_of(write(tmp_path, _zstd(head + flood)))
    assert err.offset == 20
    assert "total_chunks 4,294,967,295 is above 1,000" in err.problem


@pytest.mark.parametrize("kind", KINDS)
def test_trailing_bomb_after_a_sparse_image(
    tmp_path: Path, kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(limits, "MAX_STREAM_TRAILING_BYTES", MIB)
    image = android_sparse([raw(1, 4096), dont_care(3)])
    path = write(tmp_path, COMPRESSORS[kind](image + bytes(8 * MIB)))
    err = error_of(path)
    assert err.offset == len(image)
    assert err.problem == (
        "more than 1,048,576 B (1.00 MiB) follow the last chunk in the decompressed content; "
        "sizebudget reads at most that much trailing data of a compressed image "
        "(MAX_STREAM_TRAILING_BYTES)"
    )
    # Up to the bound, trailing bytes are counted as before.
    path = write(tmp_path, COMPRESSORS[kind](image + bytes(MIB)))
    assert measure_image(path).details["trailing_bytes"] == MIB


def test_plain_trailing_bytes_are_not_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits, "MAX_STREAM_TRAILING_BYTES", 10)
    image = android_sparse([raw(1, 4096)])
    path = write(tmp_path, image + bytes(100))
    assert measure_image(path).details["trailing_bytes"] == 100


def test_total_blks_times_blk_sz_beyond_64_bits(tmp_path: Path) -> None:
    image = android_sparse(
        [fill(0xFFFFFFFF, 1)], total_blks=0xFFFFFFFF, blk_sz=0xFFFFFFFC
    )
    sizes = measure_image(write(tmp_path, image))
    assert sizes.expanded_bytes == 0xFFFFFFFF * 0xFFFFFFFC  # no wrap-around


@pytest.mark.parametrize("compress", [False, True])
def test_fvm_partition_count_above_the_table(tmp_path: Path, compress: bool) -> None:
    count = 1025
    header_length = 52 + 56 * count
    image = fvm_header(
        [Partition(str(i), ()) for i in range(count)],
        header_length=header_length,
    )
    path = write(tmp_path, _zstd(image) if compress else image)
    err = error_of(path)
    assert err.offset == 32
    assert err.problem == (
        "partition_count 1,025 is above 1,024, the most partitions an FVM partition table "
        "holds"
    )


def test_fvm_descriptor_bomb_in_a_stream(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # One partition with 2**32-1 extents of 0 slices, in a compressed file: bounded by the
    # extent cap, at the partition's descriptor.
    monkeypatch.setattr(limits, "MAX_FVM_EXTENTS", 1000)
    extents = 0xFFFFFFFF
    header = bytearray(
        fvm_header((Partition("x", ()),), header_length=52 + 56 + 32 * extents)
    )
    struct.pack_into("<I", header, 52 + 52, extents)
    header += struct.pack("<4Q", EXTENT_MAGIC, 0, 0, 0) * 50_000
    err = error_of(write(tmp_path, _zstd(bytes(header))))
    assert err.offset == 52
    assert err.problem == (
        "partition 0 declares 4,294,967,295 extents, which brings the image above 1,000, "
        "the most extents sizebudget reads (MAX_FVM_EXTENTS)"
    )


@pytest.mark.parametrize("compress", [False, True])
def test_fvm_lz4_stream_longer_than_any_frame_of_its_data(tmp_path: Path, compress: bool) -> None:
    parts = [Partition("blobfs", (Extent(0, 1, 1000),))]
    header = fvm_header(parts, slice_size=32768, flags=0x1)
    bound = 1000 + 1000 // 8 + (1 << 16)
    image = header + LZ4F_MAGIC + bytes(bound)
    path = write(tmp_path, _zstd(image) if compress else image)
    err = error_of(path)
    assert err.offset == len(header)
    assert err.problem == (
        f"LZ4 flag set but more than {bound:,} bytes follow the header: no LZ4 frame of "
        "the 1,000 bytes of extent data is that long"
    )
    # At the bound, it is counted.
    image = header + LZ4F_MAGIC + bytes(bound - 4)
    sizes = measure_image(write(tmp_path, _zstd(image) if compress else image))
    assert sizes.details["lz4_stream_bytes"] == bound


def test_fvm_extra_bytes_in_a_stream_are_counted_up_to_a_bound(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(limits, "MAX_STREAM_TRAILING_BYTES", MIB)
    image = fvm_image([Partition("a", (Extent(0, 1, 100),))], slice_size=32768)
    err = error_of(write(tmp_path, _zstd(image + bytes(8 * MIB))))
    assert err.problem.startswith("more than 1,048,576 B (1.00 MiB) follow the extent data")
    assert err.offset == len(image)
    err = error_of(write(tmp_path, _zstd(image + bytes(10))))
    assert err.problem.startswith("10 bytes follow the extent data")


def test_absurd_slice_size_in_a_stream_stops_on_the_verdict(tmp_path: Path) -> None:
    parts = [Partition("a", (Extent(0, 1, 1 << 40),))]
    path = write(tmp_path, _zstd(fvm_header(parts, slice_size=1 << 62) + bytes(MIB)))
    sizes = measure_image(path, limit=1 << 30)
    assert sizes.expanded_bytes > 1 << 62
    assert sizes.details["stopped_early"] is True


def test_absurd_slice_size_without_a_limit_is_capped(tmp_path: Path, small_cap: int) -> None:
    parts = [Partition("a", (Extent(0, 1, 1 << 40),))]
    header = fvm_header(parts, slice_size=1 << 62)
    path = write(tmp_path, _zstd(header + bytes(8 * MIB)))
    err = error_of(path)
    assert err.offset == small_cap


# --- files that are not images -----------------------------------------------------------


def test_empty_file(tmp_path: Path) -> None:
    path = write(tmp_path, b"")
    err = error_of(path)
    assert (err.file, err.offset) == (str(path), None)
    assert err.problem == "is empty (0 bytes): no image format is empty"


@pytest.mark.parametrize("kind", KINDS)
def test_empty_compressed_content(tmp_path: Path, kind: str) -> None:
    path = write(tmp_path, COMPRESSORS[kind](b""))
    err = error_of(path)
    assert (err.file, err.offset) == (str(path), None)
    assert err.problem == f"the {kind} stream decompresses to nothing: no image format is empty"


def _in_thread(function: Callable[[], object]) -> BaseException | object:
    """Run ``function`` with a deadline; a blocked open() must not hang the test run."""
    outcome: list[BaseException | object] = []

    def target() -> None:
        try:
            outcome.append(function())
        except BaseException as exc:  # handed back to the test
            outcome.append(exc)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(5)
    return outcome[0] if outcome else TimeoutError("blocked")


@pytest.fixture
def fifo(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "pipe.img"
    os.mkfifo(path)
    yield path
    # Unblock a reader the code under test may have left waiting.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
    except OSError:
        return
    os.close(fd)


@pytest.mark.parametrize(
    "opener",
    [
        open_plain,
        lambda p: open_compressed(p, "gzip"),
        scan_holes,
    ],
    ids=["open_plain", "open_compressed", "scan_holes"],
)
def test_openers_refuse_a_fifo_without_blocking(fifo: Path, opener: Callable[[Path], object]) -> None:
    outcome = _in_thread(lambda: opener(fifo))
    assert isinstance(outcome, ImageFormatError), outcome
    assert (outcome.file, outcome.offset) == (str(fifo), None)
    assert outcome.problem == "is a FIFO, not a regular file"


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="no /dev/zero")
def test_dev_zero_is_refused() -> None:
    err = error_of(Path("/dev/zero"))
    assert (err.file, err.offset, err.problem) == (
        "/dev/zero",
        None,
        "is a character device, not a regular file",
    )


def test_directory_is_refused(tmp_path: Path) -> None:
    err = error_of(tmp_path)
    assert err.problem == "is a directory, not a regular file"
    outcome = _in_thread(lambda: open_plain(tmp_path))
    assert isinstance(outcome, ImageFormatError)
    assert outcome.problem == "is a directory, not a regular file"


def test_symlink_to_a_fifo(tmp_path: Path, fifo: Path) -> None:
    link = tmp_path / "link.img"
    link.symlink_to(fifo)
    err = error_of(link)
    assert err.problem == "is a FIFO, not a regular file"


def test_regular_file_check_uses_the_open_descriptor(
    fifo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A FIFO swapped in after the path was checked must still be refused, not block: the
    # check that counts is the one on the descriptor that was opened.
    real_stat = os.stat

    def lying_stat(path: object, *args: object, **kwargs: object) -> os.stat_result:
        result = real_stat(path, *args, **kwargs)  # type: ignore[arg-type]
        if Path(str(path)) == fifo:
            fields = list(result)
            fields[0] = stat.S_IFREG | 0o644
            return os.stat_result(fields)
        return result

    monkeypatch.setattr(os, "stat", lying_stat)
    outcome = _in_thread(lambda: measure_image(fifo))
    assert isinstance(outcome, ImageFormatError), outcome
    assert outcome.problem == "is a FIFO, not a regular file"


def test_nul_byte_in_the_path(tmp_path: Path) -> None:
    err = error_of(Path(str(tmp_path / "a") + "\0b.img"))
    assert err.problem == "cannot open: embedded null byte"


def test_result_is_a_plain_image_sizes(tmp_path: Path) -> None:
    sizes = measure_image(write(tmp_path, _zstd(bytes(2 * MIB))), limit=MIB)
    assert ImageSizes.from_dict(sizes.to_dict()) == sizes


@pytest.mark.parametrize(
    ("magic", "name"),
    [(b"\x04\x22\x4d\x18", "frame"), (b"\x02\x21\x4c\x18", "legacy")],
)
def test_lz4_file_is_not_measured_as_raw(tmp_path: Path, magic: bytes, name: str) -> None:
    # Measured as raw bytes, an LZ4 file would pass at its compressed length.
    path = write(tmp_path, magic + bytes(100))
    err = error_of(path)
    assert (err.file, err.offset) == (str(path), 0)
    assert err.problem == (
        f"is LZ4-compressed ({name} format, magic {magic.hex()}), which sizebudget cannot "
        "expand: check the uncompressed image"
    )
