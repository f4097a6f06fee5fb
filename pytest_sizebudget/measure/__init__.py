"""Measurement of blobs: merkle roots and on-disk sizes (pytest-free)."""

from __future__ import annotations

from .blob import BlobMeasurement
from .blobfs import LAYOUTS, Layout
from .cache import BlobCache
from .engine import MeasurementEngine, ProgressCallback
from .formats import STORAGE_FORMATS, StorageFormat
from .requests import BlobRequest, EngineStats

__all__ = [
    "LAYOUTS",
    "STORAGE_FORMATS",
    "BlobCache",
    "BlobMeasurement",
    "BlobRequest",
    "EngineStats",
    "Layout",
    "MeasurementEngine",
    "ProgressCallback",
    "StorageFormat",
]
