"""What crosses from a caller to the measurement engine and back: requests and the
counts of what a call did (both also cross process boundaries: xdist workers, JSON)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class BlobRequest:
    """One blob to measure.  Requests are hashable: they key ``measure()``'s answer.

    ``expected_merkle`` (from a manifest) lets a warm cache answer without reading the
    file; ``verify=True`` refuses that shortcut and checks the claim against the file (or
    against the stat index, which is keyed by the file's identity).
    """

    source: Path
    expected_merkle: str | None = None
    expected_size: int | None = None
    verify: bool = False

    def to_dict(self) -> dict[str, object]:
        return {
            "source": str(self.source),
            "expected_merkle": self.expected_merkle,
            "expected_size": self.expected_size,
            "verify": self.verify,
        }

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> BlobRequest:
        source, merkle, size, verify = (
            data.get("source"),
            data.get("expected_merkle"),
            data.get("expected_size"),
            data.get("verify", False),
        )
        if not isinstance(source, str):
            raise ValueError(f"'source' must be a string, got {source!r}")
        if merkle is not None and not isinstance(merkle, str):
            raise ValueError(f"'expected_merkle' must be a string, got {merkle!r}")
        if size is not None and (not isinstance(size, int) or isinstance(size, bool)):
            raise ValueError(f"'expected_size' must be an integer, got {size!r}")
        if not isinstance(verify, bool):
            raise ValueError(f"'verify' must be a boolean, got {verify!r}")
        return cls(Path(source), merkle, size, verify)


@dataclass(frozen=True, slots=True)
class EngineStats:
    """What the last call did; the numbers that explain its speed."""

    requests: int = 0
    cache_hits: int = 0
    stat_index_hits: int = 0
    files_hashed: int = 0
    files_measured: int = 0
    blobs_compressed: int = 0
    bytes_read: int = 0
    # The remote cache (--sizebudget-cache-url): entries accepted, refused as damaged or
    # foreign, and uploaded.  Counted by the sizer, not the engine.
    remote_hits: int = 0
    remote_rejected: int = 0
    remote_uploads: int = 0
    # Blobs this process measured earlier in the run and answered again from memory
    # (another budget file has them too): no cache hit, even on an empty cache.
    reused: int = 0

    def to_dict(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in self.__slots__}

    @classmethod
    def from_dict(cls, data: dict[str, int]) -> EngineStats:
        return cls(**{name: int(data.get(name, 0)) for name in cls.__slots__})
