"""TriggerDesignerNodeOperator with a mocked DataWorksHook: validation, node check, idempotent reattach."""

from __future__ import annotations

from unittest import mock

import pytest

from airflow_provider_pai.hooks.dataworks import DataWorksHook
from airflow_provider_pai.operators.dataworks import (
    RUN_STATE_KEY,
    TriggerDesignerNodeOperator,
    run_name,
)
from airflow_provider_pai.utils.validation import PaiParameterError
from airflow_provider_pai.version_compat import AIRFLOW_V_3_3_PLUS, LINKS_READ_FROM_XCOM

DESIGNER = {"NodeId": 700001, "NodeName": "train", "ProgramType": "PAI_STUDIO", "FileType": 1117}


class FakeStore:
    def __init__(self, data=None):
        self.data = dict(data or {})

    def get(self, key, default=None):
        return self.data.get(key, default)

    def set(self, key, value, **_):
        self.data[key] = value


def _context(store=None):
    ti = mock.Mock(dag_id="dag", run_id="manual__2026-11-05", task_id="train", map_index=-1, try_number=1)
    return {"ti": ti, "task_state_store": store if store is not None else FakeStore()}


def _op(**kwargs):
    args = dict(task_id="train", project_id=10001, node_id=700001, bizdate="2026-11-05")
    args.update(kwargs)
    return TriggerDesignerNodeOperator(**args)


@pytest.fixture
def hook():
    with mock.patch.multiple(
        DataWorksHook,
        region_id=mock.PropertyMock(return_value="cn-shanghai"),
        # the connection says 2020-05-18: the API-neutral calls reach the mocked 2020-05-18 methods
        api_version_setting=mock.PropertyMock(return_value="2020-05-18"),
        get_node=mock.DEFAULT, get_dag=mock.DEFAULT, get_instance=mock.DEFAULT, list_instances=mock.DEFAULT,
        run_cycle_dag_nodes=mock.DEFAULT, run_manual_dag_nodes=mock.DEFAULT, stop_instance=mock.DEFAULT,
    ) as mocks:
        mocks["get_node"].return_value = DESIGNER
        yield mocks


def _name():
    return run_name("dag", "manual__2026-11-05", "train", -1)


@pytest.mark.parametrize(
    "kwargs, param",
    [
        ({"project_id": "abc"}, "project_id"),
        ({"node_id": 0}, "node_id"),
        ({"bizdate": "2026-13-45"}, "bizdate"),
        ({"project_env": "prod"}, "project_env"),
        ({"run_mode": "cycle"}, "run_mode"),
        ({"node_params": {"alpha": "a b"}}, "node_params"),
        ({"poll_interval": 0}, "poll_interval"),
        ({"timeout": -1}, "timeout"),
        ({"run_mode": "manual", "flow_name": "f"}, "project_name"),
    ],
)
def test_bad_parameters_fail_before_any_remote_call(hook, kwargs, param):
    with pytest.raises(PaiParameterError, match=param):
        _op(**kwargs).execute(_context())
    assert not any(m.called for m in hook.values())


def test_non_designer_node_is_refused_unless_check_disabled(hook):
    hook["get_node"].return_value = {"NodeId": 700003, "NodeName": "sql", "ProgramType": "ODPS_SQL", "FileType": 10}
    with pytest.raises(Exception, match="not a PAI Designer node.*check_node_type=False"):
        _op(node_id=700003).execute(_context())
    hook["run_cycle_dag_nodes"].assert_not_called()

    hook["list_instances"].side_effect = [[], [{"InstanceId": 5, "NodeId": 700003}]]
    hook["run_cycle_dag_nodes"].return_value = [9]
    assert _op(node_id=700003, check_node_type=False).execute(_context())["instance_id"] == 5


