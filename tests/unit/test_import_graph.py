"""The package's modules import each other without cycles, and the core without pytest."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from pytest_sizebudget.kinds.builtin import BUILTIN_KINDS

PACKAGE = Path(__file__).parents[2] / "pytest_sizebudget"
# The glue: the only modules that may import pytest (pyproject's ruff per-file-ignores).
GLUE = {"plugin", "items", "fixtures", "options", "session", "keys", "hookspecs"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(path: Path) -> set[str]:
    """Modules of this package that ``path`` imports, at any depth of its code (a local
    import is still an edge: it runs whenever that code does)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            out.add(target)
            # ``from pkg import module`` imports the module too.
            out.update(f"{target}.{a.name}" for a in node.names)
    return out


def graph() -> dict[str, set[str]]:
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    return {
        name: {m for m in imports(path) if m in modules and m != name}
        for name, path in modules.items()
    }


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges[node]):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(edges):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_no_import_cycles() -> None:
    edges = graph()
    # Package __init__ modules are imported before their submodules: an edge from a
    # submodule to its own package is how Python works, not a cycle of ours.
    for name in edges:
        edges[name] = {m for m in edges[name] if not name.startswith(m + ".")}
    assert find_cycle(edges) is None, " -> ".join(find_cycle(edges) or [])


def test_the_cycle_finder_finds_cycles() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_only_the_glue_imports_pytest() -> None:
    for path in PACKAGE.rglob("*.py"):
        name = module_name(path).rpartition(".")[2]
        found = {m.partition(".")[0] for m in imports(path)} & {"pytest", "_pytest"}
        if name not in GLUE:
            assert not found, f"{path.relative_to(PACKAGE)} imports {found}"


def test_the_core_names_no_kind() -> None:
    """Kinds are reached through the registry: core modules import no kind module."""
    kind_modules = {module_name(p) for p in (PACKAGE / "kinds").glob("*.py")} - {
        "pytest_sizebudget.kinds",
        "pytest_sizebudget.kinds.base",
        "pytest_sizebudget.kinds.registry",
    }
    # builtin lists the kinds, plugin registers them, api measures package sets for the
    # sizebudget fixture; every other module (evaluation, items, reports, baselines) uses
    # only the protocol.
    allowed = {
        "pytest_sizebudget.kinds.builtin",
        "pytest_sizebudget.plugin",
        "pytest_sizebudget.api",
    }
    edges = graph()
    for name, targets in edges.items():
        if name in allowed or name in kind_modules:
            continue
        assert not targets & (kind_modules - {"pytest_sizebudget.kinds.builtin"}), (
            f"{name} imports {sorted(targets & kind_modules)}"
        )


def test_loading_the_plugin_imports_only_what_every_run_needs() -> None:
    """pytest imports the plugin in every run, with or without ``--sizebudget``: the
    other kinds, images, Yocto, the JSON5 parser and the report writers wait until a
    budget file or a report asks for them."""
    probe = "import sys, pytest_sizebudget.plugin; print('\\n'.join(sorted(sys.modules)))"
    loaded = set(
        subprocess.run(
            [sys.executable, "-c", probe], capture_output=True, text=True, check=True
        ).stdout.split()
    )
    waiting = {
        "pytest_sizebudget.budget.json5_parser",
        "pytest_sizebudget.images",
        "pytest_sizebudget.packages.yocto",
        "pytest_sizebudget.report.gerrit",
        "pytest_sizebudget.report.html",
        "pytest_sizebudget.report.markdown",
        "pytest_sizebudget.report.metrics",
        *(spec.module for spec in BUILTIN_KINDS if spec.name != "package_set"),
    }
    assert "pytest_sizebudget.plugin" in loaded
    assert sorted(loaded & waiting) == []
