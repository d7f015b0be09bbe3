"""DataWorksHook without network: parameter shaping, the 2024-05-18 mapping and the API choice (SDK-facing methods mocked)."""

from __future__ import annotations

import datetime
import json
from unittest import mock

import pytest
from airflow.providers.common.compat.sdk import AirflowException

from airflow_provider_pai.hooks.base import PaiApiError
from airflow_provider_pai.hooks.dataworks import DataWorksHook, bizdate_to_wire, node_params_to_wire
from airflow_provider_pai.hooks.dataworks_v2024 import bizdate_ms, snake_upper, task_instance_as_v2020


@pytest.mark.parametrize("value", ["20261122", "2026-11-22", "2026-11-22 00:00:00", datetime.date(2026, 11, 22)])
def test_bizdate_forms(value):
    assert bizdate_to_wire(value) == "2026-11-22 00:00:00"


def test_bad_bizdate_names_the_parameter():
    with pytest.raises(ValueError, match="bizdate"):
        bizdate_to_wire("22/11/2026")


def test_node_params_forms():
    assert node_params_to_wire(None) is None
    assert node_params_to_wire('{"1": "a=b"}') == '{"1": "a=b"}'
    assert json.loads(node_params_to_wire({"lr": 0.1, "epochs": 3}, 700001)) == {"700001": "lr=0.1 epochs=3"}
    assert json.loads(node_params_to_wire({"700001": {"lr": 0.1}, "700002": "x=1"})) == {
        "700001": "lr=0.1", "700002": "x=1"}
    with pytest.raises(ValueError, match="node_id"):
        node_params_to_wire({"lr": 0.1})


# ---- DataWorks OpenAPI 2024-05-18 and the API choice (no network: SDK-facing methods mocked) ------

def hook_with(extra: dict | None = None, **methods) -> DataWorksHook:
    hook = DataWorksHook()
    hook.__dict__["_connection"] = mock.Mock(schema=None)  # a cached_property: no connection is read
    hook._extras = {"region_id": "cn-shanghai", **(extra or {})}
    for name, value in methods.items():
        setattr(hook, name, value if callable(value) else mock.Mock(return_value=value))
    return hook


def missing(action):
    return mock.Mock(side_effect=PaiApiError(action, "Invalid.Node.NotExists", "no such node", "r1", 400))


def test_2024_statuses_and_recurrences_read_as_the_2020_names():
    assert [snake_upper(s) for s in ("NotRun", "WaitResource", "CheckingCondition", "Success")] == [
        "NOT_RUN", "WAIT_RESOURCE", "CHECKING_CONDITION", "SUCCESS"]
    ti = {"Id": 5, "TaskId": 7, "TaskName": "t", "WorkflowInstanceId": 9, "WorkflowInstanceType": "SupplementData",
          "Status": "Failure", "StartedTime": 1000, "FinishedTime": 5000, "TriggerRecurrence": "Pause",
          "RunNumber": 2, "TaskType": "PAI_STUDIO"}
    got = task_instance_as_v2020(ti)
    assert (got["InstanceId"], got["NodeId"], got["DagId"], got["DagType"]) == (5, 7, 9, "SUPPLY_DATA")
    assert (got["Status"], got["TaskType"], got["TaskRerunTime"]) == ("FAILURE", "PAUSE(2)", 1)
    assert (got["BeginRunningTime"], got["FinishTime"], got["ApiVersion"]) == (1000, 5000, "2024-05-18")
    assert task_instance_as_v2020({"TriggerRecurrence": "SkipUnchoose"})["TaskType"] == "SKIP_UNCHOOSE(4)"


def test_bizdate_filters_are_midnight_in_utc_plus_8():
    assert bizdate_ms("2025-03-31") == bizdate_ms("20250331") == 1743350400000  # the reference's example
    assert bizdate_ms(1743350400000) == 1743350400000  # an instance's own Bizdate reads back as its day


def test_forced_version_probes_nothing():
    hook = hook_with({"dataworks_api_version": "2024-05-18"}, get_data_studio_node=mock.Mock(),
                     get_node=mock.Mock(), get_task=mock.Mock())
    assert hook.api_version(project_id=1, node_id=2) == "2024-05-18"
    hook.get_data_studio_node.assert_not_called()
    hook.get_node.assert_not_called()


def test_permission_errors_are_unclear_evidence_and_mean_2020():
    denied = mock.Mock(side_effect=PaiApiError("GetNode", "Forbidden.Access", "no", "r", 403))
    hook = hook_with(get_data_studio_node=denied, get_node=denied, get_task=denied)
    assert hook.api_version(project_id=1, node_id=2) == "2020-05-18"
    assert hook.api_version(project_id=1, node_id=2) == "2020-05-18"
    assert denied.call_count == 3  # each probe once, then cached


def test_a_2020_node_of_another_workspace_is_no_evidence():
    hook = hook_with(get_data_studio_node=missing("GetNode"), get_node={"NodeId": 2, "ProjectId": 99},
                     get_task={"Id": 2, "ProjectId": 1, "Type": "PAI_STUDIO", "Name": "n"})
    assert hook.api_version(project_id=1, node_id=2) == "2024-05-18"


