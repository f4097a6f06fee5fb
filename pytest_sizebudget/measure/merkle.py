"""Fuchsia merkle roots (the names of blobs), computed in one streaming pass.

The tree: SHA-256 over 8192-byte nodes.  Each node is hashed as
``u64_le(offset | level) || u32_le(length) || bytes || zero padding to 8192``.
Data nodes (level 0) carry their true length; upper-level nodes always say 8192.
The empty input hashes the 12-byte identity alone.  A level with a single digest is
the root.  Memory use is bounded by the tree height, whatever the blob size.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterable
from pathlib import Path

NODE_SIZE = 8192
DIGEST_SIZE = 32
_ZEROS = bytes(NODE_SIZE)
_IDENTITY = struct.Struct("<QI")
READ_SIZE = 1 << 20


def _hash_node(offset: int, level: int, length: int, data: bytes | bytearray | memoryview) -> bytes:
    h = hashlib.sha256(_IDENTITY.pack(offset | level, length))
    h.update(data)
    pad = NODE_SIZE - len(data)
    if pad:
        h.update(_ZEROS[:pad])
    return h.digest()


class MerkleHasher:
    """Incremental merkle root: ``update()`` with data in any pieces, then ``hexdigest()``."""

    def __init__(self) -> None:
        self._pending = bytearray()  # data not yet forming a whole 8192-byte node
        self._data_nodes = 0
        self._size = 0
        # _levels[i]: digests of level i waiting to fill a node of level i + 1.
        self._levels: list[bytearray] = []
        self._counts: list[int] = []  # digests produced so far at each level
        self._finished: bytes | None = None

    @property
    def size(self) -> int:
        return self._size

    def update(self, data: bytes | bytearray | memoryview) -> None:
        if self._finished is not None:
            raise ValueError("MerkleHasher.update() after the root was taken")
        view = memoryview(data).cast("B")
        self._size += len(view)
        start = 0
        if self._pending:
            take = min(NODE_SIZE - len(self._pending), len(view))
            self._pending += view[:take]
            start = take
            if len(self._pending) < NODE_SIZE:
                return
            self._data_node(self._pending, NODE_SIZE)
            self._pending = bytearray()
        end = len(view)
        while end - start >= NODE_SIZE:
            self._data_node(view[start : start + NODE_SIZE], NODE_SIZE)
            start += NODE_SIZE
        if start < end:
            self._pending += view[start:end]

    def _data_node(self, data: bytes | bytearray | memoryview, length: int) -> None:
        digest = _hash_node(self._data_nodes * NODE_SIZE, 0, length, data)
        self._data_nodes += 1
        self._push(0, digest)

    def _push(self, level: int, digest: bytes) -> None:
        if level == len(self._levels):
            self._levels.append(bytearray())
            self._counts.append(0)
        buf = self._levels[level]
        buf += digest
        self._counts[level] += 1
        if len(buf) == NODE_SIZE:
            nodes_done = self._counts[level] // (NODE_SIZE // DIGEST_SIZE) - 1
            self._levels[level] = bytearray()
            self._push(level + 1, _hash_node(nodes_done * NODE_SIZE, level + 1, NODE_SIZE, buf))

    def digest(self) -> bytes:
        if self._finished is None:
            self._finished = self._finish()
        return self._finished

    def hexdigest(self) -> str:
        return self.digest().hex()

    def _finish(self) -> bytes:
        if self._size == 0:
            return hashlib.sha256(_IDENTITY.pack(0, 0)).digest()
        if self._pending:
            self._data_node(self._pending, len(self._pending))
            self._pending = bytearray()
        level = 0
        while True:
            if self._counts[level] == 1:
                return bytes(self._levels[level])
            buf = self._levels[level]
            if buf:
                per_node = NODE_SIZE // DIGEST_SIZE
                nodes_done = (self._counts[level] - 1) // per_node
                self._levels[level] = bytearray()
                self._push(
                    level + 1,
                    _hash_node(nodes_done * NODE_SIZE, level + 1, NODE_SIZE, buf),
                )
            level += 1


def _whole_root(data: bytes | bytearray | memoryview) -> bytes:
    """The root of data held whole, a level at a time: the same nodes as
    ``MerkleHasher``, without its bookkeeping per node (half the time for the small
    blobs that the engine reads whole)."""
    view = memoryview(data).cast("B")
    size = len(view)
    if size == 0:
        return hashlib.sha256(_IDENTITY.pack(0, 0)).digest()
    sha256, pack = hashlib.sha256, _IDENTITY.pack
    digests = []
    for offset in range(0, size, NODE_SIZE):
        node = view[offset : offset + NODE_SIZE]
        h = sha256(pack(offset, len(node)))
        h.update(node)
        if len(node) < NODE_SIZE:
            h.update(_ZEROS[len(node) :])
        digests.append(h.digest())
    level = 0
    while len(digests) > 1:
        level += 1
        joined = b"".join(digests)
        digests = []
        for offset in range(0, len(joined), NODE_SIZE):
            h = sha256(pack(offset | level, NODE_SIZE))
            h.update(joined[offset : offset + NODE_SIZE])
            h.update(_ZEROS[min(len(joined) - offset, NODE_SIZE) :])
            digests.append(h.digest())
    return digests[0]


def merkle_root(data: bytes | bytearray | memoryview | Iterable[bytes]) -> str:
    """Hex merkle root of a bytes object or of an iterable of byte chunks."""
    if isinstance(data, (bytes, bytearray, memoryview)):
        return _whole_root(data).hex()
    hasher = MerkleHasher()
    for chunk in data:
        hasher.update(chunk)
    return hasher.hexdigest()


def merkle_root_of_file(path: Path | str) -> tuple[str, int]:
    """Hex merkle root and byte length of a file, read in bounded pieces."""
    hasher = MerkleHasher()
    with open(path, "rb") as f:
        while chunk := f.read(READ_SIZE):
            hasher.update(chunk)
    return hasher.hexdigest(), hasher.size
