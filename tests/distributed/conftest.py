"""One distributed deployment (PostgreSQL, Redis, 2 Celery workers, 2 triggerers) and one emulator
for all the tests here: the scenarios share them and each uses its own nodes and services."""

from __future__ import annotations

import copy
import os
from pathlib import Path

import pytest

from airflow_provider_pai.emulator.process import EmulatorProcess
from airflow_provider_pai.emulator.scenario import DEMO_SCENARIO, load_scenario
from airflow_provider_pai.version_compat import AIRFLOW_V_3_3_PLUS

REPO = Path(__file__).resolve().parents[2]
EXAMPLE_DAG = REPO / "example_dags" / "pai_train_deploy.py"
DAGS = Path(__file__).parent / "dags"
RELIABILITY_DAGS = REPO / "tests" / "reliability" / "dags"

# How many concurrent example flows the concurrency scenario runs, clean and again under faults
# (CI and benchmarks/bench_distributed.py alike: 50).
CONCURRENT_RUNS = int(os.environ.get("PAI_DISTRIBUTED_RUNS", "50"))
# Flow nodes/services in the scenario: one per run of every phase (both concurrency phases, the
# restart scenario's 4 per phase), plus a spare for the benchmark's single-machine baseline.
FLOWS = 2 * CONCURRENT_RUNS + 2 * 4 + 1
SLOW_NODES = 8   # hour-long trainings, for the kill and restart scenarios
FIRST_FLOW_NODE, FIRST_SLOW_NODE = 710000, 720000
WAITS = 1000
FIRST_WAIT_NODE = 730000


def flow_conf(i: int) -> dict:
    """The example DAG's params for flow ``i``: its own node, output prefix and service."""
    return {
        "node_id": FIRST_FLOW_NODE + i,
        "output_prefix": f"oss://pai-demo/designer/flow{i}/",
        "release_prefix": f"oss://pai-demo/models/flow{i}/",
        "service_name": f"flow_{i}",
    }


def distributed_scenario() -> dict:
    scenario = copy.deepcopy(load_scenario(DEMO_SCENARIO))
    project = scenario["dataworks"]["projects"][0]
    initial = "oss://pai-demo/models/churn/initial/"
    # The example DAG tests a PMML model (the demo's): each flow's node exports the demo node's model.
    (demo_node,) = [n for n in project["nodes"] if n["node_id"] == 700001]
    pmml = demo_node["outputs"][0]["content"]
    for i in range(FLOWS):
        # Long enough that no trigger fires within seconds of its deferral (apache/airflow#72716,
        # see docs/reliability.md), short enough for CI.
        project["nodes"].append({
            "node_id": FIRST_FLOW_NODE + i, "node_name": f"train_flow_{i}", "program_type": "PAI_STUDIO",
            "run_seconds": 15, "outcome": "SUCCESS", "log": [f"flow {i}: reading", f"flow {i}: AUC 0.9"],
            "outputs": [{"uri": f"oss://pai-demo/designer/flow{i}/{{bizdate}}/model/model.pmml", "content": pmml}],
        })
        scenario["eas"]["services"].append(
            {"name": f"flow_{i}", "model_path": initial, "processor": "pmml", "start_seconds": 12})
    for i in range(SLOW_NODES):
        project["nodes"].append({
            "node_id": FIRST_SLOW_NODE + i, "node_name": f"train_slow_{i}", "program_type": "PAI_STUDIO",
            "run_seconds": 3600, "outcome": "SUCCESS",
            "log": [f"slow {i}: reading table", f"slow {i}: epoch 1", f"slow {i}: epoch 2", f"slow {i}: done"],
        })
    # The node the reliability kill DAGs run (reused as they are).
    project["nodes"].append({"node_id": 700009, "node_name": "train_churn_model_slow", "program_type": "PAI_STUDIO",
                             "run_seconds": 3600, "outcome": "SUCCESS", "log": ["training for an hour"]})
    # Nodes for the mass-wait scenario: instances started by the test, waited on by triggers.
    for i in range(WAITS // 100):
        project["nodes"].append({"node_id": FIRST_WAIT_NODE + i, "node_name": f"wait_{i}", "program_type": "PAI_STUDIO",
                                 "run_seconds": 7200, "outcome": "SUCCESS", "log": ["waiting"]})
    return scenario


@pytest.fixture(scope="package")  # stopped after the last test here, not at the end of the whole suite
def deployment(tmp_path_factory):
    if not AIRFLOW_V_3_3_PLUS:
        pytest.skip("the distributed deployment runs Airflow 3.3 components (api-server, dag-processor)")
    from tests.distributed.deployment import DistributedCluster, services_installed

    missing = services_installed()
    if missing:
        pytest.fail(f"the distributed deployment needs {missing}: run scripts/setup.sh as root")
    home = tmp_path_factory.mktemp("distributed")
    with EmulatorProcess(distributed_scenario(), data_dir=home / "emulator") as emu:
        af = DistributedCluster(home / "airflow")
        # Many runs at once, each on its own service: the example's documented setting, not an edit.
        af.extra_env.update(emu.airflow_env(), AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE="True",
                            PAI_EXAMPLE_MAX_ACTIVE_RUNS="64")
        source = EXAMPLE_DAG.read_text()
        assert 'schedule="@daily"' in source
        # Run only when triggered: a scheduled run of the demo's service would race the test's runs.
        (af.dags_folder / EXAMPLE_DAG.name).write_text(source.replace('schedule="@daily"', "schedule=None"))
        af.add_dag_file(RELIABILITY_DAGS / "reliability_kill_dags.py")
        for dag_file in DAGS.glob("*.py"):
            af.add_dag_file(dag_file)
        with af:
            yield af, emu
