"""The package's layers import downwards only, at module level, and without a cycle.

operators / sensors / triggers -> mixins -> links, utils -> version_compat. Hooks are imported
inside the methods that use them (``PaiHookMixin.hook``), trigger modules inside the method that
defers: neither is a module-level import of an operator or sensor. Imports under
``if TYPE_CHECKING:`` are for annotations only and do not count.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "airflow_provider_pai"
LAYERS = ("operators", "sensors", "triggers", "mixins", "links", "utils")
# What each layer may import at module level (besides itself: a layer's own base module).
ALLOWED = {
    "operators": {"mixins", "links", "utils", "version_compat"},
    "sensors": {"mixins", "links", "utils", "version_compat"},
    "triggers": {"mixins", "utils", "version_compat"},
    "mixins": {"links", "utils", "version_compat"},
    "links": {"version_compat"},
    "utils": set(),
}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def module_level_imports(path: Path) -> set[str]:
    """Package modules imported when ``path`` is imported (function bodies and TYPE_CHECKING aside)."""
    found: set[str] = set()

    def visit(statements: list[ast.stmt]) -> None:
        for node in statements:
            if isinstance(node, ast.Import):
                found.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add(node.module)
                found.update(f"{node.module}.{a.name}" for a in node.names)
            elif isinstance(node, ast.If):
                if not _is_type_checking(node):
                    visit(node.body)
                visit(node.orelse)
            elif isinstance(node, ast.Try):
                visit(node.body)
                for handler in node.handlers:
                    visit(handler.body)
                visit(node.orelse)
                visit(node.finalbody)

    visit(ast.parse(path.read_text()).body)
    modules = {_module_name(p) for p in PACKAGE.rglob("*.py")}
    return {name for name in found if name in modules and name != "airflow_provider_pai"}


def _layer(module: str) -> str:
    return module.split(".")[1] if module.count(".") else ""


GRAPH = {
    _module_name(p): module_level_imports(p)
    for p in sorted(PACKAGE.rglob("*.py"))
    if _layer(_module_name(p)) in LAYERS
}


@pytest.mark.parametrize("module", sorted(GRAPH))
def test_module_imports_only_the_layers_below(module):
    layer = _layer(module)
    wrong = sorted(
        name for name in GRAPH[module]
        if _layer(name) != layer and _layer(name) not in ALLOWED[layer]
    )
    assert not wrong, f"{module} imports {wrong} at module level; allowed: {sorted(ALLOWED[layer])}"


def test_no_operator_or_sensor_imports_a_trigger_or_hook_module():
    for module, imports in GRAPH.items():
        if _layer(module) in ("operators", "sensors", "mixins"):
            assert not {i for i in imports if _layer(i) in ("triggers", "hooks")}, module


def test_no_import_cycle():
    state: dict[str, str] = {}

    def walk(module: str, path: list[str]) -> None:
        state[module] = "open"
        for name in GRAPH.get(module, ()):
            if state.get(name) == "open":
                raise AssertionError(f"import cycle: {' -> '.join(path + [module, name])}")
            if name in GRAPH and name not in state:
                walk(name, path + [module])
        state[module] = "done"

    for module in GRAPH:
        if module not in state:
            walk(module, [])


def test_the_walker_sees_a_forbidden_import(tmp_path):
    """The checks above would pass on a walker that finds nothing: make sure it finds things."""
    bad = tmp_path / "mod.py"
    bad.write_text(
        "from typing import TYPE_CHECKING\n"
        "from airflow_provider_pai.triggers.eas import EasServiceTrigger\n"
        "if TYPE_CHECKING:\n    from airflow_provider_pai.hooks.eas import EasHook\n"
        "def f():\n    import airflow_provider_pai.hooks.oss\n"
    )
    found = module_level_imports(bad)
    assert "airflow_provider_pai.triggers.eas" in found
    assert not any(".hooks." in name for name in found)
    assert "airflow_provider_pai.mixins.dataworks" in GRAPH["airflow_provider_pai.sensors.dataworks"]
