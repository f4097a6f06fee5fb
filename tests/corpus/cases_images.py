"""Images that are not what they should be: bombs, broken structures, special files.

Every case has one budget file with image budgets beside the passing ``Good`` budget file,
so each shows that the other budgets still run.  Images are made small, in the case: a
bomb is a short file that would expand to gigabytes (concatenated frames of zeros).
"""

from __future__ import annotations

import bz2
import gzip
import json
import lzma
import os
import struct
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import zstandard

from tests.unit.images import sparse_builders as sb

from .runner import GOOD_FILES, Case, FileContent

FILE = "img.sizebudget.json5"
MIB = 1 << 20
GIB = 1 << 30


def literal(text: str) -> str:
    """``text`` as an fnmatch pattern that matches only itself."""
    return "".join(f"[{c}]" if c in "[]*?" else c for c in text)


def budgets(*entries: dict[str, Any]) -> str:
    return json.dumps({"image_budgets": list(entries)})


def image(
    path: str | list[str], budget: int | str = "1 MiB", name: str = "img", **more: Any
) -> dict[str, Any]:
    return {"name": name, "image": path, "budget_bytes": budget, **more}


# --- file contents --------------------------------------------------------------------


@cache
def _frame(kind: str) -> bytes:
    """One compressed frame (stream, member) of 8 MiB of zeros."""
    zeros = bytes(8 * MIB)
    if kind == "zstd":
        return zstandard.ZstdCompressor().compress(zeros)
    if kind == "gzip":
        return gzip.compress(zeros, 9, mtime=0)
    if kind == "xz":
        return lzma.compress(zeros, preset=0)
    return bz2.compress(zeros, 9)