def test_creation_states_of_a_2024_run():
    hook = hook_with(get_create_workflow_instances_result={"Status": "Creating"})
    run = {"api_version": "2024-05-18", "operation_id": "op", "dag_id": None}
    assert hook.find_run_instance(run, project_id=1, node_id=2, bizdate="2026-11-28") is None
    hook.get_create_workflow_instances_result.return_value = {"Status": "CreateFailure", "FailureMessage": "quota"}
    with pytest.raises(AirflowException, match="op.*quota"):
        hook.find_run_instance(run, project_id=1, node_id=2, bizdate="2026-11-28")
    hook.get_create_workflow_instances_result.return_value = {"Status": "Created", "WorkflowInstanceIds": []}
    with pytest.raises(AirflowException, match="no workflow instance"):
        hook.find_run_instance(run, project_id=1, node_id=2, bizdate="2026-11-28")


def test_a_lost_create_answer_is_not_resent_when_the_run_exists():
    hook = hook_with({"dataworks_api_version": "2024-05-18"}, get_data_studio_node=missing("GetNode"),
                     get_task={"Id": 2, "ProjectId": 1, "Type": "PAI_STUDIO", "Name": "n"},
                     list_workflow_instances=[{"Id": 77, "Name": "run"}, {"Id": 78, "Name": "run_2"}],
                     list_task_instances=[{"Id": 5, "Status": "Running"}])
    # the retry policy asks is_done before resending: the run is there, so no second create
    hook.create_workflow_instances = mock.Mock(side_effect=lambda **kw: kw["is_done"]() and "op-ignored")
    run = hook.start_run(project_id=1, node_id=2, bizdate="2026-11-28", name="run")
    assert run == {"api_version": "2024-05-18", "dag_id": 77, "operation_id": None}


def test_manual_mode_on_2024_runs_the_tasks_manual_workflow():
    hook = hook_with({"dataworks_api_version": "2024-05-18"}, get_data_studio_node={"TaskId": 7, "Name": "n"},
                     get_task={"Id": 7, "WorkflowId": 55}, create_workflow_instances="op-1")
    run = hook.start_run(project_id=1, node_id=2, bizdate="2026-11-28", name="n", run_mode="manual")
    assert run == {"api_version": "2024-05-18", "dag_id": None, "operation_id": "op-1"}
    kwargs = hook.create_workflow_instances.call_args.kwargs
    assert (kwargs["task_id"], kwargs["workflow_id"]) == (7, 55)


def test_manual_mode_on_2024_refuses_a_scheduled_task_before_any_mutating_call():
    hook = hook_with({"dataworks_api_version": "2024-05-18"}, get_data_studio_node={"TaskId": 7, "Name": "n"},
                     get_task={"Id": 7, "WorkflowId": 1}, create_workflow_instances=mock.Mock())
    with pytest.raises(AirflowException, match="run_mode='manual'.*not in a manually triggered workflow.*backfill"):
        hook.start_run(project_id=1, node_id=2, bizdate="2026-11-28", name="n", run_mode="manual")
    hook.create_workflow_instances.assert_not_called()


def test_a_data_studio_node_that_is_not_deployed_is_refused_before_any_mutating_call():
    hook = hook_with({"dataworks_api_version": "2024-05-18"}, get_data_studio_node={"TaskId": None, "Name": "train"},
                     create_workflow_instances=mock.Mock())
    with pytest.raises(AirflowException, match="node 2 .*not deployed.*TaskId is empty.*Deploy the node"):
        hook.start_run(project_id=1, node_id=2, bizdate="2026-11-28", name="n")
    hook.create_workflow_instances.assert_not_called()


def test_a_probe_that_gets_no_answer_says_so_at_once_naming_the_extra():
    unavailable = mock.Mock(side_effect=PaiApiError("GetNode", "ServiceUnavailable", "busy", "r1", 503))
    hook = hook_with(get_data_studio_node=unavailable, get_node=mock.Mock(), get_task=mock.Mock())
    with pytest.raises(AirflowException, match="2024-05-18 GetNode got no answer.*HTTP 503.*dataworks_api_version"):
        hook.api_version(project_id=1, node_id=2)
    assert unavailable.call_args.kwargs == {"retry": False}  # one attempt: the probe opts out of retries
    hook.get_node.assert_not_called()


def test_a_refused_2024_stop_is_reported_not_claimed():
    hook = hook_with(stop_task_instances={"5": {"Success": False, "Message": "already finished"}})
    assert hook.stop_run_instance(5, api_version="2024-05-18") is False
    hook.stop_task_instances.return_value = {"5": {"Success": True}}
    assert hook.stop_run_instance(5, api_version="2024-05-18") is True


def test_invalid_setting_names_extra_value_and_choices():
    with pytest.raises(AirflowException, match="dataworks_api_version='2024'.*2020-05-18, 2024-05-18, auto"):
        hook_with({"dataworks_api_version": "2024"}).api_version(project_id=1)
