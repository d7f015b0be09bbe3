"""The package's layers import downwards only, at module level, and without a cycle.

operators / sensors / triggers -> mixins -> links, utils -> version_compat. Hooks are imported
inside the methods that use them (``PaiHookMixin.hook``), trigger modules inside the method that
defers: neither is a module-level import of an operator or sensor. Imports under
``if TYPE_CHECKING:`` are for annotations only and do not count.

Below the Airflow layers: ``hooks/`` import no operator, sensor, trigger, mixin or link, and no
``utils`` module that imports Airflow; ``emulator/`` imports nothing from the rest of the package
(it ships as a standalone extra). Cycles are looked for through every import, those inside
functions too, except the deliberate lazy imports of triggers at deferral (``LAZY_TRIGGER_IMPORTS``).
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


# ---- hooks/ and emulator/, and cycles through imports inside functions ------------------------------

ALL_MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}
# The deliberate lazy imports of a trigger module, in the method that defers (the worker's blocking
# path never loads the trigger). Edges, not modules: a new one must be added here on purpose.
LAZY_TRIGGER_IMPORTS = {
    ("airflow_provider_pai.mixins.dataworks", "airflow_provider_pai.triggers.dataworks"),
    ("airflow_provider_pai.mixins.eas", "airflow_provider_pai.triggers.eas"),
}
# Import cycles that exist today and are being removed this round (issue 24): the lead empties this
# set at merge. A cycle not listed here fails; a listed one that is gone fails too, so the list
# cannot outlive the cycles.
KNOWN_CYCLES = {
    # emulator: closed by imports inside functions (state.init_state -> dataworks; eas_state -> pmml_processor,
    # eas_traffic); found once relative imports and function bodies were walked
    frozenset({"airflow_provider_pai.emulator.dataworks", "airflow_provider_pai.emulator.state"}),
    frozenset({"airflow_provider_pai.emulator.eas_state", "airflow_provider_pai.emulator.eas_traffic",
               "airflow_provider_pai.emulator.pmml_processor"}),
}


def all_imports(path: Path) -> set[str]:
    """Package modules ``path`` imports anywhere: module level, inside functions, in ``try``/``if``
    (``TYPE_CHECKING`` blocks aside: they never run)."""
    found: set[str] = set()
    skip: set[int] = set()
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and _is_type_checking(node):
            skip.update(id(n) for stmt in node.body for n in ast.walk(stmt))
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level:  # relative: resolve against the package
            base = _module_name(path).split(".")
            base = base[: len(base) - node.level + (1 if path.name == "__init__.py" else 0)]
            target = ".".join(base + ([node.module] if node.module else []))
            found.add(target)
            found.update(f"{target}.{a.name}" for a in node.names)
    return {name for name in found if name in ALL_MODULES and name != "airflow_provider_pai"}


FULL_GRAPH = {module: all_imports(path) for module, path in ALL_MODULES.items()}


def _imports_airflow(path: Path) -> bool:
    return any(name == "airflow" or name.startswith("airflow.") for name in _third_party(path))


def _third_party(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("module", sorted(m for m in ALL_MODULES if _layer(m) == "hooks"))
def test_hooks_import_nothing_from_the_airflow_facing_layers(module):
    wrong = sorted(
        name for name in FULL_GRAPH[module]
        if _layer(name) in ("operators", "sensors", "triggers", "mixins", "links")
        or (_layer(name) == "utils" and _imports_airflow(ALL_MODULES[name]))
    )
    assert not wrong, f"{module} imports {wrong}: hooks sit below operators, sensors, triggers, mixins and links"


# The pytest plugin is the emulator's one bridge to the provider (it may point hooks at the emulator).
EMULATOR_BRIDGE = {"airflow_provider_pai.emulator.pytest_plugin"}


@pytest.mark.parametrize("module", sorted(m for m in ALL_MODULES if _layer(m) == "emulator" and m not in EMULATOR_BRIDGE))
def test_the_emulator_imports_nothing_from_the_rest_of_the_package(module):
    outside = sorted(name for name in FULL_GRAPH[module] if _layer(name) != "emulator")
    assert not outside, f"{module} imports {outside}: the emulator is a standalone extra"


def test_triggers_are_imported_only_lazily_and_only_where_listed():
    for module, imports in FULL_GRAPH.items():
        if _layer(module) == "triggers":
            continue
        for name in imports:
            if _layer(name) == "triggers":
                assert (module, name) in LAZY_TRIGGER_IMPORTS, f"{module} imports {name}: not a listed lazy import"
                assert name not in GRAPH.get(module, set()), f"{module} imports {name} at module level"


def import_cycles(graph: dict[str, set[str]]) -> set[frozenset[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: set[frozenset[str]] = set()

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = set()
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.add(top)
                if top == node:
                    break
            if len(component) > 1:
                cycles.add(frozenset(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return cycles


def _graph_without_lazy_triggers() -> dict[str, set[str]]:
    return {m: {n for n in imports if (m, n) not in LAZY_TRIGGER_IMPORTS} for m, imports in FULL_GRAPH.items()}


def test_no_import_cycle_through_imports_inside_functions_either():
    new = import_cycles(_graph_without_lazy_triggers()) - KNOWN_CYCLES
    assert not new, f"import cycles (imports inside functions count): {[sorted(c) for c in new]}"


def test_the_known_cycles_still_exist():
    """Once a listed cycle is gone, take it out of KNOWN_CYCLES so it cannot come back unnoticed."""
    gone = KNOWN_CYCLES - import_cycles(_graph_without_lazy_triggers())
    assert not gone, f"no longer cycles, remove from KNOWN_CYCLES: {[sorted(c) for c in gone]}"


def test_the_full_walker_sees_imports_inside_functions_and_cycles(tmp_path):
    mod = tmp_path / "mod.py"
    mod.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from airflow_provider_pai.operators.eas import EasBaseOperator\n"
        "def f():\n    from airflow_provider_pai.hooks.oss import OssHook\n"
    )
    found = all_imports(mod)
    assert "airflow_provider_pai.hooks.oss" in found
    assert "airflow_provider_pai.operators.eas" not in found
    assert import_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == {frozenset({"a", "b", "c"})}
