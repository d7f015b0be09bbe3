"""The emulator's DataWorks OpenAPI 2024-05-18, driven by the real alibabacloud_dataworks_public20240518 SDK.

Times follow the emulator clock (set with ``at``), never sleeps. One legacy workspace (10001) and
one on the new Data Studio (20001) share the same state: 2024 Operation Center calls serve both,
2020-05-18 calls about the new one are refused (docs/cloud-fidelity.md, F-DW24-12/13).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

AK, SK = "emulator-ak", "emulator-secret"
LEGACY, NEW = 10001, 20001
TRAIN, SQL = 700001, 700003  # legacy nodes
NEW_TRAIN, NEW_TASK, NEW_FAILS = 900001, 910001, 900002  # a new Data Studio node, its task, a failing one
CST = timezone(timedelta(hours=8))

SCENARIO = {
    "region_id": "cn-shanghai",
    "credentials": [{"access_key_id": AK, "access_key_secret": SK}],
    "dataworks": {"projects": [
        {"project_id": LEGACY, "project_name": "legacy_ws", "nodes": [
            {"node_id": TRAIN, "node_name": "train", "run_seconds": 60, "log": ["a", "b"]},
            {"node_id": SQL, "node_name": "sql", "program_type": "ODPS_SQL", "run_seconds": 10},
        ]},
        {"project_id": NEW, "project_name": "new_ws", "data_studio": "new", "nodes": [
            {"node_id": NEW_TRAIN, "task_id": NEW_TASK, "node_name": "train_new", "program_type": "PAI_STUDIO",
             "run_seconds": 60, "log": ["reading", "training", "AUC 0.9"]},
            {"node_id": NEW_FAILS, "node_name": "fails_new", "run_seconds": 20, "outcome": "FAILURE",
             "log": ["OutOfMemoryError"]},
        ]},
    ]},
}


@pytest.fixture
def pai_emulator_scenario():
    return SCENARIO


def M():
    from alibabacloud_dataworks_public20240518 import models

    return models


@pytest.fixture
def client(pai_emulator):
    from alibabacloud_dataworks_public20240518.client import Client
    from alibabacloud_tea_openapi.utils_models import Config

    return Client(Config(access_key_id=AK, access_key_secret=SK, protocol="http",
                         endpoint=pai_emulator.url.removeprefix("http://")))


def now_ms(emu) -> int:
    return int(emu.now() * 1000)


def at(emu, ms: int) -> None:
    emu.advance_clock((ms - now_ms(emu)) / 1000)


def day(emu, days_ago: int = 1) -> str:
    return f"{datetime.fromtimestamp(now_ms(emu) / 1000, CST).date() - timedelta(days=days_ago):%Y-%m-%d}"


def day_ms(text: str) -> int:
    return int(datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=CST).timestamp() * 1000)


def error_of(call):
    from Tea.exceptions import TeaException

    with pytest.raises(TeaException) as info:
        call()
    return info.value


def backfill(client, project_id, task_id, bizdate, name="airflow_run", **extra) -> str:
    req = M().CreateWorkflowInstancesRequest(
        project_id=project_id, name=name, type="SupplementData", workflow_id=1, env_type="Prod",
        periods=M().CreateWorkflowInstancesRequestPeriods(
            biz_dates=[M().CreateWorkflowInstancesRequestPeriodsBizDates(start_biz_date=bizdate, end_biz_date=bizdate)]),
        default_run_properties=M().CreateWorkflowInstancesRequestDefaultRunProperties(
            mode="General", root_task_ids=[task_id], parallelism=1,
            analysis=M().CreateWorkflowInstancesRequestDefaultRunPropertiesAnalysis(enabled=False, blocked=False)),
        **extra)
    op = client.create_workflow_instances(req).body.operation_id
    assert op
    return op


def result(client, op):
    return client.get_create_workflow_instances_result(M().GetCreateWorkflowInstancesResultRequest(operation_id=op)).body.result


def started(client, emu, project_id=NEW, task_id=NEW_TASK, **kw):
    """Backfill yesterday, wait (clock) until created; (workflow instance id, task instance)."""
    bizdate = day(emu)
    op = backfill(client, project_id, task_id, bizdate, **kw)
    at(emu, now_ms(emu) + 1000)
    res = result(client, op)
    assert res.status == "Created"
    (wf,) = res.workflow_instance_ids
    req = M().ListTaskInstancesRequest(project_id=project_id, bizdate=day_ms(bizdate), workflow_instance_id=wf,
                                       task_id=task_id)
    (ti,) = client.list_task_instances(req).body.paging_info.task_instances
    return wf, ti


def get(client, iid):
    return client.get_task_instance(M().GetTaskInstanceRequest(id=iid)).body.task_instance


def test_get_task_and_node_of_a_new_data_studio_workspace(client):
    task = client.get_task(M().GetTaskRequest(id=NEW_TASK, project_env="Prod")).body.task
    assert (task.id, task.name, task.type, task.project_id) == (NEW_TASK, "train_new", "PAI_STUDIO", NEW)
    assert task.trigger.type == "Scheduler" and task.trigger.recurrence == "Normal"
    node = client.get_node(M().GetNodeRequest(id=str(NEW_TRAIN), project_id=NEW)).body.node
    assert node.id == str(NEW_TRAIN) and node.task_id == NEW_TASK
    assert json.loads(node.spec)["spec"]["nodes"][0]["script"]["runtime"]["command"] == "PAI_STUDIO"


def test_data_studio_get_node_knows_no_legacy_node_but_operation_center_serves_both(client):
    err = error_of(lambda: client.get_node(M().GetNodeRequest(id=str(TRAIN), project_id=LEGACY)))
    assert err.status_code == 400 and "does not exist" in err.message
    assert client.get_task(M().GetTaskRequest(id=TRAIN)).body.task.project_id == LEGACY
    err = error_of(lambda: client.get_task(M().GetTaskRequest(id=123)))
    assert err.status_code == 400 and "123" in err.message


def test_creation_is_asynchronous_then_the_task_instance_runs_to_success(client, pai_emulator):
    emu = pai_emulator
    op = backfill(client, NEW, NEW_TASK, day(emu), task_parameters=json.dumps({str(NEW_TASK): "alpha=0.1"}))
    assert result(client, op).status == "Creating"
    wf, ti = started(client, emu)
    assert ti.task_id == NEW_TASK and ti.workflow_instance_id == wf and ti.workflow_instance_type == "SupplementData"
    assert ti.bizdate == day_ms(day(emu)) and ti.run_number == 1
    first = get(client, ti.id)
    assert first.status in ("NotRun", "WaitTime", "WaitResource") and first.script.parameters == ""
    at(emu, ti.create_time + 10_000)  # past the waits (10% of the run each), into the run
    running = get(client, ti.id)
    assert running.status == "Running" and running.started_time and not running.finished_time
    at(emu, ti.create_time + 70_000)
    done = get(client, ti.id)
    assert done.status == "Success" and done.finished_time > done.started_time
    log = client.get_task_instance_log(M().GetTaskInstanceLogRequest(id=ti.id)).body.task_instance_log
    assert "training" in log and "finished with status SUCCESS" in log


def test_task_parameters_reach_the_instance(client, pai_emulator):
    op = backfill(client, NEW, NEW_TASK, day(pai_emulator), task_parameters=json.dumps({str(NEW_TASK): "alpha=0.1"}))
    at(pai_emulator, now_ms(pai_emulator) + 1000)
    (iid,) = result(client, op).workflow_task_instance_ids
    assert get(client, iid).script.parameters == "alpha=0.1"


def test_workflow_instances_are_found_by_name_and_bizdate(client, pai_emulator):
    wf, _ = started(client, pai_emulator, name="airflow__dag__run__train__abc")
    bizdate = day_ms(day(pai_emulator))
    req = M().ListWorkflowInstancesRequest(project_id=NEW, biz_date=bizdate, name="airflow__dag__run__train")
    (found,) = client.list_workflow_instances(req).body.paging_info.workflow_instances
    assert (found.id, found.name, found.type) == (wf, "airflow__dag__run__train__abc", "SupplementData")
    other_day = M().ListWorkflowInstancesRequest(project_id=NEW, biz_date=bizdate - 86_400_000, name="airflow")
    assert client.list_workflow_instances(other_day).body.paging_info.total_count == 0
    assert client.get_workflow_instance(M().GetWorkflowInstanceRequest(id=wf)).body.workflow_instance.name.startswith("airflow")


def test_stop_then_rerun_report_success_info_per_id(client, pai_emulator):
    emu = pai_emulator
    _, ti = started(client, emu)
    at(emu, ti.create_time + 20_000)
    stop = client.stop_task_instances(M().StopTaskInstancesRequest(ids=[ti.id, 42])).body.success_info
    assert stop[str(ti.id)].success is True and stop["42"].success is False
    at(emu, ti.create_time + 21_000)
    assert get(client, ti.id).status == "Failure"
    again = client.stop_task_instances(M().StopTaskInstancesRequest(ids=[ti.id])).body.success_info
    assert again[str(ti.id)].success is False and "finished" in again[str(ti.id)].message
    rerun = client.rerun_task_instances(M().RerunTaskInstancesRequest(ids=[ti.id])).body.success_info
    assert rerun[str(ti.id)].success is True
    assert get(client, ti.id).run_number == 2
    first_log = client.get_task_instance_log(M().GetTaskInstanceLogRequest(id=ti.id, run_number=1)).body
    assert "stopped by user" in first_log.task_instance_log


def test_failure_status_and_list_filters(client, pai_emulator):
    emu = pai_emulator
    _, ti = started(client, emu, task_id=NEW_FAILS)
    at(emu, ti.create_time + 30_000)
    assert get(client, ti.id).status == "Failure"
    req = M().ListTaskInstancesRequest(project_id=NEW, bizdate=ti.bizdate, task_id=NEW_FAILS, status="Failure",
                                       page_size=500)
    assert [t.id for t in client.list_task_instances(req).body.paging_info.task_instances] == [ti.id]
    too_big = M().ListTaskInstancesRequest(project_id=NEW, bizdate=ti.bizdate, page_size=501)
    assert error_of(lambda: client.list_task_instances(too_big)).status_code == 400


def test_2020_calls_about_a_new_data_studio_workspace_fail_clearly(client, pai_emulator):
    from alibabacloud_dataworks_public20200518 import models as m20

    from tests.emulator import emulator_clients

    old = emulator_clients.dataworks(pai_emulator)
    err = error_of(lambda: old.get_node(m20.GetNodeRequest(node_id=NEW_TRAIN, project_env="PROD")))
    assert err.status_code == 400 and "2024-05-18" in err.message and "new Data Studio" in err.message
    _, ti = started(client, pai_emulator)
    err = error_of(lambda: old.get_instance(m20.GetInstanceRequest(instance_id=ti.id, project_env="PROD")))
    assert "2024-05-18" in err.message
    # The legacy workspace still answers on 2020-05-18.
    assert old.get_node(m20.GetNodeRequest(node_id=TRAIN, project_env="PROD")).body.data.node_id == TRAIN


def test_legacy_workspace_runs_are_visible_through_both_versions(client, pai_emulator):
    from alibabacloud_dataworks_public20200518 import models as m20

    from tests.emulator import emulator_clients

    _, ti = started(client, pai_emulator, project_id=LEGACY, task_id=TRAIN)
    old = emulator_clients.dataworks(pai_emulator)
    data = old.get_instance(m20.GetInstanceRequest(instance_id=ti.id, project_env="PROD")).body.data
    assert data.node_id == TRAIN and data.dag_type == "SUPPLY_DATA"


@pytest.mark.parametrize("overrides", [{"access_key_secret": "wrong"}, {"access_key_id": "nobody"}])
def test_signatures_are_verified(pai_emulator, overrides):
    from alibabacloud_dataworks_public20240518.client import Client
    from alibabacloud_tea_openapi.utils_models import Config

    kw = {"access_key_id": AK, "access_key_secret": SK, **overrides}
    bad = Client(Config(protocol="http", endpoint=pai_emulator.url.removeprefix("http://"), **kw))
    err = error_of(lambda: bad.get_task(M().GetTaskRequest(id=NEW_TASK)))
    assert err.code in ("SignatureDoesNotMatch", "InvalidAccessKeyId.NotFound")


def test_legacy_v2_signature_on_a_get_action(pai_emulator):
    from alibabacloud_dataworks_public20240518.client import Client
    from alibabacloud_tea_openapi.utils_models import Config

    v2 = Client(Config(access_key_id=AK, access_key_secret=SK, protocol="http", signature_algorithm="v2",
                       endpoint=pai_emulator.url.removeprefix("http://")))
    assert v2.get_task(M().GetTaskRequest(id=NEW_TASK)).body.task.id == NEW_TASK
