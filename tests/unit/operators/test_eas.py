"""EAS operators and sensor with a mocked EasHook: validation, idempotency, rollback and deferral."""

from __future__ import annotations

import json
from unittest import mock

import pytest
from airflow.providers.common.compat.sdk import AirflowException
from airflow.providers.common.compat.sdk import TaskDeferred

from airflow_provider_pai.hooks.eas import EasHook
from airflow_provider_pai.operators.eas import (
    DEPLOY_STATE_KEY,
    DEPLOY_XCOM_KEY,
    EasCreateServiceOperator,
    EasModifyServiceOperator,
    EasRollbackOperator,
)
from airflow_provider_pai.triggers.eas import EasServiceTrigger
from airflow_provider_pai.utils.validation import PaiParameterError
from airflow_provider_pai.version_compat import LINKS_READ_FROM_XCOM

OLD, NEW = "oss://pai-demo/models/churn/initial/", "oss://pai-demo/models/churn/20261101/"


def svc(status="Running", current=1, latest=1, model_path=OLD, running=1, total=1):
    return {
        "ServiceName": "churn_model", "Status": status, "CurrentVersion": current, "LatestVersion": latest,
        "RunningInstance": running, "TotalInstance": total, "Reason": status, "Message": f"{status} message",
        "InternetEndpoint": "http://eas/api/predict/churn_model",
        "ServiceConfig": json.dumps({"name": "churn_model", "model_path": model_path, "processor": "json_linear"}),
    }


class FakeStore:
    def __init__(self, data=None):
        self.data = dict(data or {})

    def get(self, key, default=None):
        return self.data.get(key, default)

    def set(self, key, value):
        self.data[key] = value


class _Task:
    """An unmapped task of the DAG (what utils/xcom.py asks of the other task)."""

    def get_closest_mapped_task_group(self):
        return None


class _Dag:
    dag_id, task_ids = "d", ["deploy"]

    def get_task(self, task_id):
        if task_id not in self.task_ids:
            raise KeyError(task_id)
        return _Task()


def make_context(store=None, xcoms=None, states=None):
    """A task context; with ``store``, the Airflow 3.3 task_state_store (whatever Airflow runs the test).

    ``states``: {task_id: state} Airflow reports for the other tasks of the DAG run.
    """
    if store is not None:
        mock.patch("airflow_provider_pai.version_compat.AIRFLOW_V_3_3_PLUS", True).start()
    ti = mock.MagicMock()
    ti.map_index, ti.run_id, ti.dag_id = -1, "run", "d"
    xcoms = xcoms or {}
    ti.xcom_pull.side_effect = lambda task_ids=None, key="return_value", **_: xcoms.get((task_ids, key))
    states = states or {}
    ti.get_task_states.side_effect = lambda **_: {"run": dict(states)}
    dag_run = mock.MagicMock()
    dag_run.get_task_instance.side_effect = lambda task_id, map_index=-1: mock.Mock(state=states.get(task_id))
    ctx = {"ti": ti, "task": mock.Mock(dag=_Dag(), execution_timeout=None), "dag_run": dag_run}
    if store is not None:
        ctx["task_state_store"] = store
    return ctx


@pytest.fixture(autouse=True)
def _undo_version_patches():
    yield
    mock.patch.stopall()


def with_hook(op, describes, events=()):
    hook = mock.create_autospec(EasHook, instance=True)
    hook.region_id = "cn-shanghai"
    hook.describe_service.side_effect = list(describes)
    hook.describe_service_events.return_value = list(events)
    hook.update_service.return_value = {"Message": "updating"}
    hook.update_service_version.return_value = {"Message": "starting"}
    wire_evidence(hook)
    op.__dict__["hook"] = hook
    # The model-path check (mixins/model_source.py) finds an object under every prefix here.
    op.__dict__["model_source_oss"] = mock.Mock(**{"first_objects.return_value": ["model.pmml"],
                                                   "head_object.return_value": None})
    return hook


def wire_evidence(hook):
    """The hook's evidence and idempotent steps run for real on top of the mocked API calls."""
    for name in ("describe_or_none", "update_landed", "switch_version", "warning_events", "rollout_evidence"):
        getattr(hook, name).side_effect = lambda *a, _m=getattr(EasHook, name), **k: _m(hook, *a, **k)
    return hook


def modify(**kw):
    kw.setdefault("model_path", NEW)
    return EasModifyServiceOperator(task_id="deploy", service_name="churn_model", poll_interval=0.01, **kw)


