"""pytest-sizebudget: size budgets for packages, blobs and images as pytest tests.

PYTEST_DONT_REWRITE: the plugin has no asserts to rewrite; without this marker pytest warns
whenever a run (pytester's, for one) finds the package already imported.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
