from __future__ import annotations

import hashlib
import random
import struct
from pathlib import Path

import pytest

from pytest_sizebudget.measure.merkle import MerkleHasher, merkle_root, merkle_root_of_file

# Reference vectors: fuchsia.md §5 (Fuchsia's own tests and docs).
VECTORS = [
    (b"", "15ec7bf0b50732b49f8228e07d24365338f9e3ab994b00af08e5a3bffe55fd8b"),
    (b"\xff", "0967e0f62a104d1595610d272dfab3d2fa2fe07be0eebce13ef5d79db142610e"),
    (b"\xff" * 8192, "68d131bc271f9c192d4f6dcd8fe61bef90004856da19d0f2f514a7f4098b0737"),
    (b"\xff" * 8193, "374781f7d770b6ee9c1a63e186d2d0ccdad10d6aef4fd027e82b1be5b70a2a0c"),
    (b"\xff" * 65536, "f75f59a944d2433bc6830ec243bfefa457704d2aed12f30539cd4f18bf1d62cf"),
    (b"hello world", "8af85e2fe5da3385ea468ed1cb8412eaea6530a90b5dd8dee96529c8d9d39b97"),
]


@pytest.mark.parametrize(
    ("data", "root"), VECTORS, ids=lambda v: str(len(v)) if isinstance(v, bytes) else ""
)
def test_reference_vectors(data: bytes, root: str) -> None:
    assert merkle_root(data) == root


def _reference(data: bytes) -> str:
    """Textbook, whole-input version of the algorithm, to cross-check the streaming one."""
    if not data:
        return hashlib.sha256(bytes(12)).hexdigest()

    def node(offset: int, level: int, length: int, payload: bytes) -> bytes:
        return hashlib.sha256(
            struct.pack("<QI", offset | level, length) + payload + bytes(8192 - len(payload))
        ).digest()

    digests = [
        node(i, 0, len(data[i : i + 8192]), data[i : i + 8192]) for i in range(0, len(data), 8192)
    ]
    level = 0
    while len(digests) > 1:
        level += 1
        joined = b"".join(digests)
        digests = [node(i, level, 8192, joined[i : i + 8192]) for i in range(0, len(joined), 8192)]
    return digests[0].hex()


@pytest.mark.parametrize(
    "size",
    [1, 8191, 8192, 8193, 256 * 8192, 256 * 8192 + 1, 257 * 8192, 3 * 256 * 8192 + 5],
)
def test_streaming_matches_whole_input_across_level_boundaries(size: int) -> None:
    rng = random.Random(size)
    data = rng.randbytes(size)
    hasher = MerkleHasher()
    pos = 0
    while pos < size:  # uneven pieces exercise the pending-buffer path
        step = rng.choice([1, 100, 8191, 8192, 70000])
        hasher.update(data[pos : pos + step])
        pos += step
    assert hasher.hexdigest() == _reference(data)
    assert hasher.size == size


def test_file_root_and_size(tmp_path: Path) -> None:
    blob = tmp_path / "blob"
    blob.write_bytes(b"\xff" * 65536)
    assert merkle_root_of_file(blob) == (
        "f75f59a944d2433bc6830ec243bfefa457704d2aed12f30539cd4f18bf1d62cf",
        65536,
    )


def test_update_after_digest_is_refused() -> None:
    hasher = MerkleHasher()
    hasher.update(b"x")
    hasher.hexdigest()
    with pytest.raises(ValueError, match="after the root"):
        hasher.update(b"y")


def test_three_level_tree_without_holding_the_input() -> None:
    # 65,537 data nodes need a third level; feed them as a stream and build the expected
    # root from the per-node digests, so neither side holds the 512 MiB input.
    count = 256 * 256 + 1
    hasher = MerkleHasher()
    digests = []
    for i in range(count):
        chunk = bytes([i % 251]) * 8192
        hasher.update(chunk)
        digests.append(hashlib.sha256(struct.pack("<QI", i * 8192, 8192) + chunk).digest())
    level = 0
    while len(digests) > 1:
        level += 1
        joined = b"".join(digests)
        digests = [
            hashlib.sha256(
                struct.pack("<QI", i | level, 8192)
                + joined[i : i + 8192]
                + bytes(8192 - len(joined[i : i + 8192]))
            ).digest()
            for i in range(0, len(joined), 8192)
        ]
    assert level == 3
    assert hasher.hexdigest() == digests[0].hex()
