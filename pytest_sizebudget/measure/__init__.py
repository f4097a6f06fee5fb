"""Measurement of blobs: merkle roots and on-disk sizes (pytest-free)."""

from __future__ import annotations
