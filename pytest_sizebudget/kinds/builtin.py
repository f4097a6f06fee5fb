"""The kinds this plugin ships, in the order their budgets are collected and evaluated.

Each is registered by its ``KindSpec`` and imported when first used (``registry.py``):
a run only imports the kinds its budget files and reports have.
"""

from __future__ import annotations

from .base import BudgetKind
from .registry import KindRegistry, KindSpec

_HERE = __name__.rpartition(".")[0]

BUILTIN_KINDS: tuple[KindSpec, ...] = (
    KindSpec(
        "package_set",
        f"{_HERE}.package_set",
        "PackageSetKind",
        ("package_set_budgets", "resource_budgets"),
        ("package_set", "resource"),
        bare_list_section="package_set_budgets",
    ),
    KindSpec("product", f"{_HERE}.product", "ProductKind", ("product_budgets",), ("product",)),
    KindSpec("update", f"{_HERE}.update", "UpdateKind", ("update_budgets",), ("update",)),
    KindSpec(
        "image",
        f"{_HERE}.image",
        "ImageKind",
        ("image_budgets",),
        ("image",),
        descriptive_parameters=frozenset({"images"}),
    ),
    KindSpec(
        "super",
        f"{_HERE}.android_super",
        "SuperKind",
        ("super_budgets",),
        ("super",),
        descriptive_parameters=frozenset({"files", "images"}),
    ),
    KindSpec(
        "ota",
        f"{_HERE}.android_ota",
        "OtaKind",
        ("ota_budgets",),
        ("ota",),
        descriptive_parameters=frozenset({"files"}),
    ),
    KindSpec(
        "elf",
        f"{_HERE}.elf",
        "ElfKind",
        ("elf_budgets",),
        ("elf_region",),
        descriptive_parameters=frozenset({"elf", "map", "warn_at"}),
    ),
    KindSpec(
        "flash",
        f"{_HERE}.flash",
        "FlashKind",
        ("flash_budgets",),
        ("flash",),
        descriptive_parameters=frozenset({"image", "partitions"}),
    ),
)


def builtin_kind_list() -> list[BudgetKind]:
    """Every built-in kind, loaded."""
    return [spec.load() for spec in BUILTIN_KINDS]


def builtin_kinds() -> KindRegistry:
    """A registry of the built-in kinds alone (pytest-free use, tests)."""
    registry = KindRegistry()
    for spec in BUILTIN_KINDS:
        registry.register(spec)
    return registry
