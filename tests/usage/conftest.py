"""Fixtures of the usage tests: a scenario with a few services and nodes to compose, and readers
of what Airflow recorded per map index (the harness reads task-level rows only)."""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_pai.emulator.scenario import DEMO_SCENARIO, load_scenario

DAGS = Path(__file__).parent / "dags"
NEW = "oss://pai-demo/models/churn/v2/"
BROKEN = "oss://pai-demo/models/churn/broken/"
OTHER = "oss://pai-demo/models/churn/other/"
# Services the usage DAGs deploy to, each its own so one DAG run can hold many scenarios.
SERVICES = ["svc_a", "svc_b", "svc_c", "svc_d", "svc_e", "svc_f", "svc_g", "svc_h", "svc_j", "svc_k",
            "svc_t1", "svc_t2", "svc_t3", "svc_in"]
SLOW_SERVICES = {"svc_t2", "svc_t3"}  # a rollout lasts 12 s: long enough to time out on


def usage_scenario() -> dict:
    scenario = copy.deepcopy(load_scenario(DEMO_SCENARIO))
    objects = scenario["oss"]["objects"]
    for uri, content in ((NEW, '{"weights": [0.5, -1.1], "bias": 0.0}'),
                         (BROKEN, '{"weights": [0.5, -1.1], "bias": 0.0, "broken": true}'),
                         (OTHER, '{"weights": [0.1, -0.1], "bias": 0.0}')):
        objects.append({"uri": uri + "model.json", "content": content})
    initial = "oss://pai-demo/models/churn/initial/"
    scenario["eas"]["services"] += [
        {"name": name, "model_path": initial, "processor": "json_linear",
         "start_seconds": 25 if name == "svc_t1" else 12 if name in SLOW_SERVICES else 2}
        for name in SERVICES
    ]
    nodes = scenario["dataworks"]["projects"][0]["nodes"]
    # The usage services run the json_linear processor: the demo node exports a model.json for them here
    # (the shipped demo exports PMML for its pmml service).
    for node in nodes:
        for output in node.get("outputs", []):
            if output["uri"].endswith("model.pmml"):
                output["uri"] = output["uri"][: -len("model.pmml")] + "model.json"
                output["content"] = '{"weights": [0.4, -1.2], "bias": 0.1}'
    nodes += [
        {"node_id": 700010, "node_name": "train_12s", "program_type": "PAI_STUDIO", "run_seconds": 12,
         "outcome": "SUCCESS", "log": ["training for 12 s"]},
        # Long enough (32 s with its waits) that a try with execution_timeout=25 s ends first and its retry sees the end,
        # even when a loaded machine takes seconds to start a task.
        {"node_id": 700012, "node_name": "train_27s", "program_type": "PAI_STUDIO", "run_seconds": 27,
         "outcome": "SUCCESS", "log": ["training for 27 s"]},
        {"node_id": 700011, "node_name": "train_long", "program_type": "PAI_STUDIO", "run_seconds": 3600,
         "outcome": "SUCCESS", "log": ["training for an hour"]},
        # The triggerer-restart test's own: no other test's run may become its history (an hour-long
        # history makes the resumed wait sleep through most of an hour of real time).
        {"node_id": 700013, "node_name": "train_long_no_history", "program_type": "PAI_STUDIO",
         "run_seconds": 3600, "outcome": "SUCCESS", "log": ["training for an hour"]},
    ]
    return scenario


@pytest.fixture
def pai_emulator_scenario() -> dict:
    return usage_scenario()


def calls_of(emu, service: str, action: str) -> int:
    return (emu.calls().get(service) or {}).get(action, 0)


def service_state(emu, name: str) -> tuple[int, int]:
    """(current version, number of versions) of an EAS service in the emulator."""
    svc = emu.state()["eas"]["services"][name]
    return svc["current"], len(svc["versions"])


def instances(emu) -> list[dict]:
    return list(emu.state()["dataworks"]["instances"].values())


def ti_rows(env, dag_id: str, run_id: str | None = None) -> dict[tuple[str, int], dict]:
    """{(task_id, map_index): {state, try_number}} of a DAG run, mapped tasks one row per index."""
    run_id = run_id or env.latest_run_id(dag_id)
    rows = env._query(
        "SELECT task_id, map_index, state, try_number FROM task_instance WHERE dag_id=? AND run_id=?",
        (dag_id, run_id),
    )
    return {(t, m): {"state": s, "try_number": n} for t, m, s, n in rows}


def states(env, dag_id: str, run_id: str | None = None) -> dict[str, Any]:
    """{task_id: state} for unmapped tasks, {task_id: [state per map index]} for mapped ones."""
    out: dict[str, Any] = {}
    for (task_id, index), row in sorted(ti_rows(env, dag_id, run_id).items()):
        if index < 0:
            out[task_id] = row["state"]
        else:
            out.setdefault(task_id, []).append(row["state"])
    return out


def xcom_at(env, dag_id: str, task_id: str, map_index: int = -1, key: str = "return_value",
            run_id: str | None = None) -> Any:
    run_id = run_id or env.latest_run_id(dag_id)
    rows = env._query(
        "SELECT value FROM xcom WHERE dag_id=? AND task_id=? AND key=? AND run_id=? AND map_index=?",
        (dag_id, task_id, key, run_id, map_index),
    )
    if not rows:
        return None
    value = rows[0][0]
    return json.loads(value) if isinstance(value, (str, bytes)) else value


def run_dag(env, emu, dag_id: str, *, logical_date: str | None = None, timeout: float = 600, **extra_env):
    result = env.dags_test(dag_id, env={**emu.airflow_env(), **extra_env}, logical_date=logical_date,
                           timeout=timeout)
    out = result.stdout + result.stderr
    if os.environ.get("USAGE_OUTPUT_DIR"):  # the whole `dags test` output, for debugging a failure
        name = f"{dag_id}-{logical_date}-{extra_env.get('USAGE_DEFERRABLE', '')}.out"
        (Path(os.environ["USAGE_OUTPUT_DIR"]) / name).write_text(out)
    return out


def dataworks_runs(emu, task_id: str) -> list[dict]:
    """The DataWorks runs an Airflow task started (found by the run name, which holds the task id)."""
    state = emu.state()["dataworks"]
    out = []
    for dag in state["dags"].values():
        if f"__{task_id}__" not in (dag.get("name") or ""):
            continue
        for iid in dag["instance_ids"]:
            inst = state["instances"][str(iid)]
            out.append({"dag_id": dag["dag_id"], "instance_id": iid, "name": dag["name"],
                        "stopped": any(run.get("stopped_ms") is not None for run in inst["runs"])})
    return out


@pytest.fixture(scope="module")
def usage_emulator(tmp_path_factory):
    """One emulator for a module that runs its DAGs once and checks the outcome in several tests."""
    from airflow_provider_pai.emulator.pytest_plugin import emulator_as_pai_default

    with emulator_as_pai_default(usage_scenario(), tmp_path_factory.mktemp("pai-emulator")) as emu:
        yield emu


def fresh_dags(env, *names: str):
    """The session's Airflow with only these DAG files (from tests/usage/dags) in its DAGs folder."""
    for path in env.dags_folder.glob("*.py"):
        path.unlink()
    for name in names:
        env.add_dag_file(DAGS / name)
    return env