def test_first_try_submits_records_and_returns_ids(hook):
    hook["list_instances"].side_effect = [[], [{"InstanceId": 77, "NodeId": 700001, "DagId": 9}]]
    hook["run_cycle_dag_nodes"].return_value = [9]
    store = FakeStore()
    context = _context(store)
    result = _op(node_params={"alpha": 0.1}).execute(context)
    assert result == {"project_id": 10001, "project_env": "PROD", "node_id": 700001, "dag_id": 9,
                      "instance_id": 77, "bizdate": "2026-11-05", "api_version": "2020-05-18"}
    kwargs = hook["run_cycle_dag_nodes"].call_args.kwargs
    assert kwargs["name"] == _name() and kwargs["node_params"] == {"alpha": 0.1}
    assert kwargs["start_future_instance_immediately"] is True
    if AIRFLOW_V_3_3_PLUS:
        assert store.data[RUN_STATE_KEY] == {"name": _name(), "dag_id": 9, "instance_id": 77,
                                             "api_version": "2020-05-18", "operation_id": None}
    else:  # no task_state_store below 3.3: nothing recorded, a retry finds the run by its name
        assert RUN_STATE_KEY not in store.data
    if LINKS_READ_FROM_XCOM:  # the console link's URL, before waiting (and nothing else for it)
        context["ti"].xcom_push.assert_any_call(
            key="_link_DataWorksInstanceLink",
            value="https://workbench2-cn-shanghai.data.aliyun.com/?defaultProjectId=10001&env=prod&instanceId=77",
        )
    else:
        context["ti"].xcom_push.assert_any_call(
            key="dataworks_instance",
            # a legacy workspace's link: the classic console (a new one would add new_console=True)
            value={"region_id": "cn-shanghai", "project_id": 10001, "instance_id": 77, "env": "prod"},
        )


def test_retry_reattaches_from_task_state_store(hook):
    """3.3+: the recorded run, no look-up. Below 3.3 the store is not there: the name look-up reattaches."""
    store = FakeStore({RUN_STATE_KEY: {"name": _name(), "dag_id": 9, "instance_id": 77}})
    hook["get_instance"].return_value = {"InstanceId": 77, "Status": "RUNNING"}
    hook["list_instances"].return_value = [{"InstanceId": 77, "DagId": 9, "DagType": "SUPPLY_DATA", "Status": "RUNNING"}]
    hook["get_dag"].return_value = {"Name": _name()}
    assert _op().execute(_context(store))["instance_id"] == 77
    hook["run_cycle_dag_nodes"].assert_not_called()
    assert hook["get_dag"].called is not AIRFLOW_V_3_3_PLUS


def test_retry_after_death_before_recording_finds_the_run_by_name(hook):
    hook["list_instances"].return_value = [
        {"InstanceId": 50, "DagId": 3, "DagType": "DAILY", "Status": "SUCCESS"},  # the node's own daily run
        {"InstanceId": 60, "DagId": 8, "DagType": "SUPPLY_DATA", "Status": "RUNNING"},
        {"InstanceId": 70, "DagId": 9, "DagType": "SUPPLY_DATA", "Status": "RUNNING"},
    ]
    hook["get_dag"].side_effect = lambda dag_id, project_env: {8: {"Name": _name()}, 9: {"Name": "someone else"}}[dag_id]
    result = _op().execute(_context(FakeStore()))
    assert (result["dag_id"], result["instance_id"]) == (8, 60)
    hook["run_cycle_dag_nodes"].assert_not_called()
    assert {c.args[0] for c in hook["get_dag"].call_args_list} == {8, 9}  # never the DAILY DAG


def test_a_failed_earlier_run_is_started_afresh(hook):
    store = FakeStore({RUN_STATE_KEY: {"name": _name(), "dag_id": 9, "instance_id": 77}})
    hook["get_instance"].return_value = {"InstanceId": 77, "Status": "FAILURE"}
    hook["run_cycle_dag_nodes"].return_value = [10]
    hook["list_instances"].return_value = [{"InstanceId": 78, "NodeId": 700001}]
    assert _op().execute(_context(store))["instance_id"] == 78
    hook["run_cycle_dag_nodes"].assert_called_once()


def test_submit_retry_policy_asks_whether_the_lost_call_took_effect(hook):
    name = _name()
    listed = [{"InstanceId": 60, "DagId": 8, "DagType": "SUPPLY_DATA", "Status": "RUNNING", "NodeId": 700001}]
    hook["list_instances"].side_effect = [[], listed, listed]
    hook["get_dag"].return_value = {"Name": name}
    hook["run_cycle_dag_nodes"].side_effect = lambda **kw: kw["is_done"]()  # as if the hook retried
    assert _op().execute(_context())["dag_id"] == 8


def test_manual_mode_runs_the_workflow(hook):
    hook["run_manual_dag_nodes"].return_value = 12
    hook["list_instances"].return_value = [{"InstanceId": 13, "NodeId": 700001}]
    result = _op(run_mode="manual", project_name="pai_demo", flow_name="flow").execute(_context())
    assert result["dag_id"] == 12 and result["instance_id"] == 13
    assert hook["run_manual_dag_nodes"].call_args.kwargs["flow_name"] == "flow"