# ---- EasModifyServiceOperator ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "param"),
    [
        ({"service_name": "Churn-Model"}, "service_name"),
        ({"model_path": "s3://bucket/model/"}, "model_path"),
        ({"model_path": "oss://Bad_Bucket/model/"}, "model_path"),
        ({"model_path": None, "service_config": "{not json"}, "service_config"),
    ],
)
def test_modify_rejects_bad_input_before_any_call(kwargs, param):
    """Known when the DAG is parsed: refused there. Rendered from a template: refused before any call."""
    with pytest.raises(PaiParameterError, match=param):
        EasModifyServiceOperator(task_id="deploy", **{"service_name": "churn_model", "model_path": NEW, **kwargs})
    op = EasModifyServiceOperator(task_id="deploy", service_name="{{ s }}", model_path="{{ m }}",
                                  service_config="{{ c }}")
    op.service_name, op.model_path, op.service_config = "churn_model", NEW, None  # as rendered
    for name, value in kwargs.items():
        setattr(op, name, value)
    hook = with_hook(op, [])
    with pytest.raises(PaiParameterError, match=param):
        op.execute(make_context())
    hook.update_service.assert_not_called()
    hook.describe_service.assert_not_called()


def test_modify_needs_model_path_or_config():
    with pytest.raises(PaiParameterError, match="model_path or service_config"):
        EasModifyServiceOperator(task_id="deploy", service_name="churn_model")


def test_modify_updates_waits_and_returns_versions():
    op = modify()
    hook = with_hook(op, [svc(), svc("Updating", 2, 2, NEW), svc("Updating", 2, 2, NEW), svc("Running", 2, 2, NEW)])
    store = FakeStore()
    ctx = make_context(store)
    result = op.execute(ctx)
    assert result == {"service_name": "churn_model", "region_id": "cn-shanghai", "previous_version": 1,
                      "version": 2, "model_path": NEW, "endpoint": "http://eas/api/predict/churn_model"}
    hook.update_service.assert_called_once()
    assert hook.update_service.call_args.args[:2] == ("churn_model", {"model_path": NEW})
    assert store.data[DEPLOY_STATE_KEY]["previous_version"] == 1
    pushed = {c.kwargs["key"]: c.kwargs["value"] for c in ctx["ti"].xcom_push.call_args_list}
    assert pushed[DEPLOY_XCOM_KEY]["previous_version"] == 1
    if LINKS_READ_FROM_XCOM:  # the console link, before waiting
        assert "churn_model" in pushed["_link_EasServiceLink"] and "eas_service" not in pushed
    else:
        assert pushed["eas_service"]["service_name"] == "churn_model"


def test_modify_waits_for_all_instances():
    op = modify()
    with_hook(op, [svc(), svc("Updating", 2, 2, NEW), svc("Running", 2, 2, NEW, running=1, total=2),
                   svc("Running", 2, 2, NEW, running=2, total=2)])
    assert op.execute(make_context())["version"] == 2


def test_modify_already_serving_model_is_a_noop():
    op = modify()
    hook = with_hook(op, [svc("Running", 3, 3, NEW)])
    result = op.execute(make_context(FakeStore()))
    hook.update_service.assert_not_called()
    assert result["version"] == result["previous_version"] == 3


def test_retried_modify_reattaches_instead_of_adding_a_version():
    op = modify()
    saved = {"service_name": "churn_model", "wanted": {"model_path": NEW}, "previous_version": 1, "latest_before": 1}
    hook = with_hook(op, [svc("Updating", 2, 2, NEW), svc("Running", 2, 2, NEW)])
    result = op.execute(make_context(FakeStore({DEPLOY_STATE_KEY: saved})))
    hook.update_service.assert_not_called()
    assert (result["previous_version"], result["version"]) == (1, 2)


def test_retry_of_a_changed_request_submits_again():
    op = modify()
    saved = {"service_name": "churn_model", "wanted": {"model_path": OLD + "x/"}, "previous_version": 1,
             "latest_before": 1}
    hook = with_hook(op, [svc("Running", 2, 2, OLD + "x/"), svc("Updating", 3, 3, NEW), svc("Running", 3, 3, NEW)])
    result = op.execute(make_context(FakeStore({DEPLOY_STATE_KEY: saved})))
    hook.update_service.assert_called_once()
    assert (result["previous_version"], result["version"]) == (2, 3)


