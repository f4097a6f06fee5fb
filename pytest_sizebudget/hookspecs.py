"""The hooks this plugin adds to pytest (registered in ``pytest_addhooks``)."""

from __future__ import annotations

import pytest

from .kinds.registry import KindRegistry


@pytest.hookspec(historic=True)
def pytest_sizebudget_register_kinds(registry: KindRegistry) -> None:
    """Add budget kinds to the run: call ``registry.register(kind)`` for each.

    The built-in kinds register through this hook too, first.  It is called once per run
    while pytest configures; being historic, a ``conftest.py`` or plugin registered later
    (a conftest found during collection) is called as soon as it is registered, so its
    kinds exist before any budget file below it is read.

    :param registry: the run's ``pytest_sizebudget.kinds.registry.KindRegistry``.
    """
