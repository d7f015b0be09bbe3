"""hooks/dataworks_runs.py and hooks/dataworks_runs_v2024.py without network: one run object per
DataWorks OpenAPI, the same protocol on both (the hook's per-action methods mocked)."""

from __future__ import annotations

import asyncio
import datetime
from unittest import mock

import pytest
from airflow.providers.common.compat.sdk import AirflowException

from airflow_provider_pai.hooks.base import PaiApiError
from airflow_provider_pai.hooks.dataworks import DataWorksHook
from airflow_provider_pai.hooks.dataworks_runs import DataStudioRuns, DataWorksRuns, LegacyRuns

PROTOCOL = ("describe_node", "start", "find_instance", "find_by_name", "successful_runs", "get_instance",
            "get_instance_async", "get_log", "get_log_async", "stop", "stop_async")


def hook_with(extra: dict | None = None, **methods) -> DataWorksHook:
    hook = DataWorksHook()
    hook.__dict__["_connection"] = mock.Mock(schema=None)  # a cached_property: no connection is read
    hook._extras = {"region_id": "cn-shanghai", **(extra or {})}
    for name, value in methods.items():
        setattr(hook, name, value if callable(value) else mock.Mock(return_value=value))
    return hook


def test_both_run_objects_implement_the_one_protocol_with_async_twins():
    for cls in (LegacyRuns, DataStudioRuns):
        assert all(callable(getattr(cls, name)) for name in PROTOCOL), cls
        assert asyncio.iscoroutinefunction(cls.get_instance_async) and asyncio.iscoroutinefunction(cls.stop_async)
    assert (LegacyRuns.version, LegacyRuns.new_console) == ("2020-05-18", False)
    assert (DataStudioRuns.version, DataStudioRuns.new_console) == ("2024-05-18", True)
    assert DataWorksRuns.__name__ == "DataWorksRuns"


def test_runs_is_chosen_once_and_a_given_version_is_adopted_without_probes():
    hook = hook_with(get_data_studio_node=mock.Mock(), get_node=mock.Mock())
    assert isinstance(hook.runs("2024-05-18", project_id=1, instance_id=5), DataStudioRuns)
    assert isinstance(hook.runs(project_id=1, node_id=2), DataStudioRuns)  # adopted for the workspace
    assert isinstance(hook.runs(instance_id=5), DataStudioRuns)
    hook.get_data_studio_node.assert_not_called()
    hook.get_node.assert_not_called()
    with pytest.raises(AirflowException, match="api_version must be"):
        hook.runs("2023-01-01")


def test_legacy_start_asks_for_future_instances_now_and_checks_before_resending():
    hook = hook_with(run_cycle_dag_nodes=[31])
    took_effect = mock.Mock(return_value=None)
    run = LegacyRuns(hook).start(project_id=1, node_id=2, bizdate="2026-11-28", name="n", took_effect=took_effect)
    assert run == {"api_version": "2020-05-18", "dag_id": 31, "operation_id": None}
    kwargs = hook.run_cycle_dag_nodes.call_args.kwargs
    assert kwargs["start_future_instance_immediately"] is True
    assert kwargs["is_done"]() is None and took_effect.called  # the retry policy's "did it take effect?"


def test_legacy_start_without_a_dag_says_what_to_check():
    hook = hook_with(run_cycle_dag_nodes=[])
    with pytest.raises(AirflowException, match="returned no DAG.*deployed"):
        LegacyRuns(hook).start(project_id=1, node_id=2, bizdate="2026-11-28", name="n")


def test_legacy_find_by_name_looks_only_at_backfill_dags_newest_first():
    instances = [{"DagId": 10, "DagType": "DAILY", "InstanceId": 100},
                 {"DagId": 11, "DagType": "SUPPLY_DATA(3)", "InstanceId": 110, "Status": "RUNNING"},
                 {"DagId": 12, "DagType": "SUPPLY_DATA", "InstanceId": 120}]
    names = {11: "mine", 12: "other"}
    hook = hook_with(list_instances=instances, get_dag=lambda dag_id, project_env: {"Name": names[dag_id]})
    found = LegacyRuns(hook).find_by_name(project_id=1, node_id=2, bizdate="2026-11-28", name="mine")
    assert found == {"dag_id": 11, "instance_id": 110, "status": "RUNNING"}


