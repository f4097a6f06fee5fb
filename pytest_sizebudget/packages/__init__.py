"""Packages: Fuchsia package manifests, plain directories, and blobs.json size indexes."""

from __future__ import annotations
