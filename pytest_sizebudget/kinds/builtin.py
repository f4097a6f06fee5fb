"""The kinds this plugin ships, in the order their budgets are collected and evaluated."""

from __future__ import annotations

from .android_ota import OtaKind
from .android_super import SuperKind
from .base import BudgetKind
from .elf import ElfKind
from .flash import FlashKind
from .image import ImageKind
from .package_set import PackageSetKind
from .product import ProductKind
from .registry import KindRegistry
from .update import UpdateKind


def builtin_kind_list() -> list[BudgetKind]:
    return [
        PackageSetKind(),
        ProductKind(),
        UpdateKind(),
        ImageKind(),
        SuperKind(),
        OtaKind(),
        ElfKind(),
        FlashKind(),
    ]


def builtin_kinds() -> KindRegistry:
    """A registry of the built-in kinds alone (pytest-free use, tests)."""
    registry = KindRegistry()
    for kind in builtin_kind_list():
        registry.register(kind)
    return registry