def bomb(kind: str, expanded: int) -> Callable[[Path], None]:
    """Concatenated frames of zeros: every decompressor reads them as one stream."""

    def write(path: Path) -> None:
        path.write_bytes(_frame(kind) * (expanded // (8 * MIB)))

    return write


def lazy(make: Callable[[], bytes]) -> Callable[[Path], None]:
    """File content made when the case runs, not when the table is imported."""

    def write(path: Path) -> None:
        path.write_bytes(make())

    return write


def zstd(data: bytes) -> bytes:
    return zstandard.ZstdCompressor().compress(data)


SPARSE = sb.android_sparse([sb.raw(1, 4096), sb.fill(3, 7), sb.dont_care(12)])  # 64 KiB
FVM_PARTS = [sb.Partition("blobfs", (sb.Extent(0, 2, 40_000),))]


def sparse_header(**fields: int) -> bytes:
    values = {
        "magic": 0xED26FF3A, "major": 1, "minor": 0, "file_hdr_sz": 28, "chunk_hdr_sz": 12,
        "blk_sz": 4096, "total_blks": 16, "total_chunks": 1, "checksum": 0,
    }
    values.update(fields)
    return struct.pack("<I4H4I", *values.values())


def chunk(kind: int, blocks: int, total_sz: int, payload: bytes = b"") -> bytes:
    return struct.pack("<2H2I", kind, 0, blocks, total_sz) + payload


def sparse_bomb() -> bytes:
    """An Android sparse header saying 16 GiB, then 8 MiB of RAW zeros (never read)."""
    head = sparse_header(total_blks=4 * MIB) + chunk(0xCAC1, 2048, 12 + 8 * MIB)
    return zstd(head) + _frame("zstd")


def piece_bomb() -> bytes:
    """The second piece of a 16 GiB split image: a DONT_CARE block, then RAW zeros."""
    head = sparse_header(total_blks=4 * MIB, total_chunks=2) + chunk(0xCAC3, 1, 12)
    return zstd(head) + zstd(chunk(0xCAC1, 2048, 12 + 8 * MIB)) + _frame("zstd") * 4


def fvm_bomb() -> bytes:
    """A sparse FVM whose maximum_disk_size is 8 GiB, followed by 64 MiB of zeros."""
    head = sb.fvm_header(FVM_PARTS, maximum_disk_size=8 * GIB)
    return gzip.compress(head, mtime=0) + _frame("gzip") * 8


def trailing_bomb() -> bytes:
    """A valid 64 KiB sparse image followed by 24 MiB of zeros."""
    return zstd(SPARSE) + _frame("zstd") * 3


def chunk_flood() -> bytes:
    """A header declaring 2**32-1 chunks, and 100,000 chunks of 0 blocks (legal, empty)."""
    head = sparse_header(total_blks=0, total_chunks=0xFFFFFFFF)
    return zstd(head + chunk(0xCAC3, 0, 12) * 100_000)


def fifo(root: Path) -> None:
    os.mkfifo(root / "pipe.img")


def directory(path: Path) -> None:
    path.mkdir()


# --- the shape of a case -------------------------------------------------------------------


def broken(
    id: str,
    files: dict[str, FileContent],
    error: str,
    *,
    entry: dict[str, Any] | None = None,
    **more: Any,
) -> Case:
    """One image budget that cannot be checked: the exact error in the failure text and the
    JSON report, while the Good budget file passes."""
    entry = entry or image(next(iter(files)))
    return Case(
        id=id,
        files={**GOOD_FILES, FILE: budgets(entry), **files},
        outcomes={"passed": 3, "failed": 1},
        lines=(f"Image budget '{entry['name']}' could not be checked", "", literal(error)),
        report={"Good": None, entry["name"]: error},
        **more,
    )


def over(
    id: str,
    files: dict[str, FileContent],
    headline: str,
    image_json: dict[str, Any],
    *,
    entry: dict[str, Any] | None = None,
    subprocess: bool = False,
) -> Case:
    """One image budget that does not fit, with the verdict's headline and what the JSON
    report says of the image (the keys given must match exactly)."""
    entry = entry or image(next(iter(files)))
    name = entry["name"]

    def check(root: Path, _: pytest.RunResult) -> None:
        found = {b["name"]: b for b in json.loads((root / "r.json").read_text())["budgets"]}
        budget = found[name]
        assert budget["passed"] is False, budget
        assert budget["error"] is None, budget
        assert budget["used_bytes"] == budget["image"]["expanded_bytes"], budget
        for key, value in image_json.items():
            got = budget["image"]["details"] if key == "details" else budget["image"][key]
            assert got == value, (key, got, value)

    return Case(
        id=id,
        files={**GOOD_FILES, FILE: budgets(entry), **files},
        outcomes={"passed": 3, "failed": 1},
        lines=(literal(headline),),
        report={"Good": None, name: None},
        extra_checks=check,
        subprocess=subprocess,
    )


STOPPED_RAW = {"expanded_at_least": True, "stopped_early": True}

CASES = [
    # --- decompression bombs: stop once past the partition ----------------------------
    over(
        "images-bomb-zstd-100GiB",
        {"bomb.img.zst": bomb("zstd", 100 * GIB)},
        "Image budget 'img' does not fit its partition: over by at least 1 B",
        {"expanded_bytes": MIB + 1, "details": {"compression": "zstd", **STOPPED_RAW}},
        subprocess=True,
    ),
    over(
        "images-bomb-bzip2-100GiB",
        {"bomb.img.bz2": bomb("bzip2", 100 * GIB)},
        "Image budget 'img' does not fit its partition: over by at least 1 B",
        {"expanded_bytes": MIB + 1, "details": {"compression": "bzip2", **STOPPED_RAW}},
        subprocess=True,
    ),
    over(
        "images-bomb-xz-8GiB",
        {"bomb.img.xz": bomb("xz", 8 * GIB)},
        "Image budget 'img' does not fit its partition: over by at least 1 B",
        {"expanded_bytes": MIB + 1, "details": {"compression": "xz", **STOPPED_RAW}},
        subprocess=True,
    ),
    over(
        "images-bomb-gzip-1GiB-with-reserve",
        {"bomb.img.gz": bomb("gzip", GIB)},
        "Image budget 'img' does not fit its partition: over by at least 1 B",
        {"expanded_bytes": MIB - 4096 + 1, "details": {"compression": "gzip", **STOPPED_RAW}},
        entry=image("bomb.img.gz", reserve_bytes=4096),
        subprocess=True,
    ),
    over(
        "images-bomb-zstd-android-sparse-stops-after-header",
        # A header saying 16 GiB, and RAW zeros behind it that are never decompressed.
        {"bomb.simg.zst": lazy(sparse_bomb)},
        "Image budget 'img' does not fit its partition: over by 17,178,820,608 B (16.00 GiB)",
        {
            "format": "android_sparse",
            "expanded_bytes": 16 * GIB,
            "data_bytes": 0,
            "details": {
                "compression": "zstd", "block_size": 4096, "total_blocks": 4 * MIB, "chunks": 1,
                "minor_version": 0, "stopped_early": True,
            },
        },
    ),
    over(
        "images-bomb-gzip-fvm-stops-before-data",
        {"fvm.blk.gz": lazy(fvm_bomb)},
        "Image budget 'img' does not fit its partition: over by 8,588,886,016 B (8.00 GiB)",
        {"format": "fvm_sparse", "expanded_bytes": 8 * GIB, "data_bytes": 40_000},
    ),
    over(
        "images-bomb-in-a-split-piece",
        {
            "a.simg": sb.android_sparse([sb.raw(1, 4096), sb.dont_care(4 * MIB - 1)]),
            "b.simg.zst": lazy(piece_bomb),
        },
        "Image budget 'img' does not fit its partition: over by 17,178,820,608 B (16.00 GiB)",
        {"expanded_bytes": 16 * GIB, "details": {
            "block_size": 4096, "total_blocks": 4 * MIB, "chunks": 4, "minor_version": 0,
            "pieces": 2, "stopped_early": True, "compression": "zstd",
        }},
        entry=image(["a.simg", "b.simg.zst"]),
    ),
    broken(
        "images-bomb-trailing-data-after-a-sparse-image",
        {"t.simg.zst": lazy(trailing_bomb)},
        f"image_budgets[0].image: t.simg.zst: offset {len(SPARSE)}: more than 16,777,216 B "
        "(16.00 MiB) follow the last chunk in the decompressed content; sizebudget reads at "
        "most that much trailing data of a compressed image (MAX_STREAM_TRAILING_BYTES)",
    ),
    broken(
        "images-bomb-zero-block-chunk-flood",
        {"flood.simg.zst": lazy(chunk_flood)},
        "image_budgets[0].image: flood.simg.zst: offset 20: total_chunks 4,294,967,295 is "
        "above 4,194,304, the most chunks sizebudget reads (MAX_SPARSE_CHUNKS)",
    ),
    # --- Android sparse structures ------------------------------------------------------
    over(
        "images-sparse-total-blks-times-blk-sz-past-64-bits",
        {"big.simg": sparse_header(blk_sz=0xFFFFFFFC, total_blks=0xFFFFFFFF)
            + chunk(0xCAC2, 0xFFFFFFFF, 16, b"\1\1\1\1")},
        "Image budget 'img' does not fit its partition: "
        "over by 18,446,744,052,233,666,564 B (16777215.98 TiB)",
        {"expanded_bytes": 0xFFFFFFFF * 0xFFFFFFFC},
    ),
    broken(
        "images-sparse-fill-claims-more-blocks-than-the-image",
        {"fill.simg": sparse_header(total_blks=10) + chunk(0xCAC2, 0xFFFFFFFF, 16, b"\0" * 4)},
        "image_budgets[0].image: fill.simg: offset 28: chunk 0 declares 4294967295 blocks "
        "but only 10 remain of total_blks 10",
    ),
    broken(
        "images-sparse-blocks-do-not-add-up",
        {"short.simg": sparse_header(total_blks=16, total_chunks=1) + chunk(0xCAC3, 3, 12)},
        "image_budgets[0].image: short.simg: offset 40: chunks cover 3 blocks but the header "
        "says total_blks 16",
    ),
    broken(
        "images-sparse-crc-chunk-without-its-crc",
        {"crc.simg": sparse_header(total_chunks=2) + chunk(0xCAC4, 0, 12) + chunk(0xCAC3, 16, 12)},
        "image_budgets[0].image: crc.simg: offset 28: chunk 0 (CRC32, 0 blocks) has "
        "total_sz 12: expected 16 (12 header + 4 data)",
    ),
    broken(
        "images-sparse-truncated-raw-data",
        {"cut.simg": SPARSE[:100]},
        "image_budgets[0].image: cut.simg: offset 40: truncated data of chunk 0 (RAW): "
        "needs 4096 bytes, only 60 remain",
    ),
    broken(
        "images-sparse-major-version-2",
        {"v2.simg": sparse_header(major=2)},
        "image_budgets[0].image: v2.simg: offset 4: unsupported sparse major version 2 "
        "(only 1 is known)",
    ),
    broken(
        "images-sparse-huge-chunk-count-in-a-short-file",
        {"count.simg": sparse_header(total_chunks=1 << 22) + chunk(0xCAC3, 16, 12)},
        "image_budgets[0].image: count.simg: offset 40: truncated header of chunk 1: "
        "needs 12 bytes, only 0 remain",
    ),
    # --- Fuchsia sparse FVM -------------------------------------------------------------
    broken(
        "images-fvm-more-partitions-than-a-table-holds",
        {"parts.blk": sb.fvm_header(
            [sb.Partition(str(i), ()) for i in range(1025)], header_length=52 + 56 * 1025
        )},
        "image_budgets[0].image: parts.blk: offset 32: partition_count 1,025 is above 1,024, "
        "the most partitions an FVM partition table holds",
    ),
    broken(
        "images-fvm-absurd-slice-size",
        {"slice.blk": sb.fvm_header(
            [sb.Partition("a", (sb.Extent(0, 1, 1 << 40),))], slice_size=1 << 62
        )},
        "image_budgets[0].image: slice.blk: offset 140: file length 140 does not match "
        "header_length 140 "
        "+ extent data 1099511627776 = 1099511627916",
    ),
    broken(
        "images-fvm-zero-slice-size",
        {"zero.blk": sb.fvm_image(FVM_PARTS, slice_size=0)},
        "image_budgets[0].image: zero.blk: offset 24: slice_size is 0",
    ),
    broken(
        "images-fvm-version-2",
        {"v2.blk": sb.fvm_image(FVM_PARTS, version=2)},
        "image_budgets[0].image: v2.blk: offset 8: unsupported sparse FVM version 2 "
        "(only 3 is known)",
    ),
    broken(
        "images-fvm-lz4-stream-longer-than-its-data-allows",
        {"lz4.blk": sb.fvm_header(FVM_PARTS, flags=1) + sb.LZ4F_MAGIC + bytes(200_000)},
        "image_budgets[0].image: lz4.blk: offset 140: LZ4 flag set but more than 110,536 "
        "bytes follow the header: no LZ4 frame of the 40,000 bytes of extent data is that long",
    ),
    # --- compression ----------------------------------------------------------------------
    broken(
        "images-gzip-truncated",
        {"cut.img.gz": gzip.compress(b"rootfs " * 10_000, mtime=0)[:-10]},
        "image_budgets[0].image: cut.img.gz: offset 135: corrupt or truncated gzip stream "
        "after 8 decompressed bytes (the offset is in the compressed file): Compressed "
        "file ended before the end-of-stream marker was reached",
    ),
    broken(
        "images-bzip2-garbage-after-magic",
        {"junk.img.bz2": bz2.compress(b"")[:10] + b"\xff" * 64},
        "image_budgets[0].image: junk.img.bz2: offset 74: corrupt or truncated bzip2 stream "
        "after 0 decompressed bytes (the offset is in the compressed file): Invalid data stream",
    ),
    broken(
        "images-xz-of-nothing",
        {"empty.img.xz": lzma.compress(b"")},
        "image_budgets[0].image: empty.img.xz: the xz stream decompresses to nothing: no image "
        "format is empty",
    ),
    broken(
        "images-lz4-file-is-not-raw",
        {"system.img.lz4": sb.LZ4F_MAGIC + bytes(100)},
        "image_budgets[0].image: system.img.lz4: offset 0: is LZ4-compressed (frame format, "
        "magic 04224d18), which sizebudget cannot expand: check the uncompressed image",
    ),
    # --- declared formats -----------------------------------------------------------------
    broken(
        "images-declared-raw-is-android-sparse",
        {"named.img": SPARSE},
        "image_budgets[0].image: named.img: offset 0: format 'raw' requested but the content "
        "is 'android_sparse' (by its magic number)",
        entry=image("named.img", format="raw"),
    ),
    broken(
        "images-declared-sparse-file-is-fvm",
        {"f.blk": sb.fvm_image(FVM_PARTS)},
        "image_budgets[0].image: f.blk: offset 0: format 'sparse_file' requested but the "
        "content is 'fvm_sparse' (by its magic number)",
        entry=image("f.blk", format="sparse_file"),
    ),
    broken(
        "images-declared-gzip-is-zstd",
        {"x.img.gz": zstd(b"x" * 1000)},
        "image_budgets[0].image: x.img.gz: offset 0: format 'gzip' requested but the file is "
        "zstd-compressed",
        entry=image("x.img.gz", format="gzip"),
    ),
    broken(
        "images-declared-android-sparse-is-raw",
        {"raw.simg": b"\0" * 4096},
        "image_budgets[0].image: raw.simg: offset 0: format 'android_sparse' requested but the "
        "content is 'raw' (by its magic number)",
        entry=image("raw.simg", format="android_sparse"),
    ),
    # --- split images ----------------------------------------------------------------------
    broken(
        "images-split-piece-missing",
        {"a.simg": sb.android_sparse([sb.raw(1, 4096), sb.dont_care(15)])},
        "image_budgets[0].image[1]: b.simg: does not exist",
        entry=image(["a.simg", "b.simg"]),
    ),
    broken(
        "images-split-pieces-of-two-images",
        {
            "a.simg": sb.android_sparse([sb.raw(1, 4096), sb.dont_care(15)]),
            "b.simg": sb.android_sparse([sb.dont_care(1), sb.raw(1, 4096), sb.dont_care(15)]),
        },
        "image_budgets[0].image[1]: b.simg: offset 12: piece has blk_sz 4096 and total_blks 17 "
        "but a.simg has 4096 and 16: not pieces of one image",
        entry=image(["a.simg", "b.simg"]),
    ),
    broken(
        "images-split-piece-is-raw",
        {"a.simg": SPARSE, "b.img": b"\1" * 4096},
        "image_budgets[0].image[1]: b.img: offset 0: only Android sparse images can be split "
        "into pieces; this is 'raw'",
        entry=image(["a.simg", "b.img"]),
    ),
    Case(
        id="images-split-pieces-in-any-order",
        files={
            **GOOD_FILES,
            "a.simg": sb.android_sparse([sb.raw(2, 4096), sb.dont_care(14)]),
            "b.simg": sb.android_sparse([sb.dont_care(2), sb.fill(3, 9), sb.dont_care(11)]),
            FILE: budgets(
                image(["a.simg", "b.simg"], name="in order"),
                image(["b.simg", "a.simg"], name="reversed"),
            ),
        },
        ret=0,
        outcomes={"passed": 5},
        report={"Good": None, "in order": None, "reversed": None},
        extra_checks=lambda root, _: _same_images(root, "in order", "reversed"),
    ),
    # --- files that are not images -----------------------------------------------------------
    broken(
        "images-empty-file",
        {"empty.img": b""},
        "image_budgets[0].image: empty.img: is empty (0 bytes): no image format is empty",
    ),
    broken(
        "images-directory",
        {"out": directory},
        "image_budgets[0].image: out: is a directory, not a regular file",
    ),
    broken(
        "images-fifo",
        {},
        "image_budgets[0].image: pipe.img: is a FIFO, not a regular file",
        entry=image("pipe.img"),
        setup=fifo,
        subprocess=True,
    ),
    broken(
        "images-dev-zero",
        {},
        "image_budgets[0].image: /dev/zero: is a character device, not a regular file",
        entry=image("/dev/zero"),
        marks=(pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="no /dev/zero"),),
    ),
    # --- the budget itself -----------------------------------------------------------------
    Case(
        id="images-reserve-larger-than-partition",
        files={
            **GOOD_FILES,
            "boot.img": b"\1" * 4096,
            FILE: budgets(image("boot.img", budget="1 MiB", reserve_bytes="2 MiB")),
        },
        outcomes={"passed": 2, "failed": 1},
        lines=(
            f"{FILE}:1:*: image_budgets[[]0].reserve_bytes: reserve_bytes (2,097,152) leaves "
            "no room in budget_bytes (1,048,576): nothing could fit",
        ),
        report={"Good": None},
    ),
]


def _same_images(root: Path, first: str, second: str) -> None:
    found = {b["name"]: b for b in json.loads((root / "r.json").read_text())["budgets"]}
    a, b = found[first]["image"], found[second]["image"]
    assert a == b, (a, b)
    assert (a["expanded_bytes"], a["data_bytes"]) == (16 * 4096, 5 * 4096)
    assert a["details"]["pieces"] == 2
