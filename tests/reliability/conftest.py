"""Fixtures and helpers of the reliability tests: an STS scenario with recognisable secrets, the
remote calls that change state, an in-process task context, and a secret scanner."""

from __future__ import annotations

import copy
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_pai.emulator.process import EmulatorProcess
from airflow_provider_pai.emulator.pytest_plugin import emulator_as_pai_default
from airflow_provider_pai.emulator.scenario import DEMO_SCENARIO, load_scenario

REPO = Path(__file__).resolve().parents[2]
EXAMPLE_DAG = REPO / "example_dags" / "pai_train_deploy.py"
DAGS = Path(__file__).parent / "dags"

# Distinctive values, so a scan for them cannot match anything by accident.
STS_ACCESS_KEY_ID = "STS.reliability-ak-id"
STS_SECRET = "Rel1abilitySecretValue-9f3c7a2e"
STS_TOKEN = "CAIS-reliability-sts-token-Q7x2mZ8pL4"
SECRETS = (STS_SECRET, STS_TOKEN)

# Every action the emulator serves that only reads. Anything else changes remote state.
READ_ONLY_ACTIONS = {
    "dataworks": {"ListProjects", "GetNode", "ListNodes", "GetDag", "GetInstance", "GetInstanceLog",
                  "ListInstances", "ListInstanceHistory",
                  # OpenAPI 2024-05-18 (new Data Studio): auto probes a workspace with these
                  "GetTask", "GetTaskInstance", "GetTaskInstanceLog", "ListTaskInstances",
                  "ListWorkflowInstances", "GetWorkflowInstance", "GetCreateWorkflowInstancesResult"},
    "eas": {"DescribeService", "ListServices", "ListServiceVersions", "DescribeServiceEvent",
            "DescribeServiceEndpoints", "ListServiceInstances"},
    "oss": {"ListBuckets", "GetBucketInfo", "GetBucketLocation", "ListMultipartUploads", "ListObjects",
            "ListObjectsV2", "ListParts", "GetObject", "HeadObject", "GetObjectMeta"},
    "predict": {"Predict"},
}


def reliability_scenario(*, slow: bool = False) -> dict:
    """The demo scenario, authenticated with an STS credential (so both secrets are in play).

    ``slow``: training and EAS rollouts take long enough to kill or restart things mid-wait
    (the tests shorten them with ``advance_clock`` once the disruption is done).
    """
    scenario = copy.deepcopy(load_scenario(DEMO_SCENARIO))
    scenario["credentials"] = [
        {"access_key_id": STS_ACCESS_KEY_ID, "access_key_secret": STS_SECRET, "security_token": STS_TOKEN}
    ]
    if slow:
        for node in scenario["dataworks"]["projects"][0]["nodes"]:
            node["run_seconds"] = 600
        for service in scenario["eas"]["services"]:
            service["start_seconds"] = 600
        scenario["eas"]["start_seconds"] = 600
    return scenario


def mutating_calls(calls: dict[str, dict[str, int]]) -> dict[str, int]:
    """``{"service.Action": count}`` of the calls that change remote state."""
    return {
        f"{service}.{action}": count
        for service, actions in calls.items()
        for action, count in actions.items()
        if count and action not in READ_ONLY_ACTIONS.get(service, set())
    }


def remote_state(emu: EmulatorProcess) -> dict:
    """What a user's cloud account holds: DataWorks runs, EAS services and versions, OSS objects."""
    state = emu.state()
    services = {
        name: {"current": svc.get("current"), "versions": [v.get("config") for v in svc.get("versions", [])]}
        for name, svc in state["eas"]["services"].items()
    }
    return {"dags": state["dataworks"]["dags"], "instances": state["dataworks"]["instances"],
            "services": services, "oss": state["oss"]}


def latest_version(emu: EmulatorProcess, service: str = "churn_model") -> int:
    return len(emu.state()["eas"]["services"][service]["versions"])


def calls_of(emu: EmulatorProcess, service: str, action: str) -> int:
    return (emu.calls().get(service) or {}).get(action, 0)


def assert_no_secrets(where: str, text: Any) -> None:
    text = text if isinstance(text, str) else json.dumps(text, default=str)
    for secret in SECRETS:
        assert secret not in text, f"a secret ({secret[:4]}...) leaked into {where}"


class TaskInstanceStub:
    """The few TaskInstance methods the operators call, for running ``execute()`` in-process."""

    def __init__(self, dag_id: str = "reliability", task_id: str = "task", run_id: str = "manual__reliability"):
        self.dag_id, self.task_id, self.run_id, self.map_index, self.try_number = dag_id, task_id, run_id, -1, 1
        self.xcoms: dict[tuple[str, str], Any] = {}
        self.states: dict[str, str] = {}  # task_id -> state, what Airflow would say of this run's tasks

    def get_task_states(self, dag_id: str, task_ids: list[str], run_ids: list[str], **_: Any) -> dict:
        return {self.run_id: {t: self.states[t] for t in task_ids if t in self.states}}

    def get_task_instance(self, task_id: str, **_: Any) -> Any:  # as DagRun.get_task_instance (Airflow 2)
        from types import SimpleNamespace

        return SimpleNamespace(state=self.states.get(task_id))

    def xcom_push(self, key: str, value: Any, **_: Any) -> None:
        self.xcoms[(self.task_id, key)] = value

    def xcom_pull(self, task_ids: str | None = None, key: str = "return_value", **_: Any) -> Any:
        return self.xcoms.get((task_ids or self.task_id, key))


def task_context(task_id: str = "task", **kwargs: Any) -> dict:
    return {"ti": TaskInstanceStub(task_id=task_id, **kwargs)}


@pytest.fixture
def pai_emulator_scenario() -> dict:
    return reliability_scenario()


@pytest.fixture(scope="module")
def shared_emulator(tmp_path_factory):
    """One emulator for a module whose tests change nothing remote (each resets the call counts)."""
    with emulator_as_pai_default(reliability_scenario(), tmp_path_factory.mktemp("pai-emulator")) as emu:
        yield emu


# The multi-process Airflow needs its own migrated DB; migrating SQLite takes most of a minute, so
# it starts as soon as collection shows cluster tests will run, alongside the tests before them.
_premigrated: dict[str, Any] = {}


def pytest_collection_finish(session) -> None:
    from airflow_provider_pai.version_compat import AIRFLOW_V_3_3_PLUS
    from tests.reliability.airflow_cluster import AirflowCluster

    if AIRFLOW_V_3_3_PLUS and any(item.nodeid.startswith("tests/reliability/test_cluster.py") for item in session.items):
        root = Path(tempfile.mkdtemp(prefix="pai-airflow-cluster-"))
        cluster = AirflowCluster(root / "airflow")
        cluster.begin_migration()
        _premigrated.update(cluster=cluster, root=root)


def pytest_sessionfinish(session) -> None:
    if "cluster" in _premigrated:
        _premigrated["cluster"].stop()
        shutil.rmtree(_premigrated["root"], ignore_errors=True)


def take_premigrated_cluster():
    """The cluster whose DB is being migrated since collection, or None."""
    return _premigrated.get("cluster")
