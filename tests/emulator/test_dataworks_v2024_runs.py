"""The emulator's 2024-05-18 run rules, through the real alibabacloud_dataworks_public20240518 SDK:
a run whose time is ahead is held unless ``RunPolicy.Immediately``; manually triggered workflows;
a Data Studio node that was never deployed; the scheduling-calendar kinds (docs/cloud-fidelity.md,
F-DW24-10, F-DW24-17 to F-DW24-19). Times follow the emulator clock, never sleeps."""

from __future__ import annotations

import pytest

from tests.emulator.test_dataworks_v2024 import (  # noqa: F401  (client: the same SDK client fixture)
    AK, SK, M, at, client, day, day_ms, error_of, get, now_ms, result,
)

NEW = 20001
TASK, MANUAL_TASK, UNDEPLOYED, SKIPPED, PAUSED = 910001, 930001, 940001, 950001, 960001
MANUAL_FLOW = 920000

SCENARIO = {
    "region_id": "cn-shanghai",
    "credentials": [{"access_key_id": AK, "access_key_secret": SK}],
    "dataworks": {"projects": [
        {"project_id": NEW, "project_name": "new_ws", "data_studio": "new", "nodes": [
            {"node_id": 900001, "task_id": TASK, "node_name": "train", "run_seconds": 60, "log": ["a"]},
            {"node_id": 930000, "task_id": MANUAL_TASK, "node_name": "manual_train", "run_seconds": 60,
             "workflow_id": MANUAL_FLOW, "scheduler_type": "MANUAL"},
            {"node_id": UNDEPLOYED, "node_name": "draft", "deployed": False},
            {"node_id": 950000, "task_id": SKIPPED, "node_name": "calendar_skip", "task_type": "SKIP_CALENDAR"},
            {"node_id": 960000, "task_id": PAUSED, "node_name": "calendar_pause", "task_type": "PAUSE_CALENDAR"},
        ]},
    ]},
}


@pytest.fixture
def pai_emulator_scenario():
    return SCENARIO




def create(client, task_id, bizdate, *, policy=None, kind="SupplementData", workflow_id=1):
    props = M().CreateWorkflowInstancesRequestDefaultRunProperties(root_task_ids=[task_id], run_policy=policy)
    if kind == "SupplementData":
        props.mode, props.parallelism = "General", 1
        props.analysis = M().CreateWorkflowInstancesRequestDefaultRunPropertiesAnalysis(enabled=False, blocked=False)
    req = M().CreateWorkflowInstancesRequest(
        project_id=NEW, name="run", type=kind, workflow_id=workflow_id, env_type="Prod",
        periods=M().CreateWorkflowInstancesRequestPeriods(
            biz_dates=[M().CreateWorkflowInstancesRequestPeriodsBizDates(start_biz_date=bizdate, end_biz_date=bizdate)]),
        default_run_properties=props)
    return client.create_workflow_instances(req).body.operation_id


def instance_of(client, emu, op):
    at(emu, now_ms(emu) + 1000)
    res = result(client, op)
    assert res.status == "Created"
    (iid,) = res.workflow_task_instance_ids
    return get(client, iid)


def now_policy(**overrides):
    fields = {"type": "Daily", "start_time": "00:00:00", "end_time": "23:59:59", "immediately": True, **overrides}
    return M().CreateWorkflowInstancesRequestDefaultRunPropertiesRunPolicy(**fields)


def test_a_run_whose_time_is_ahead_is_held_unless_run_policy_immediately(client, pai_emulator):
    emu, today = pai_emulator, day(pai_emulator, 0)  # today's run time (00:00 tomorrow, UTC+8) is ahead
    held = instance_of(client, emu, create(client, TASK, today))
    now = instance_of(client, emu, create(client, TASK, today, policy=now_policy()))
    at(emu, max(held.create_time, now.create_time) + 15_000)
    assert get(client, held.id).status == "WaitTime"  # waits for its run time, as the SDK documents
    assert get(client, now.id).status == "Running"
    late = instance_of(client, emu, create(client, TASK, today, policy=now_policy(immediately=False)))
    at(emu, late.create_time + 15_000)
    assert get(client, late.id).status == "WaitTime"  # a policy without Immediately holds too
    yesterday = instance_of(client, emu, create(client, TASK, day(emu, 1)))  # its time has passed: runs
    at(emu, yesterday.create_time + 15_000)
    assert get(client, yesterday.id).status == "Running"


@pytest.mark.parametrize("policy, field", [
    ({"immediately": True}, "Type"),
    ({"type": "Daily", "immediately": True}, "StartTime"),
    ({"type": "Hourly", "start_time": "00:00:00", "end_time": "23:59:59"}, "Type"),
    ({"type": "Daily", "start_time": "0:00", "end_time": "23:59:59"}, "StartTime"),
])
def test_a_run_policy_needs_type_start_and_end_time(client, pai_emulator, policy, field):
    bad = M().CreateWorkflowInstancesRequestDefaultRunPropertiesRunPolicy(**policy)
    err = error_of(lambda: create(client, TASK, day(pai_emulator, 0), policy=bad))
    assert err.status_code == 400 and f"RunPolicy.{field}" in err.message


def test_a_manually_triggered_workflow_runs_by_its_workflow_id(client, pai_emulator):
    emu = pai_emulator
    task = client.get_task(M().GetTaskRequest(id=MANUAL_TASK)).body.task
    assert task.workflow_id == MANUAL_FLOW
    ti = instance_of(client, emu, create(client, MANUAL_TASK, day(emu, 0), policy=now_policy(),
                                         kind="ManualWorkflow", workflow_id=MANUAL_FLOW))
    assert ti.workflow_instance_type == "ManualWorkflow" and ti.task_id == MANUAL_TASK
    at(emu, ti.create_time + 15_000)
    assert get(client, ti.id).status == "Running"
    err = error_of(lambda: create(client, MANUAL_TASK, day(emu, 0), kind="ManualWorkflow", workflow_id=1))
    assert err.status_code == 400 and "workflow 1 does not exist" in err.message


def test_a_node_never_deployed_has_no_task(client):
    node = client.get_node(M().GetNodeRequest(id=str(UNDEPLOYED), project_id=NEW)).body.node
    assert node.id == str(UNDEPLOYED) and not node.task_id
    err = error_of(lambda: client.get_task(M().GetTaskRequest(id=UNDEPLOYED)))
    assert err.status_code == 400 and str(UNDEPLOYED) in err.message


def test_calendar_skip_succeeds_and_calendar_pause_fails_without_running(client, pai_emulator):
    emu = pai_emulator
    skipped = instance_of(client, emu, create(client, SKIPPED, day(emu, 1)))
    paused = instance_of(client, emu, create(client, PAUSED, day(emu, 1)))
    at(emu, max(skipped.create_time, paused.create_time) + 30_000)
    s, p = get(client, skipped.id), get(client, paused.id)
    assert (s.status, s.trigger_recurrence, s.started_time) == ("Success", "SkipCalendar", None)
    assert (p.status, p.trigger_recurrence, p.started_time) == ("Failure", "PauseCalendar", None)
    assert s.bizdate == day_ms(day(emu, 1))
