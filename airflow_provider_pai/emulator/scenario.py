"""Reading scenario files. Kept free of aiohttp so the pytest plugin stays cheap to load."""

from __future__ import annotations

import json
import os
from pathlib import Path

import yaml

DEMO_SCENARIO = Path(__file__).parent / "scenarios" / "demo.yaml"


def load_scenario(path: str | os.PathLike) -> dict:
    """A scenario from a YAML or JSON file (JSON is read as JSON, anything else as YAML)."""
    path = Path(path)
    text = path.read_text()
    scenario = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    if not isinstance(scenario, dict):
        raise ValueError(f"scenario {path} must be a mapping, got {type(scenario).__name__}")
    return scenario