def test_failed_deploy_rolls_back_and_raises_with_events():
    op = modify()
    events = [{"Type": "Warning", "Reason": "FailedLoadModel", "Message": "failed to download model", "Time": "t"}]
    hook = with_hook(op, [svc(), svc("Updating", 2, 2, NEW), svc("Failed", 2, 2, NEW, running=1),
                          svc("Failed", 2, 2, NEW, running=1),  # read before rolling back: still on 2
                          svc("Updating", 1, 2), svc("Running", 1, 2)], events)
    with pytest.raises(AirflowException) as err:
        op.execute(make_context())
    assert "failed to download model" in str(err.value)
    assert "Rolled back: version 1" in str(err.value)
    hook.update_service_version.assert_called_once()
    assert hook.update_service_version.call_args.args == ("churn_model", 1)


def test_failed_deploy_without_rollback_leaves_service():
    op = modify(rollback_on_failure=False)
    hook = with_hook(op, [svc(), svc("Updating", 2, 2, NEW), svc("Failed", 2, 2, NEW)])
    with pytest.raises(AirflowException, match="Failed"):
        op.execute(make_context())
    hook.update_service_version.assert_not_called()


def test_modify_timeout_names_where_it_stood():
    op = modify(timeout=0.05)
    hook = with_hook(op, [svc(), svc("Updating", 2, 2, NEW)])
    hook.describe_service.side_effect = [svc(), svc("Updating", 2, 2, NEW)] + [svc("Updating", 2, 2, NEW)] * 1000
    with pytest.raises(AirflowException, match="not Running on version 2.*Status=Updating"):
        op.execute(make_context())


def test_deferrable_modify_defers_with_trigger_for_new_version():
    op = modify(deferrable=True)
    with_hook(op, [svc(), svc("Updating", 2, 2, NEW), svc("Updating", 2, 2, NEW)])
    with pytest.raises(TaskDeferred) as deferred:
        op.execute(make_context())
    trigger = deferred.value.trigger
    assert isinstance(trigger, EasServiceTrigger)
    assert (trigger.service_name, trigger.version, trigger.target_status) == ("churn_model", 2, "Running")
    assert deferred.value.method_name == "execute_complete"
    assert deferred.value.kwargs["result"]["previous_version"] == 1


def test_deferrable_modify_finished_before_deferring_returns():
    op = modify(deferrable=True)
    with_hook(op, [svc(), svc("Updating", 2, 2, NEW), svc("Running", 2, 2, NEW)])
    assert op.execute(make_context())["version"] == 2


def test_execute_complete_failed_event_defers_rollback():
    op = modify(deferrable=True)
    hook = with_hook(op, [svc("Failed", 2, 2, NEW)])  # read before rolling back: nobody deployed since
    result = {"service_name": "churn_model", "previous_version": 1, "version": 2}
    with pytest.raises(TaskDeferred) as deferred:
        op.execute_complete(make_context(), {"status": "failed", "message": "boom events"}, result=result)
    hook.update_service_version.assert_called_once()
    assert deferred.value.trigger.version == 1
    assert deferred.value.method_name == "rollback_complete"
    with pytest.raises(AirflowException, match="boom events\nRolled back: version 1"):
        op.rollback_complete(make_context(), {"status": "success"}, **deferred.value.kwargs)


def test_execute_complete_success_returns_result():
    op = modify(deferrable=True)
    with_hook(op, [])
    out = op.execute_complete(make_context(), {"status": "success", "service": svc("Running", 2, 2, NEW)},
                              result={"service_name": "churn_model", "previous_version": 1, "version": 2})
    assert out["version"] == 2 and out["endpoint"]


# ---- EasRollbackOperator -----------------------------------------------------------------------


def rollback(**kw):
    return EasRollbackOperator(task_id="rollback", service_name="churn_model", poll_interval=0.01, **kw)


DEPLOYED = {"service_name": "churn_model", "previous_version": 1, "version": 2}


def test_rollback_defaults_to_the_deploys_previous_version():
    op = rollback(deploy_task_id="deploy")
    hook = with_hook(op, [svc("Running", 2, 2, NEW), svc("Updating", 1, 2), svc("Running", 1, 2)])
    result = op.execute(make_context(xcoms={("deploy", "return_value"): DEPLOYED}))
    assert hook.update_service_version.call_args.args == ("churn_model", 1)
    assert (result["previous_version"], result["version"]) == (2, 1)


def test_rollback_reads_the_record_of_a_failed_deploy():
    op = rollback(deploy_task_id="deploy")
    with_hook(op, [svc("Failed", 2, 2, NEW), svc("Running", 1, 2)])
    result = op.execute(make_context(xcoms={("deploy", DEPLOY_XCOM_KEY): DEPLOYED}))
    assert result["version"] == 1


