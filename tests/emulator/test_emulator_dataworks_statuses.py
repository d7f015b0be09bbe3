"""Every documented DataWorks instance status, dry-run task types and enum values with numeric
suffixes (issue 15 items 4 and 7), through the real SDK. Rows: docs/cloud-fidelity.md F-DW-2..F-DW-4."""

from __future__ import annotations

import pytest

from tests.emulator import emulator_clients
from tests.emulator.test_emulator_dataworks import AK, PID, SK, M, backfill, bizdate, get, instances, log

CHECKED, BRANCH, STUCK, NOT_YET, UNCHOSEN = 710001, 710002, 710003, 710004, 710005


def _node(node_id, **spec):
    return {"node_id": node_id, "node_name": f"n{node_id}", "run_seconds": 10, **spec}


NODES = [
    _node(CHECKED, status_path=["WAIT_RESOURCE", "RUNNING", {"status": "CHECKING", "seconds": 5}, "SUCCESS"],
          outputs=[{"uri": "oss://pai-out/checked/{bizdate}.json", "content": "{}"}]),
    _node(BRANCH, status_path=[{"status": "WAIT_TIME", "seconds": 5}, {"status": "WAIT_TRIGGER", "seconds": 5},
                               {"status": "CHECKING_CONDITION", "seconds": 5}, "FAILURE"]),
    _node(STUCK, status_path=["WAIT_TIME", {"status": "WAIT_RESOURCE", "stay": True}]),
    _node(NOT_YET, status_path=[{"status": "NOT_RUN", "seconds": 30}, "RUNNING", "SUCCESS"]),
    _node(UNCHOSEN, task_type="CONDITION_UNCHOOSE",
          outputs=[{"uri": "oss://pai-out/unchosen/{bizdate}.json", "content": "{}"}]),
]
SCENARIO = {
    "region_id": "cn-shanghai",
    "credentials": [{"access_key_id": AK, "access_key_secret": SK}],
    "oss": {"buckets": ["pai-out"]},
    "dataworks": {"projects": [{"project_id": PID, "project_name": "pai_demo", "nodes": NODES}]},
}
SUFFIXED = {**SCENARIO, "dataworks": {**SCENARIO["dataworks"], "enum_suffixes": True}}


@pytest.fixture
def pai_emulator_scenario():
    return SCENARIO


@pytest.fixture
def client(pai_emulator):
    return emulator_clients.dataworks(pai_emulator)


class Clock:
    def __init__(self, proc):
        self.proc = proc

    def now_ms(self) -> int:
        return int(self.proc.now() * 1000)


def start(client, pai_emulator, node_id) -> int:
    [dag] = backfill(client, node_id, bizdate(1, Clock(pai_emulator)))
    pai_emulator.advance_clock(0.5)  # instances appear in ListInstances a little after the call
    [inst] = instances(client, dag_id=dag).instances
    return inst.instance_id


def walk(client, pai_emulator, iid, steps: int) -> list[str]:
    seen = []
    for _ in range(steps):
        seen.append(get(client, iid).status)
        pai_emulator.advance_clock(1 if seen[-1] != "RUNNING" else 10)
    return seen


def test_a_status_path_with_data_quality_checking(client, pai_emulator):
    iid = start(client, pai_emulator, CHECKED)
    seen = walk(client, pai_emulator, iid, 3)
    assert seen == ["WAIT_RESOURCE", "RUNNING", "CHECKING"]
    pai_emulator.advance_clock(5)
    data = get(client, iid)
    assert data.status == "SUCCESS" and data.begin_running_time and data.begin_wait_res_time and data.finish_time
    assert "Status CHECKING" in log(client, iid)
    assert [o["key"] for o in pai_emulator.state()["oss"]["pai-out"]][0].startswith("checked/")


def test_wait_trigger_and_branch_checking_then_failure(client, pai_emulator):
    iid = start(client, pai_emulator, BRANCH)
    seen = []
    for _ in range(4):
        seen.append(get(client, iid).status)
        pai_emulator.advance_clock(5)
    assert seen == ["WAIT_TIME", "WAIT_TRIGGER", "CHECKING_CONDITION", "FAILURE"]


def test_an_instance_can_wait_for_resources_for_good_and_be_stopped(client, pai_emulator):
    iid = start(client, pai_emulator, STUCK)
    pai_emulator.advance_clock(3 * 24 * 3600)
    assert get(client, iid).status == "WAIT_RESOURCE"
    client.stop_instance(M().StopInstanceRequest(instance_id=iid, project_env="PROD"))
    assert get(client, iid).status == "FAILURE"


def test_not_run_before_the_path_moves_on(client, pai_emulator):
    iid = start(client, pai_emulator, NOT_YET)
    assert get(client, iid).status == "NOT_RUN"
    pai_emulator.advance_clock(30)
    assert get(client, iid).status == "RUNNING"


def test_condition_unchoose_is_a_dry_run_success_without_outputs(client, pai_emulator):
    iid = start(client, pai_emulator, UNCHOSEN)
    pai_emulator.advance_clock(5)
    data = get(client, iid)
    assert (data.status, data.task_type, data.begin_running_time) == ("SUCCESS", "CONDITION_UNCHOOSE(6)", None)
    assert "dry-run node (CONDITION_UNCHOOSE)" in log(client, iid)
    assert pai_emulator.state()["oss"].get("pai-out", []) == []


def test_a_malformed_status_path_is_refused_at_start(tmp_path):
    from airflow_provider_pai.emulator.process import EmulatorProcess

    bad = {**SCENARIO, "dataworks": {"projects": [{"project_id": 1, "nodes": [
        _node(1, status_path=["RUNNING"])]}]}}
    with pytest.raises(RuntimeError, match="must end with SUCCESS or FAILURE"):
        EmulatorProcess(bad, data_dir=tmp_path).start()


@pytest.mark.parametrize("pai_emulator_scenario", [SUFFIXED])
def test_enum_values_with_numeric_suffixes(client, pai_emulator):
    [dag] = backfill(client, CHECKED, bizdate(1, Clock(pai_emulator)))
    pai_emulator.advance_clock(60)
    [listed] = instances(client, dag_id=dag).instances
    assert (listed.status, listed.dag_type, listed.task_type) == ("SUCCESS(6)", "SUPPLY_DATA(3)", "NORMAL(0)")
    data = get(client, listed.instance_id)
    assert (data.status, data.dag_type) == ("SUCCESS(6)", "SUPPLY_DATA(3)")
    assert client.get_dag(M().GetDagRequest(dag_id=dag, project_env="PROD")).body.data.type == "SUPPLY_DATA(3)"
    # a Status filter by name matches the suffixed value
    assert [i.instance_id for i in instances(client, status="SUCCESS").instances] == [listed.instance_id]
    history = client.list_instance_history(M().ListInstanceHistoryRequest(
        instance_id=listed.instance_id, project_env="PROD")).body.instances
    assert history[0].status == "SUCCESS(6)"
