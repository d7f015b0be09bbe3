"""Reading scenario files. Kept free of aiohttp so the pytest plugin stays cheap to load."""

from __future__ import annotations

import json
import os
from pathlib import Path

DEMO_SCENARIO = Path(__file__).parent / "scenarios" / "demo.yaml"
EXTRA_HINT = "pip install 'airflow-provider-pai[emulator]'"
# What only the emulator needs: the [emulator] extra in pyproject.toml (module -> distribution).
EXTRA_MODULES = {"aiohttp": "aiohttp", "yaml": "pyyaml"}


class MissingExtraError(ImportError):
    """The emulator's own dependencies are not installed: the message names the extra."""


def require_extra(*modules: str) -> None:
    """Import ``modules`` (default: all of the extra's) or raise MissingExtraError naming the extra."""
    import importlib

    missing = []
    for module in modules or tuple(EXTRA_MODULES):
        try:
            importlib.import_module(module)
        except ImportError:
            missing.append(EXTRA_MODULES.get(module, module))
    if missing:
        raise MissingExtraError(
            f"the PAI emulator needs {', '.join(missing)}, which the provider alone does not install: "
            f"{EXTRA_HINT}")


def load_scenario(path: str | os.PathLike) -> dict:
    """A scenario from a YAML or JSON file (JSON is read as JSON, anything else as YAML)."""
    path = Path(path)
    text = path.read_text()
    if path.suffix == ".json":
        scenario = json.loads(text)
    else:
        require_extra("yaml")
        import yaml

        scenario = yaml.safe_load(text)
    if not isinstance(scenario, dict):
        raise ValueError(f"scenario {path} must be a mapping, got {type(scenario).__name__}")
    return scenario