@pytest.mark.parametrize("version", [0, "x"])
def test_rollback_version_that_is_no_version_is_refused_at_parse_time(version):
    with pytest.raises(PaiParameterError, match=f"version={version!r}"):
        rollback(version=version)


def test_rollback_version_out_of_range_fails_naming_version():
    op = rollback(version=3)
    hook = with_hook(op, [svc("Running", 2, 2)])
    with pytest.raises(PaiParameterError, match="version"):
        op.execute(make_context())
    hook.update_service_version.assert_not_called()


def test_rollback_already_on_version_is_a_noop():
    op = rollback(version="1")
    hook = with_hook(op, [svc("Running", 1, 2)])
    assert op.execute(make_context())["version"] == 1
    hook.update_service_version.assert_not_called()


def test_rollback_refuses_when_another_deploy_moved_on():
    op = rollback(deploy_task_id="deploy")
    hook = with_hook(op, [svc("Running", 3, 3)])
    with pytest.raises(AirflowException, match="another deploy has moved the service on.*force=True"):
        op.execute(make_context(xcoms={("deploy", "return_value"): DEPLOYED}))
    hook.update_service_version.assert_not_called()


def test_rollback_force_overrides_the_guard():
    op = rollback(deploy_task_id="deploy", force=True)
    hook = with_hook(op, [svc("Running", 3, 3), svc("Running", 1, 3)])
    assert op.execute(make_context(xcoms={("deploy", "return_value"): DEPLOYED}))["version"] == 1
    hook.update_service_version.assert_called_once()


def test_rollback_of_a_deploy_that_never_ran_skips_and_says_why():
    """trigger_rule="one_failed" also fires when a task before the deploy failed: nothing to undo."""
    from airflow.providers.common.compat.sdk import AirflowSkipException

    op = rollback(deploy_task_id="deploy")
    hook = with_hook(op, [])
    with pytest.raises(AirflowSkipException, match="Nothing to roll back.*'deploy'.*never ran.*upstream_failed"):
        op.execute(make_context(states={"deploy": "upstream_failed"}))
    hook.describe_service.assert_not_called()
    hook.update_service_version.assert_not_called()


@pytest.mark.parametrize("xcoms, found", [({}, "None"), ({("deploy", "return_value"): "hello"}, "'hello'")])
def test_rollback_of_a_deploy_that_ran_but_recorded_nothing_usable_fails_naming_it(xcoms, found):
    from airflow_provider_pai.utils.xcom import UpstreamError

    op = rollback(deploy_task_id="deploy")
    hook = with_hook(op, [])
    with pytest.raises(UpstreamError, match=f"'deploy'.*{found}"):
        op.execute(make_context(xcoms=xcoms, states={"deploy": "failed"}))
    hook.update_service_version.assert_not_called()


# ---- EasCreateServiceOperator ------------------------------------------------------------------

CONFIG = {"name": "churn_model", "model_path": OLD, "processor": "json_linear"}


def not_found():
    from airflow_provider_pai.hooks.base import PaiApiError

    return PaiApiError("DescribeService", "InvalidService.NotFound", "not found", "rid", 404)


def test_create_creates_and_waits():
    op = EasCreateServiceOperator(task_id="create", service_config=json.dumps(CONFIG), poll_interval=0.01)
    hook = with_hook(op, [not_found(), svc("Creating"), svc("Running")])
    store = FakeStore()
    result = op.execute(make_context(store))
    hook.create_service.assert_called_once()
    assert result == {"service_name": "churn_model", "region_id": "cn-shanghai", "version": 1,
                      "endpoint": "http://eas/api/predict/churn_model"}


def test_create_if_exists_fail_and_skip():
    op = EasCreateServiceOperator(task_id="create", service_config=CONFIG)
    hook = with_hook(op, [svc()])
    with pytest.raises(AirflowException, match="already exists.*if_exists"):
        op.execute(make_context())
    op = EasCreateServiceOperator(task_id="create", service_config=CONFIG, if_exists="skip")
    hook = with_hook(op, [svc("Running", 4, 4)])
    assert op.execute(make_context())["version"] == 4
    hook.create_service.assert_not_called()


