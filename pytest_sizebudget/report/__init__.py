"""Results and their renderings (terminal, JSON, Gerrit), free of pytest."""

from __future__ import annotations
