"""The emulator is opt-in (issue 13 item 5): its dependencies come with the ``[emulator]`` extra, no
pytest plugin is registered by installing the package, and without the extra the command says
which extra to install.

The metadata is read from ``pyproject.toml`` (what a wheel's METADATA and entry_points.txt are
built from): the shared venvs hold an editable install whose metadata may predate this change.
"""

from __future__ import annotations

import ast
import importlib.metadata
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import airflow_provider_pai.emulator as emulator_pkg

REPO = Path(__file__).resolve().parents[2]
EMULATOR_ONLY = {"aiohttp", "pyyaml"}


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~;\[ ]", requirement, maxsplit=1)[0].strip().lower().replace("_", "-")


def _project() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text())["project"]


def test_installing_the_package_registers_no_pytest_plugin():
    entry_points = _project().get("entry-points", {})
    assert "pytest11" not in entry_points, entry_points
    assert set(entry_points) == {"apache_airflow_provider"}


def test_base_dependencies_exclude_what_only_the_emulator_needs():
    project = _project()
    base = {_name(r) for r in project["dependencies"]}
    extra = {_name(r) for r in project["optional-dependencies"]["emulator"]}
    assert not base & EMULATOR_ONLY, base & EMULATOR_ONLY
    assert EMULATOR_ONLY <= extra


def _third_party_imports(package_dir: Path) -> set[str]:
    found = set()
    for path in package_dir.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module.split(".")[0])
    return {m for m in found if m not in sys.stdlib_module_names and m not in ("airflow_provider_pai", "pytest")}


def test_every_module_the_emulator_imports_is_declared():
    """Each third-party import of the emulator comes from the extra, a base dependency, or one of
    the base dependencies' own requirements (crcmod, for instance, comes with oss2)."""
    project = _project()
    declared = {_name(r) for r in project["dependencies"] + project["optional-dependencies"]["emulator"]}
    provided = set(declared)
    for dist in declared:
        try:
            provided |= {_name(r) for r in importlib.metadata.requires(dist) or [] if "extra ==" not in r}
        except importlib.metadata.PackageNotFoundError:
            pass
    dists_of = importlib.metadata.packages_distributions()
    imports = _third_party_imports(Path(emulator_pkg.__file__).parent)
    assert {"aiohttp", "yaml"} <= imports  # the scan sees the imports it is meant to check
    undeclared = {m: dists_of.get(m) for m in imports
                  if not {_name(d) for d in dists_of.get(m, [m])} & provided}
    assert not undeclared, f"the emulator imports modules no declared dependency provides: {undeclared}"


_WITHOUT_EXTRA = """
import runpy, sys
sys.modules["aiohttp"] = None  # what an install without the [emulator] extra looks like to import
sys.argv = ["python -m airflow_provider_pai.emulator", "--data-dir", sys.argv[1]]
runpy.run_module("airflow_provider_pai.emulator", run_name="__main__")
"""


def test_the_command_names_the_extra_when_it_is_missing(tmp_path):
    proc = subprocess.run([sys.executable, "-c", _WITHOUT_EXTRA, str(tmp_path / "data")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0
    assert "pip install 'airflow-provider-pai[emulator]'" in proc.stderr, proc.stderr
    assert "aiohttp" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "data").exists()  # refused before it touched the data dir


def test_a_yaml_scenario_without_the_extra_names_it(tmp_path, monkeypatch):
    from airflow_provider_pai.emulator.scenario import MissingExtraError, load_scenario

    scenario = tmp_path / "s.yaml"
    scenario.write_text("region_id: cn-shanghai\n")
    monkeypatch.setitem(sys.modules, "yaml", None)
    try:
        load_scenario(scenario)
    except MissingExtraError as exc:
        assert "pip install 'airflow-provider-pai[emulator]'" in str(exc) and "pyyaml" in str(exc)
    else:
        raise AssertionError("a YAML scenario loaded without pyyaml")
    (tmp_path / "s.json").write_text('{"region_id": "cn-shanghai"}')
    assert load_scenario(tmp_path / "s.json") == {"region_id": "cn-shanghai"}  # JSON needs no extra


def test_the_command_starts_with_the_extra_installed(tmp_path):
    from airflow_provider_pai.emulator.process import EmulatorProcess

    with EmulatorProcess(data_dir=tmp_path) as emu:
        assert emu.url.startswith("http://127.0.0.1:")
        assert emu.state()["eas"]["services"]