def test_create_if_exists_update_asks_whether_a_lost_update_landed_before_retrying():
    new_config = {**CONFIG, "model_path": NEW}
    op = EasCreateServiceOperator(task_id="create", service_config=new_config, if_exists="update", poll_interval=0.01)
    hook = with_hook(op, [svc("Running", 1, 1), svc("Running", 2, 2, NEW), svc("Running", 2, 2, NEW)] + [svc("Running", 2, 2, NEW)] * 3)
    assert op.execute(make_context())["version"] == 2
    is_done = hook.update_service.call_args.kwargs["is_done"]
    assert is_done()  # version 2 with the new model exists: the retry policy must not send it again


def test_create_retry_of_own_creation_waits_instead_of_failing():
    op = EasCreateServiceOperator(task_id="create", service_config=CONFIG, poll_interval=0.01)
    hook = with_hook(op, [svc("Creating"), svc("Creating"), svc("Running")])
    op.execute(make_context(FakeStore({"eas_created": "churn_model"})))
    hook.create_service.assert_not_called()


def test_create_rejects_bad_name_and_if_exists():
    with pytest.raises(PaiParameterError, match="if_exists"):
        EasCreateServiceOperator(task_id="create", service_config=CONFIG, if_exists="replace")
    op = EasCreateServiceOperator(task_id="create", service_config={**CONFIG, "name": "9bad"})
    hook = with_hook(op, [])
    with pytest.raises(PaiParameterError, match="name"):
        op.execute(make_context())
    hook.create_service.assert_not_called()


def test_execute_complete_without_defer_kwargs_uses_the_stash():
    """`airflow dags test` resumes with only the event: the result stashed before deferring is used."""
    op = modify(deferrable=True)
    with_hook(op, [svc(), svc("Updating", 2, 2, NEW), svc("Updating", 2, 2, NEW)])
    ctx = make_context()
    with pytest.raises(TaskDeferred):
        op.execute(ctx)
    stash = {c.kwargs["key"]: c.kwargs["value"] for c in ctx["ti"].xcom_push.call_args_list}["eas_pending"]
    resumed = make_context(xcoms={("deploy", "eas_pending"): stash})
    out = op.execute_complete(resumed, {"status": "success", "service": svc("Running", 2, 2, NEW)})
    assert (out["previous_version"], out["version"], out["model_path"]) == (1, 2, NEW)


def test_an_error_event_with_a_retry_to_follow_rolls_nothing_back():
    """The trigger could not see the rollout (faults outlasted the retries): no evidence it failed,
    so the retry must reattach to it; rolling back made the retry deploy a second version."""
    from airflow_provider_pai.utils import ends

    op = modify(deferrable=True)
    hook = with_hook(op, [svc("Updating", 2, 2, NEW)])
    result = {"service_name": "churn_model", "previous_version": 1, "version": 2}
    with mock.patch.object(ends, "next_try_follows", return_value=True):
        with pytest.raises(AirflowException, match="retry follows and reattaches to it: nothing was rolled back"):
            op.execute_complete(make_context(), {"status": "error", "message": "throttled"}, result=result)
    hook.update_service_version.assert_not_called()
    # with no try to follow, the end is final: rolled back as before
    with mock.patch.object(ends, "next_try_follows", return_value=False):
        with pytest.raises(TaskDeferred) as deferred:
            op.execute_complete(make_context(), {"status": "error", "message": "throttled"}, result=result)
    hook.update_service_version.assert_called_once()
    assert deferred.value.method_name == "rollback_complete"


def test_a_blocking_wait_that_cannot_see_the_rollout_rolls_nothing_back_when_a_retry_follows():
    """The blocking twin of the error event: DescribeService fails for good mid-wait (faults)."""
    from airflow_provider_pai.hooks.errors import PaiApiError
    from airflow_provider_pai.utils import ends

    throttled = PaiApiError("DescribeService", "Throttling.User", "slow down", "r1", 400)
    op = modify()
    hook = with_hook(op, [svc(), svc("Updating", 2, 2, NEW), throttled])
    with mock.patch.object(ends, "next_try_follows", return_value=True):
        with pytest.raises(AirflowException, match="retry follows and reattaches to it: nothing was rolled back"):
            op.execute(make_context())
    hook.update_service_version.assert_not_called()
    # the last try: final, rolled back as before
    op = modify()
    hook = with_hook(op, [svc(), svc("Updating", 2, 2, NEW), throttled, svc("Updating", 2, 2, NEW),
                          svc("Running", 1, 2, OLD)])
    with mock.patch.object(ends, "next_try_follows", return_value=False):
        with pytest.raises(AirflowException, match="Rolled back: version 1"):
            op.execute(make_context())
    hook.update_service_version.assert_called_once()
