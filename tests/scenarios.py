"""Scenario variants the tests share.

The packaged demo scenario serves PMML (``processor: pmml``). Tests written for the emulator's toy
``json_linear`` processor (``{"instances": [[x1, x2]]}`` in, ``{"predictions", "version",
"model_path"}`` out) use ``json_linear_demo()``; tests that deploy a model of their own onto the
PMML service write ``churn_pmml()``.
"""

from __future__ import annotations

import copy

from airflow_provider_pai.emulator.scenario import DEMO_SCENARIO, load_scenario

INITIAL_JSON_MODEL = '{"weights": [0.3, -1.0], "bias": 0.0}'


def json_linear_demo() -> dict:
    """The demo scenario with churn_model on ``json_linear`` and a ``model.json`` initial model."""
    scenario = copy.deepcopy(load_scenario(DEMO_SCENARIO))
    scenario["oss"]["objects"] = [
        {"uri": "oss://pai-demo/models/churn/initial/model.json", "content": INITIAL_JSON_MODEL}]
    for service in scenario["eas"]["services"]:
        service["processor"] = "json_linear"
    return scenario


def churn_pmml(note: str = "test") -> str:
    """A valid churn PMML document (the demo's initial model, relabelled so each copy differs)."""
    content = load_scenario(DEMO_SCENARIO)["oss"]["objects"][0]["content"]
    return content.replace("(initial)", f"({note})")
