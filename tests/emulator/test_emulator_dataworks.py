"""The emulator's DataWorks 2020-05-18 API, driven by the real alibabacloud_dataworks_public20200518 SDK.

Times are driven by the emulator clock (``Emulator.at``), never by sleeping: each check sits seconds
away from a phase boundary, so it holds however slow the machine is.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from tests.emulator import emulator_clients

AK, SK = "emulator-ak", "emulator-secret"
PID = 10001
TRAIN, FAILS, FROZEN, SKIPPED, SQL = 700001, 700002, 700003, 700004, 700005
MODEL = '{"weights": [0.4, -1.2], "bias": 0.1}'
CST = timezone(timedelta(hours=8))

SCENARIO = {
    "region_id": "cn-shanghai",
    "credentials": [{"access_key_id": AK, "access_key_secret": SK}],
    "dataworks": {"projects": [
        {"project_id": PID, "project_name": "pai_demo", "nodes": [
            {"node_id": TRAIN, "node_name": "train_churn_model", "program_type": "PAI_STUDIO", "run_seconds": 60,
             "outcome": "SUCCESS", "log": ["reading table churn_train", "training", "AUC 0.91"],
             "outputs": [{"uri": "oss://pai-out/designer/churn/{bizdate}/model.json", "content": MODEL}],
             "history": [{"bizdate": "2026-11-01", "run_seconds": 7100, "outcome": "SUCCESS"},
                         {"bizdate": "2026-11-02", "run_seconds": 6900, "outcome": "SUCCESS"}]},
            {"node_id": FAILS, "node_name": "train_fails", "run_seconds": 20, "outcome": "FAILURE",
             "log": ["java.lang.OutOfMemoryError"],
             "outputs": [{"uri": "oss://pai-out/never/{bizdate}.json", "content": "{}"}]},
            {"node_id": FROZEN, "node_name": "frozen", "run_seconds": 20, "scheduler_type": "PAUSE"},
            {"node_id": SKIPPED, "node_name": "dry_run", "run_seconds": 20, "scheduler_type": "SKIP",
             "outputs": [{"uri": "oss://pai-out/skipped/{bizdate}.json", "content": "{}"}]},
            {"node_id": SQL, "node_name": "sql_prepare", "program_type": "ODPS_SQL", "run_seconds": 20,
             "flow_name": "manual_flow"},
        ]},
        {"project_id": 10002, "project_name": "basic_ws", "edition": "basic",
         "nodes": [{"node_id": 800001, "node_name": "n"}]},
    ]},
}


@pytest.fixture
def pai_emulator_scenario():
    return SCENARIO


class Emulator:
    """The ``pai_emulator`` fixture plus what these tests read: its clock, DAG creation times, OSS keys."""

    def __init__(self, proc):
        self.proc = proc

    def now_ms(self) -> int:
        return int(self.proc.now() * 1000)

    def at(self, ms: int) -> None:
        """Set the emulator clock to epoch ``ms`` (forwards or back)."""
        self.proc.advance_clock((ms - self.now_ms()) / 1000)

    def created(self, client, dag_id: int) -> int:
        return client.get_dag(M().GetDagRequest(dag_id=dag_id, project_env="PROD")).body.data.create_time

    def keys(self, bucket: str = "pai-out") -> list[str]:
        return [o["key"] for o in self.proc.state()["oss"].get(bucket, [])]

    def bucket(self, name: str = "pai-out"):
        return emulator_clients.bucket(self.proc, name)


@pytest.fixture
def emu(pai_emulator):
    return Emulator(pai_emulator)


@pytest.fixture
def client(pai_emulator):
    return emulator_clients.dataworks(pai_emulator)


def M():
    from alibabacloud_dataworks_public20200518 import models

    return models


def bizdate(days_ago: int, emu) -> str:
    day = datetime.fromtimestamp(emu.now_ms() / 1000, CST).date() - timedelta(days=days_ago)
    return f"{day:%Y-%m-%d} 00:00:00"


def backfill(client, node_id, start, end=None, immediate=True, include_node_ids=None, **extra) -> list[int]:
    req = M().RunCycleDagNodesRequest(
        name=f"airflow_{node_id}", root_node_id=node_id, include_node_ids=include_node_ids or str(node_id),
        start_biz_date=start,
        end_biz_date=end or start, parallelism=False, project_env="PROD",
        start_future_instance_immediately=immediate, **extra)
    body = client.run_cycle_dag_nodes(req).body
    assert body.success is True and body.http_status_code == 200
    return body.data


def instances(client, **filters):
    req = M().ListInstancesRequest(project_id=PID, project_env="PROD", **filters)
    return client.list_instances(req).body.data


def get(client, iid):
    return client.get_instance(M().GetInstanceRequest(instance_id=iid, project_env="PROD")).body.data


def log(client, iid, history_id=None):
    req = M().GetInstanceLogRequest(instance_id=iid, project_env="PROD", instance_history_id=history_id)
    return client.get_instance_log(req).body.data


def history(client, iid):
    return client.list_instance_history(M().ListInstanceHistoryRequest(instance_id=iid, project_env="PROD")).body


def start_one(client, emu, node_id, days_ago=1):
    """Backfill one node for one date; returns (dag id, the instance as ListInstances shows it)."""
    (dag_id,) = backfill(client, node_id, bizdate(days_ago, emu))
    created = emu.created(client, dag_id)
    emu.at(created + 1000)
    (inst,) = instances(client, dag_id=dag_id).instances
    return dag_id, inst, created


def error_of(call):
    from Tea.exceptions import TeaException

    with pytest.raises(TeaException) as info:
        call()
    return info.value


def test_full_run_to_success_grows_the_log_and_writes_outputs_once(client, emu):
    day = bizdate(1, emu)
    (dag_id,) = backfill(client, TRAIN, day)
    created = emu.created(client, dag_id)

    emu.at(created + 200)  # instances are generated a moment after the call: callers poll
    assert instances(client, dag_id=dag_id).instances == []

    emu.at(created + 2_000)
    page = instances(client, dag_id=dag_id)
    assert page.total_count == 1 and page.page_number == 1
    inst = page.instances[0]
    assert (inst.node_id, inst.node_name, inst.dag_id) == (TRAIN, "train_churn_model", dag_id)
    assert inst.dag_type == "SUPPLY_DATA" and inst.task_type == "NORMAL(0)" and inst.status == "WAIT_TIME"
    midnight = int(datetime.strptime(day, "%Y-%m-%d %H:%M:%S").replace(tzinfo=CST).timestamp() * 1000)
    assert inst.bizdate == midnight and inst.cyc_time == midnight + 86_400_000
    assert inst.begin_wait_time_time and inst.begin_running_time is None and inst.finish_time is None

    emu.at(created + 5_000)
    assert get(client, inst.instance_id).status == "WAIT_RESOURCE"

    emu.at(created + 10_000)
    data = get(client, inst.instance_id)
    assert data.status == "RUNNING" and data.begin_wait_res_time and data.begin_running_time
    text = log(client, inst.instance_id)
    assert "reading table churn_train" in text and "AUC 0.91" not in text and "finished" not in text

    emu.at(created + 30_000)  # line i of the scenario log appears at i/3 of the running time
    text = log(client, inst.instance_id)
    assert text.splitlines()[-1].endswith("INFO training") and "AUC 0.91" not in text
    assert emu.keys() == []

    emu.at(created + 70_000)
    data = get(client, inst.instance_id)
    assert data.status == "SUCCESS" and data.finish_time - data.begin_running_time == 60_000
    lines = log(client, inst.instance_id).splitlines()
    assert lines[-1].endswith(f"Instance {inst.instance_id} finished with status SUCCESS")
    assert any(line.endswith("INFO AUC 0.91") for line in lines)
    key = f"designer/churn/{day[:10].replace('-', '')}/model.json"
    assert emu.bucket().get_object(key).read() == MODEL.encode()

    dag = client.get_dag(M().GetDagRequest(dag_id=dag_id, project_env="PROD")).body.data
    assert (dag.name, dag.status, dag.type, dag.project_id) == (f"airflow_{TRAIN}", "SUCCESS", "SUPPLY_DATA", PID)

    emu.bucket().delete_object(key)  # written once per run: later observations do not write again
    get(client, inst.instance_id)
    assert emu.keys() == []


def test_failure_outcome_writes_nothing(client, emu):
    dag_id, inst, created = start_one(client, emu, FAILS)
    emu.at(created + 40_000)
    assert get(client, inst.instance_id).status == "FAILURE"
    assert "finished with status FAILURE" in log(client, inst.instance_id)
    dag = client.get_dag(M().GetDagRequest(dag_id=dag_id, project_env="PROD")).body.data
    assert dag.status == "FAILURE"
    assert emu.keys() == []


async def test_stop_ends_in_failure_and_says_so_async(client, emu):
    _, inst, created = start_one(client, emu, TRAIN)
    emu.at(created + 20_000)
    req = M().StopInstanceRequest(instance_id=inst.instance_id, project_env="PROD")
    stopped = await client.stop_instance_async(req)
    assert stopped.body.data is True and stopped.body.success is True

    emu.at(created + 200_000)  # long after the run would have finished
    got = await client.get_instance_async(M().GetInstanceRequest(instance_id=inst.instance_id, project_env="PROD"))
    assert got.body.data.status == "FAILURE"
    text = (await client.get_instance_log_async(
        M().GetInstanceLogRequest(instance_id=inst.instance_id, project_env="PROD"))).body.data
    assert "stopped by user" in text and "AUC 0.91" not in text
    assert emu.keys() == []

    err = error_of(lambda: client.stop_instance(req))  # already finished
    assert err.code == "Invalid.Instance.Status" and err.status_code == 400


def test_restart_adds_a_history_entry_and_runs_again(client, emu):
    _, inst, created = start_one(client, emu, FAILS)
    iid = inst.instance_id
    err = error_of(lambda: client.restart_instance(M().RestartInstanceRequest(instance_id=iid, project_env="PROD")))
    assert err.code == "Invalid.Instance.Status"  # still running

    emu.at(created + 40_000)
    restarted = client.restart_instance(M().RestartInstanceRequest(instance_id=iid, project_env="PROD")).body
    assert restarted.data is True
    emu.at(created + 42_000)
    data = get(client, iid)
    assert data.status == "WAIT_TIME" and data.task_rerun_time == 1

    body = history(client, iid)
    assert body.success is True
    first, second = body.instances
    assert first.instance_history_id != second.instance_history_id
    assert (first.status, second.status) == ("FAILURE", "WAIT_TIME")
    assert first.instance_id == second.instance_id == iid
    assert "finished with status FAILURE" in log(client, iid, first.instance_history_id)
    assert "finished" not in log(client, iid, second.instance_history_id)


def test_frozen_node_fails_and_skipped_node_succeeds_without_running(client, emu):
    _, frozen, created = start_one(client, emu, FROZEN)
    _, skipped, _ = start_one(client, emu, SKIPPED)
    emu.at(created + 30_000)
    f, s = get(client, frozen.instance_id), get(client, skipped.instance_id)
    assert (f.status, f.task_type, f.begin_running_time) == ("FAILURE", "PAUSE(2)", None)
    assert (s.status, s.task_type, s.begin_running_time) == ("SUCCESS", "SKIP(3)", None)
    assert "frozen" in log(client, frozen.instance_id)
    assert emu.keys() == []  # a dry run writes no outputs


def test_future_instance_waits_for_its_time_unless_started_immediately(client, emu):
    (waiting,) = backfill(client, FAILS, bizdate(0, emu), immediate=False)
    (now_dag,) = backfill(client, FAILS, bizdate(0, emu), immediate=True)
    created = emu.created(client, waiting)
    emu.at(created + 15_000)
    assert instances(client, dag_id=waiting).instances[0].status == "WAIT_TIME"
    assert instances(client, dag_id=now_dag).instances[0].status == "RUNNING"


def test_history_gives_past_durations(client):
    page = instances(client, node_id=TRAIN, status="SUCCESS")
    durations = sorted(i.finish_time - i.begin_running_time for i in page.instances)
    assert durations == [6_900_000, 7_100_000]
    assert {i.dag_type for i in page.instances} == {"DAILY"}


def test_pagination(client, emu):
    dag_ids = backfill(client, FAILS, bizdate(9, emu), bizdate(5, emu))
    assert len(dag_ids) == 5 and len(set(dag_ids)) == 5
    emu.at(emu.now_ms() + 1_000)
    seen = []
    for number in (1, 2, 3):
        page = instances(client, node_id=FAILS, page_size=2, page_number=number)
        assert page.total_count == 5 and page.page_size == 2
        seen += [i.dag_id for i in page.instances]
    assert sorted(seen) == sorted(dag_ids)
    one_day = instances(client, node_id=FAILS, bizdate=bizdate(7, emu))
    assert one_day.total_count == 1
    err = error_of(lambda: instances(client, page_size=101))
    assert err.code == "InvalidParameter" and "PageSize" in err.message


def test_manual_workflow_and_smoke_test(client, emu):
    req = M().RunManualDagNodesRequest(project_name="pai_demo", flow_name="manual_flow", project_env="PROD",
                                       biz_date=bizdate(1, emu))
    body = client.run_manual_dag_nodes(req).body
    assert body.dag_id and body.request_id
    smoke = client.run_smoke_test(M().RunSmokeTestRequest(
        bizdate=bizdate(1, emu), name="smoke", node_id=TRAIN, project_env="PROD")).body
    assert smoke.success is True
    emu.at(emu.now_ms() + 1_000)
    (manual,) = instances(client, dag_id=body.dag_id).instances
    (smoked,) = instances(client, dag_id=smoke.data).instances
    assert (manual.node_id, manual.dag_type) == (SQL, "MANUAL")
    assert (smoked.node_id, smoked.dag_type) == (TRAIN, "SMOKE_TEST")

    req.biz_date = bizdate(0, emu)  # a manual workflow's business date is at most yesterday
    assert error_of(lambda: client.run_manual_dag_nodes(req)).code == "InvalidParameter"


def test_duplicates_start_a_second_run(client, emu):
    first, second = backfill(client, TRAIN, bizdate(1, emu)), backfill(client, TRAIN, bizdate(1, emu))
    assert first != second


def test_nodes(client):
    node = client.get_node(M().GetNodeRequest(node_id=TRAIN, project_env="PROD")).body.data
    assert (node.node_name, node.program_type, node.file_type, node.project_id) == (
        "train_churn_model", "PAI_STUDIO", 1117, PID)
    assert node.scheduler_type == "NORMAL" and node.cron_express and node.repeatability == "true"
    sql = client.get_node(M().GetNodeRequest(node_id=SQL, project_env="PROD")).body.data
    assert (sql.program_type, sql.file_type) == ("ODPS_SQL", 10)

    listed = client.list_nodes(M().ListNodesRequest(project_id=PID, project_env="PROD", page_size=2)).body.data
    assert listed.total_count == 5 and len(listed.nodes) == 2 and listed.nodes[0].repeatability is True
    frozen = client.list_nodes(M().ListNodesRequest(project_id=PID, project_env="PROD",
                                                    scheduler_type="PAUSE")).body.data
    assert [n.node_id for n in frozen.nodes] == [FROZEN]


def test_errors_name_what_is_wrong(client, emu):
    cases = [
        (lambda: get(client, 123), 400, "Invalid.Tenant.InstanceNotExists"),
        (lambda: client.get_node(M().GetNodeRequest(node_id=1, project_env="PROD")), 400,
         "Invalid.Tenant.NodeNotExists"),
        (lambda: client.get_dag(M().GetDagRequest(dag_id=1, project_env="PROD")), 400, "Invalid.Tenant.DagNotExists"),
        (lambda: client.list_instances(M().ListInstancesRequest(project_id=1, project_env="PROD")), 400,
         "Invalid.Tenant.ProjectNotExists"),
        (lambda: backfill(client, 800001, bizdate(1, emu)), 403, "Forbidden.Access"),
    ]
    for call, status, code in cases:
        err = error_of(call)
        assert (err.status_code, err.code) == (status, code)

    err = error_of(lambda: client.get_instance(M().GetInstanceRequest(project_env="PROD")))
    assert (err.status_code, err.code) == (400, "MissingParameter") and "InstanceId" in err.message

    _, inst, _ = start_one(client, emu, TRAIN)  # a PROD instance is not visible in DEV
    err = error_of(lambda: client.get_instance(M().GetInstanceRequest(instance_id=inst.instance_id,
                                                                     project_env="DEV")))
    assert err.code == "Invalid.Tenant.InstanceNotExists"


def test_unknown_action_is_not_found(client):
    from alibabacloud_tea_openapi import utils_models
    from darabonba.runtime import RuntimeOptions

    params = utils_models.Params(action="NoSuchAction", version="2020-05-18", protocol="HTTPS", pathname="/",
                                 method="POST", auth_type="AK", style="RPC", req_body_type="formData",
                                 body_type="json")
    err = error_of(lambda: client.call_api(params, utils_models.OpenApiRequest(body={}), RuntimeOptions()))
    assert (err.status_code, err.code) == (404, "InvalidAction.NotFound")


def test_status_survives_a_restart_of_the_emulator(client, emu):
    key = f"designer/churn/{bizdate(1, emu)[:10].replace('-', '')}/model.json"
    _, inst, created = start_one(client, emu, TRAIN)
    emu.proc.restart()  # a new process that has only the persisted state
    emu.at(created + 70_000)
    assert get(client, inst.instance_id).status == "SUCCESS"
    assert emu.keys() == [key]


def test_excluded_nodes_get_dry_run_instances_and_node_params_reach_the_instance(client, emu):
    (dag_id,) = backfill(client, TRAIN, bizdate(2, emu), include_node_ids=f"{TRAIN},{FAILS}",
                         exclude_node_ids=str(FAILS), node_params=json.dumps({str(TRAIN): "epochs=3"}))
    emu.at(emu.created(client, dag_id) + 80_000)
    by_node = {i.node_id: i for i in instances(client, dag_id=dag_id).instances}
    assert (by_node[FAILS].status, by_node[FAILS].task_type) == ("SUCCESS", "SKIP(3)")
    assert (by_node[TRAIN].status, by_node[TRAIN].param_values) == ("SUCCESS", "epochs=3")


def test_outputs_are_there_for_an_observer_that_only_looks_at_oss(client, emu):
    key = f"designer/churn/{bizdate(4, emu)[:10].replace('-', '')}/model.json"
    _, inst, created = start_one(client, emu, TRAIN, days_ago=4)
    emu.at(created + 100_000)  # finished, and no DataWorks call has looked at it since
    assert emu.keys() == [key]
    assert emu.bucket().get_object(key).read() == MODEL.encode()
