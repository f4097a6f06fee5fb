"""Image measurement without pytest: raw, sparse files, Android sparse, sparse FVM, compressed.

``measure_image`` is the entry point; ``ImageSizes`` is its result and ``ImageFormatError``
the only error it raises for bad input.  Nothing in this package imports pytest, so the
same numbers are available to scripts and to the plugin.
"""

from __future__ import annotations

from pytest_sizebudget.images import limits
from pytest_sizebudget.images.fvm_sparse import fvm_expanded_size
from pytest_sizebudget.images.measure import measure_image
from pytest_sizebudget.images.model import COMPRESSIONS, FORMATS, ImageFormatError, ImageSizes

__all__ = [
    "COMPRESSIONS",
    "FORMATS",
    "ImageFormatError",
    "ImageSizes",
    "fvm_expanded_size",
    "limits",
    "measure_image",
]