def test_studio_describe_node_falls_back_to_the_task_when_the_id_is_no_data_studio_node():
    missing = mock.Mock(side_effect=PaiApiError("GetNode", "Invalid.Node.NotExists", "no", "r", 400))
    hook = hook_with(get_data_studio_node=missing, get_task={"Id": 7, "Name": "t", "Type": "PAI_STUDIO",
                                                              "ProjectId": 1, "WorkflowId": 1})
    node = DataStudioRuns(hook).describe_node(7, project_id=1)
    assert (node["TaskId"], node["ProgramType"], node["ApiVersion"]) == (7, "PAI_STUDIO", "2024-05-18")
    assert DataStudioRuns(hook).describe_node(7, project_id=1) is node  # remembered by the hook
    hook.get_task.assert_called_once()


def test_studio_find_instance_follows_the_asynchronous_creation():
    hook = hook_with(get_create_workflow_instances_result={"Status": "Creating"},
                     get_data_studio_node={"TaskId": 7, "Name": "n"},
                     list_task_instances=[{"Id": 70, "Status": "WaitResource"}])
    runs, run = DataStudioRuns(hook), {"api_version": "2024-05-18", "dag_id": None, "operation_id": "op"}
    assert runs.find_instance(run, project_id=1, node_id=2, bizdate="2026-11-28") is None
    hook.get_create_workflow_instances_result.return_value = {"Status": "Created", "WorkflowInstanceIds": [55]}
    assert runs.find_instance(run, project_id=1, node_id=2, bizdate="2026-11-28") == {
        "dag_id": 55, "instance_id": 70, "status": "WAIT_RESOURCE"}
    assert run["dag_id"] == 55
    hook.get_create_workflow_instances_result.return_value = {"Status": "CreateFailure", "FailureMessage": "quota"}
    with pytest.raises(AirflowException, match="could not create the run.*quota"):
        runs.find_instance({"dag_id": None, "operation_id": "op2"}, project_id=1, node_id=2, bizdate="2026-11-28")


def test_studio_find_by_name_compares_names_exactly_and_filters_by_run_type():
    hook = hook_with(list_workflow_instances=[{"Id": 5, "Name": "n_longer"}, {"Id": 4, "Name": "n"}],
                     get_data_studio_node={"TaskId": 7, "Name": "n"}, list_task_instances=[])
    found = DataStudioRuns(hook).find_by_name(project_id=1, node_id=2, bizdate="2026-11-28", name="n",
                                              run_mode="manual")
    assert found == {"dag_id": 4, "instance_id": None, "status": None}
    assert hook.list_workflow_instances.call_args.kwargs["type"] == "ManualWorkflow"


def test_studio_successful_runs_look_at_the_day_and_the_day_before():
    hook = hook_with(get_data_studio_node={"TaskId": 7, "Name": "n"},
                     list_task_instances=mock.Mock(side_effect=[[], [{"Id": 1, "Status": "Success"}]]))
    rows = DataStudioRuns(hook).successful_runs(project_id=1, node_id=2, bizdate="2026-11-28")
    assert [r["Status"] for r in rows] == ["SUCCESS"]
    days = [c.kwargs["bizdate"] for c in hook.list_task_instances.call_args_list]
    assert days == [datetime.date(2026, 11, 28), datetime.date(2026, 11, 27)]


def test_studio_instance_log_and_stop_through_the_2024_actions():
    hook = hook_with(get_task_instance={"Id": 5, "Status": "Running", "TaskId": 7},
                     get_task_instance_log="l1\n", stop_task_instances={"5": {"Success": True}})
    runs = DataStudioRuns(hook)
    assert runs.get_instance(5)["Status"] == "RUNNING" and runs.get_log(5) == "l1\n" and runs.stop(5) is True
    hook.stop_task_instances.assert_called_once_with([5])


async def test_the_async_twins_reach_the_async_actions():
    hook = hook_with(get_instance_async=mock.AsyncMock(return_value={"InstanceId": 5, "Status": "RUNNING"}),
                     stop_instance_async=mock.AsyncMock(return_value=True),
                     get_task_instance_log_async=mock.AsyncMock(return_value="x\n"))
    assert (await LegacyRuns(hook).get_instance_async(5))["ApiVersion"] == "2020-05-18"
    assert await LegacyRuns(hook).stop_async(5) is True
    assert await DataStudioRuns(hook).get_log_async(5) == "x\n"


def test_studio_describe_node_does_not_take_a_fault_for_a_task_id():
    down = mock.Mock(side_effect=PaiApiError("GetNode", "InternalError", "boom", "r", 500))
    hook = hook_with(get_data_studio_node=down, get_task=mock.Mock())
    with pytest.raises(PaiApiError, match="InternalError"):
        DataStudioRuns(hook).describe_node(7, project_id=1)
    hook.get_task.assert_not_called()