def test_wait_for_completion_uses_the_shared_wait_and_fails_with_the_tail(hook):
    hook["list_instances"].side_effect = [[], [{"InstanceId": 77, "NodeId": 700001}], []]
    hook["run_cycle_dag_nodes"].return_value = [9]
    hook["get_instance"].return_value = {"InstanceId": 77, "Status": "FAILURE", "NodeName": "train"}
    with mock.patch.object(DataWorksHook, "get_instance_log", return_value="a\nboom\n"):
        with pytest.raises(Exception, match=r"(?s)ended FAILURE.*boom.*Operation Center: https://"):
            _op(wait_for_completion=True).execute(_context())


def test_deferrable_wait_defers_to_the_trigger(hook):
    from airflow.providers.common.compat.sdk import TaskDeferred  # noqa: F401 - present on every supported version

    from airflow_provider_pai.triggers.dataworks import DataWorksInstanceTrigger

    hook["list_instances"].side_effect = [[], [{"InstanceId": 77, "NodeId": 700001}], []]
    hook["run_cycle_dag_nodes"].return_value = [9]
    hook["get_instance"].return_value = {"InstanceId": 77, "Status": "RUNNING"}
    with mock.patch.object(DataWorksHook, "get_instance_log", return_value=""):
        with pytest.raises(TaskDeferred) as deferred:
            _op(wait_for_completion=True, deferrable=True, timeout=600).execute(_context())
    trigger = deferred.value.trigger
    assert isinstance(trigger, DataWorksInstanceTrigger) and trigger.instance_id == 77
    assert deferred.value.kwargs["result"]["instance_id"] == 77
    op = _op()
    assert op.execute_complete({}, {"status": "success", "instance": {"status": "SUCCESS"}},
                               result={"instance_id": 77}) == {"instance_id": 77}
    # Resumed with the event alone (Airflow 3's `airflow dags test`): the same ids, rebuilt.
    ids = _op().execute_complete({}, {"status": "success", "api_version": "2020-05-18",
                                      "instance": {"status": "SUCCESS", "instance_id": 77, "dag_id": 9}})
    assert ids == deferred.value.kwargs["result"]


def test_on_kill_stops_a_running_instance(hook):
    from airflow_provider_pai.triggers.dataworks import InstanceWatch

    op = _op()
    op._watch = InstanceWatch(77)
    op._watch.status = "RUNNING"
    op.on_kill()
    hook["stop_instance"].assert_called_once_with(77, project_env="PROD")
    op._watch.status = "SUCCESS"
    op.on_kill()
    assert hook["stop_instance"].call_count == 1


def test_manual_mode_on_2024_needs_no_project_or_flow_name():
    """2024-05-18 runs the task's own manually triggered workflow: the 2020 names are not asked for."""
    runs = mock.Mock(version="2024-05-18", new_console=True)
    runs.describe_node.return_value = {**DESIGNER, "TaskId": 910005}
    with mock.patch.multiple(DataWorksHook, region_id=mock.PropertyMock(return_value="cn-shanghai"),
                             runs=mock.DEFAULT, describe_node=mock.DEFAULT, find_run_by_name=mock.DEFAULT,
                             start_run=mock.DEFAULT, find_run_instance=mock.DEFAULT) as hook:
        hook["runs"].return_value = runs
        hook["describe_node"].return_value = {**DESIGNER, "TaskId": 910005}
        hook["find_run_by_name"].return_value = None
        hook["start_run"].return_value = {"api_version": "2024-05-18", "dag_id": 77, "operation_id": "op"}
        hook["find_run_instance"].return_value = {"dag_id": 77, "instance_id": 5, "status": "RUNNING"}
        result = _op(run_mode="manual").execute(_context())
    assert hook["start_run"].call_args.kwargs["run_mode"] == "manual"
    assert (result["instance_id"], result["task_id"]) == (5, 910005)


def test_log_interval_is_templated_and_checked_once_rendered_before_any_remote_call(hook):
    op = _op(log_interval="{{ params.log_interval }}")
    assert "log_interval" in op.template_fields
    op.log_interval = "2"  # rendered: below the 5 s minimum
    with pytest.raises(PaiParameterError, match="log_interval"):
        op.execute(_context())
    assert not any(m.called for m in hook.values())
    op = _op(log_interval="{{ params.log_interval }}")
    op.log_interval = "None"  # an empty param: the default cadence
    hook["list_instances"].side_effect = [[], [{"InstanceId": 5, "NodeId": 700001}]]
    hook["run_cycle_dag_nodes"].return_value = [9]
    assert op.execute(_context())["instance_id"] == 5 and op.log_interval is None
