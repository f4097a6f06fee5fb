"""Cross-checks against the real tools: img2simg/simg2img (android-sdk-libsparse-utils) and
bmaptool (bmap-tools).  Skipped, with the package to install, only when a tool is missing."""

from __future__ import annotations

import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from pytest_sizebudget.images import measure_image
from tests.unit.images.sparse_builders import make_raw, rand


def need(tool: str, package: str) -> str:
    found = shutil.which(tool)
    if found is None:
        pytest.skip(f"{tool} not installed (apt-get install {package})")
    return found


def libsparse(tool: str) -> str:
    return need(tool, "android-sdk-libsparse-utils")


MIB = 1 << 20
# Content mixes for 8 MiB images: random data, holes, repeated patterns, written zeros.
MIXES = {
    "data_and_holes": [(MIB, rand(2 * MIB, 1)), (10 * MIB, rand(102_523, 2))],
    "pattern_fill": [(0, b"\xab" * (3 * MIB)), (5 * MIB, b"xxxx" * 4096)],
    "written_zeros": [(MIB, bytes(2 * MIB)), (7 * MIB, rand(5000, 3))],
    "dense": [(0, rand(8 * MIB, 4))],
}


@pytest.mark.parametrize("blk", [1024, 4096, 65536])
@pytest.mark.parametrize("mix", sorted(MIXES))
def test_img2simg_roundtrip(tmp_path: Path, blk: int, mix: str) -> None:
    img2simg, simg2img = libsparse("img2simg"), libsparse("simg2img")
    orig, simg, back = tmp_path / "orig.img", tmp_path / "orig.simg", tmp_path / "back.img"
    make_raw(orig, 8 * MIB, MIXES[mix])
    subprocess.run([img2simg, str(orig), str(simg), str(blk)], check=True)
    subprocess.run([simg2img, str(simg), str(back)], check=True)

    sizes = measure_image(simg)
    assert sizes.format == "android_sparse"
    assert sizes.file_bytes == simg.stat().st_size
    assert sizes.expanded_bytes == back.stat().st_size
    assert sizes.details["block_size"] == blk

    # Data bytes as expected from the content: img2simg (29.x, normal mode) writes every
    # block, as RAW or FILL, so all of them are data; and the blocks that are not one
    # repeated 32-bit word are exactly the RAW bytes.
    content = back.read_bytes()
    assert sizes.data_bytes == len(content)
    non_fill = sum(
        blk
        for i in range(0, len(content), blk)
        if content[i : i + blk] != content[i : i + 4] * (blk // 4)
    )
    assert sizes.details["raw_bytes"] == non_fill
    assert sizes.details["fill_bytes"] == len(content) - non_fill


def test_unaligned_input_is_padded(tmp_path: Path) -> None:
    img2simg = libsparse("img2simg")
    orig, simg = tmp_path / "odd.img", tmp_path / "odd.simg"
    orig.write_bytes(rand(10_000, 9))
    subprocess.run([img2simg, str(orig), str(simg)], check=True)
    assert measure_image(simg).expanded_bytes == 12_288


def test_simg2simg_pieces(tmp_path: Path) -> None:
    img2simg, simg2simg = libsparse("img2simg"), libsparse("simg2simg")
    simg2img = libsparse("simg2img")
    orig, simg = tmp_path / "orig.img", tmp_path / "orig.simg"
    make_raw(orig, 16 * MIB, [(MIB, rand(3 * MIB, 5)), (12 * MIB, b"\xcd" * MIB)])
    subprocess.run([img2simg, str(orig), str(simg)], check=True)
    subprocess.run([simg2simg, str(simg), str(tmp_path / "split.simg"), "1000000"], check=True)
    pieces = sorted(tmp_path.glob("split.simg.*"))
    assert len(pieces) > 1
    whole = measure_image(simg)
    split = measure_image(pieces)
    assert split.details["pieces"] == len(pieces)
    assert split.expanded_bytes == whole.expanded_bytes == 16 * MIB
    assert split.data_bytes == whole.data_bytes
    assert split.file_bytes == sum(p.stat().st_size for p in pieces)
    # simg2img rebuilds the same partition from the pieces.
    back = tmp_path / "back.img"
    subprocess.run([simg2img, *map(str, pieces), str(back)], check=True)
    assert back.stat().st_size == split.expanded_bytes


def bmap_mapped_bytes(image: Path, tmp_path: Path) -> tuple[int, int]:
    bmaptool = need("bmaptool", "bmap-tools")
    out = tmp_path / "image.bmap"
    subprocess.run(
        [bmaptool, "create", "--no-checksum", "-o", str(out), str(image)],
        check=True,
        capture_output=True,
    )
    root = ET.parse(out).getroot()
    block = int((root.findtext("BlockSize") or "").strip())
    mapped = int((root.findtext("MappedBlocksCount") or "").strip())
    ranges = 0
    for rng in root.iter("Range"):
        text = (rng.text or "").strip()
        first, _, last = text.partition("-")
        ranges += int(last or first) - int(first) + 1
    assert ranges == mapped
    return mapped * block, int((root.findtext("ImageSize") or "").strip())


@pytest.mark.parametrize(
    "writes",
    [
        [(MIB, rand(2 * MIB, 1)), (10 * MIB, rand(102_523, 2)), (15 * MIB, rand(MIB, 3))],
        [(4 * MIB, b"z" * 8192), (12 * MIB, b"q" * 100)],
        [(0, bytes(MIB)), (8 * MIB, rand(4096, 4))],
    ],
    ids=["mixed", "small", "written_zeros"],
)
def test_sparse_file_matches_bmaptool(tmp_path: Path, writes: list[tuple[int, bytes]]) -> None:
    image = tmp_path / "holes.img"
    make_raw(image, 16 * MIB, writes)
    mapped, image_size = bmap_mapped_bytes(image, tmp_path)
    sizes = measure_image(image)
    assert sizes.format == "sparse_file"
    assert sizes.expanded_bytes == image_size == 16 * MIB
    assert sizes.data_bytes == mapped
    assert sizes.details["data_method"] in ("fiemap", "seek_data")


def test_unwritten_extents_against_bmaptool(tmp_path: Path) -> None:
    # bmaptool maps preallocated (UNWRITTEN) extents as data; the reader leaves them out
    # and says how many bytes it left out, so the two add up.
    import os

    image = tmp_path / "prealloc.img"
    fd = os.open(image, os.O_CREAT | os.O_RDWR, 0o644)
    try:
        os.ftruncate(fd, 16 * MIB)
        try:
            os.posix_fallocate(fd, 4 * MIB, 2 * MIB)
        except OSError as exc:
            pytest.skip(f"posix_fallocate is not supported here: {exc.strerror}")
        os.pwrite(fd, rand(8192, 5), 4 * MIB)
        os.pwrite(fd, rand(4096, 6), 12 * MIB)
        os.fsync(fd)
    finally:
        os.close(fd)
    sizes = measure_image(image)
    if sizes.details["data_method"] != "fiemap":
        pytest.skip("no FIEMAP on this file system")
    mapped, _ = bmap_mapped_bytes(image, tmp_path)
    assert sizes.data_bytes == 8192 + 4096
    unwritten = sizes.details["unwritten_bytes"]
    assert isinstance(unwritten, int)
    assert sizes.data_bytes + unwritten == mapped
