"""The canary operators with a mocked EasHook (a small in-memory group behind the autospec'd API
methods): what each reads before acting, what it refuses, the order of its changes, the traffic
mode it switches and puts back. End to end against the emulator: tests/integration/test_canary_*.py."""

from __future__ import annotations

import json
from unittest import mock

import pytest
from airflow.providers.common.compat.sdk import AirflowException, AirflowSkipException

from airflow_provider_pai.hooks.eas import EasHook
from airflow_provider_pai.hooks.errors import PaiApiError
from airflow_provider_pai.operators.eas_canary import (
    EasCanaryAbortOperator,
    EasCanaryPromoteOperator,
    EasCanarySetWeightOperator,
    EasCanaryStartOperator,
)
from airflow_provider_pai.utils.eas_canary import TRAFFIC_MODE_XCOM_KEY
from tests.unit.operators.test_eas import wire_evidence

PROD, CANARY, GROUP = "churn_model", "churn_model_canary", "churn"
OLD, NEW, OTHER = "oss://pai-demo/models/churn/old/", "oss://pai-demo/models/churn/new/", "oss://pai-demo/models/x/"
WAIT = {"poll_interval": 0.01, "timeout": 5, "deferrable": False}


def service(name, model_path, state="grouping", weight=100, group=GROUP, status="Running", version=1):
    return {"ServiceName": name, "Status": status, "CurrentVersion": version, "LatestVersion": version,
            "RunningInstance": 1, "TotalInstance": 1, "ServiceGroup": group, "TrafficState": state, "Weight": weight,
            "InternetEndpoint": f"http://eas/api/predict/{name}",
            "ServiceConfig": json.dumps({"name": name, "model_path": model_path, "metadata": {"group": group}})}


class Cloud:
    """The group as the mocked hook answers it; ``calls`` is the order of the changing calls."""

    def __init__(self, mode="customized", canary=None):
        share = canary["Weight"] if canary and canary["TrafficState"] == "grouping" else 0
        self.services = {PROD: service(PROD, OLD, weight=100 - share)}
        if canary:
            self.services[CANARY] = canary
        self.mode = mode
        self.calls: list[tuple] = []

    def hook(self, op):
        hook = mock.create_autospec(EasHook, instance=True)
        hook.region_id = "cn-shanghai"
        hook.describe_service.side_effect = self.describe
        hook.describe_group.side_effect = lambda group: {"Name": group, "TrafficMode": self.mode}
        hook.release_service.side_effect = self.release
        hook.update_group_traffic_mode.side_effect = self.update_group
        hook.create_service.side_effect = self.create
        hook.update_service.side_effect = self.update
        hook.stop_service.side_effect = lambda name: self.calls.append(("StopService", name)) or {}
        hook.describe_service_events.return_value = []
        wire_evidence(hook)
        op.__dict__["hook"] = hook
        # The model-path check (mixins/model_source.py) finds an object under every prefix here.
        op.__dict__["model_source_oss"] = mock.Mock(**{"first_objects.return_value": ["model.pmml"],
                                                       "head_object.return_value": None})
        return hook

    def describe(self, name):
        if name not in self.services:
            raise PaiApiError("DescribeService", "InvalidService.NotFound", f"{name} not found", "r", 404)
        return dict(self.services[name])

    def release(self, name, *, weight=None, traffic_state=None, is_done=None):
        self.calls.append(("ReleaseService", name, traffic_state, weight))
        self.services[name].update(TrafficState=traffic_state, Weight=weight)
        return {"Message": "releasing"}

    def update_group(self, group, mode, *, is_done=None):
        self.calls.append(("UpdateGroup", group, mode))
        self.mode = mode
        return {}

    def create(self, config, *, is_done=None):
        self.calls.append(("CreateService", config["name"]))
        self.services[config["name"]] = service(config["name"], config["model_path"], "standalone", 0)
        return {}

    def update(self, name, config, update_type="merge", *, is_done=None):
        self.calls.append(("UpdateService", name))
        old = self.services[name]
        self.services[name] = service(name, config.get("model_path"), old["TrafficState"], old["Weight"],
                                      version=old["LatestVersion"] + 1)
        return {"Message": "updating"}

    def changes(self, kind):
        return [c for c in self.calls if c[0] == kind]


class Ti:
    def __init__(self, task_id, xcoms):
        self.task_id, self.xcoms, self.map_index, self.try_number = task_id, xcoms, -1, 1

    def xcom_push(self, key, value, **_):
        self.xcoms[(self.task_id, key)] = value

    def xcom_pull(self, task_ids=None, key="return_value", **_):
        return self.xcoms.get((task_ids or self.task_id, key))


def ctx(task_id, xcoms=None):
    return {"ti": Ti(task_id, {} if xcoms is None else xcoms)}


def start_op(**kw):
    return EasCanaryStartOperator(task_id="start", service_name=PROD, model_path=NEW, weight=10, **WAIT, **kw)


# ---- EasCanaryStartOperator ---------------------------------------------------------------------


def test_start_creates_the_canary_then_gives_it_its_weight_canary_first():
    cloud, op = Cloud(), start_op()
    cloud.hook(op)
    result = op.execute(ctx("start"))
    assert cloud.calls == [("CreateService", CANARY), ("ReleaseService", CANARY, "grouping", 10),
                           ("ReleaseService", PROD, "grouping", 90)]
    assert (result["group"], result["weight"], result["traffic_mode_before"]) == (GROUP, 10, None)
    assert result["traffic"][CANARY] == {"traffic_state": "grouping", "weight": 10}


def test_start_on_an_auto_group_is_refused_before_any_change_naming_the_mode_and_the_fix():
    cloud, op = Cloud(mode="auto"), start_op()
    hook = cloud.hook(op)
    with pytest.raises(AirflowException, match=r"group churn has TrafficMode='auto'.*switch_traffic_mode=True"):
        op.execute(ctx("start"))
    assert cloud.calls == []
    hook.describe_group.assert_called_once_with(GROUP)


def test_start_with_switch_records_the_mode_and_switches_just_before_the_weights():
    cloud, op = Cloud(mode="auto"), start_op(switch_traffic_mode=True)
    cloud.hook(op)
    context = ctx("start")
    result = op.execute(context)
    assert result["traffic_mode_before"] == "auto"
    assert context["ti"].xcoms[("start", TRAFFIC_MODE_XCOM_KEY)] == {"group": GROUP, "traffic_mode": "auto"}
    kinds = [c[0] for c in cloud.calls]
    assert kinds == ["CreateService", "UpdateGroup", "ReleaseService", "ReleaseService"]
    assert cloud.changes("UpdateGroup") == [("UpdateGroup", GROUP, "customized")]


def test_switch_traffic_mode_must_be_a_bool():
    from airflow_provider_pai.utils.validation import PaiParameterError

    with pytest.raises(PaiParameterError, match="switch_traffic_mode"):
        start_op(switch_traffic_mode="yes")


def test_start_refuses_a_production_that_is_not_running():
    cloud, op = Cloud(), start_op()
    cloud.services[PROD]["Status"] = "Updating"
    cloud.hook(op)
    with pytest.raises(AirflowException, match="is not Running"):
        op.execute(ctx("start"))
    assert cloud.calls == []


def test_start_refuses_while_another_runs_canary_has_traffic():
    cloud, op = Cloud(canary=service(CANARY, OTHER, "grouping", 20)), start_op()
    cloud.hook(op)
    with pytest.raises(AirflowException, match="Another canary release is in progress in group churn"):
        op.execute(ctx("start"))
    assert cloud.calls == []


def test_start_takes_an_idle_canary_out_of_traffic_before_changing_its_model():
    cloud, op = Cloud(canary=service(CANARY, OTHER, "grouping", 0)), start_op()
    cloud.hook(op)
    op.execute(ctx("start"))
    assert cloud.calls[:2] == [("ReleaseService", CANARY, "standalone", 0), ("UpdateService", CANARY)]


def test_start_refuses_a_canary_in_another_group():
    cloud, op = Cloud(canary=service(CANARY, OTHER, group="other")), start_op()
    cloud.hook(op)
    with pytest.raises(AirflowException, match="is in group 'other', not in 'churn'"):
        op.execute(ctx("start"))
    assert cloud.calls == []


# ---- EasCanarySetWeightOperator -----------------------------------------------------------------


def test_set_weight_moves_the_split_and_refuses_an_auto_group():
    cloud = Cloud(canary=service(CANARY, NEW, "grouping", 10))
    op = EasCanarySetWeightOperator(task_id="w", service_name=PROD, weight=30, **WAIT)
    cloud.hook(op)
    assert op.execute(ctx("w"))["traffic"][PROD] == {"traffic_state": "grouping", "weight": 70}
    cloud.calls.clear()
    cloud.mode = "auto"
    with pytest.raises(AirflowException, match="TrafficMode='auto'"):
        op.execute(ctx("w"))
    assert cloud.calls == []


def test_set_weight_refuses_a_member_that_left_the_group_before_any_release():
    cloud = Cloud(canary=service(CANARY, NEW, "grouping", 10))
    op = EasCanarySetWeightOperator(task_id="w", service_name=PROD, weight=30, **WAIT)
    hook = cloud.hook(op)
    # The pair is read in the group, then production answers from another group when re-read.
    answers = iter([cloud.describe(PROD), cloud.describe(CANARY), cloud.describe(CANARY),
                    {**cloud.describe(PROD), "ServiceGroup": "moved"}])
    hook.describe_service.side_effect = lambda name: next(answers)
    with pytest.raises(AirflowException, match="churn_model is in group 'moved', not in 'churn'"):
        op.execute(ctx("w"))
    assert cloud.changes("ReleaseService") == []


# ---- EasCanaryAbortOperator / EasCanaryPromoteOperator -----------------------------------------


def test_abort_takes_the_canary_out_then_restores_the_mode_the_start_changed():
    xcoms = {("start", TRAFFIC_MODE_XCOM_KEY): {"group": GROUP, "traffic_mode": "auto"}}
    cloud = Cloud(mode="customized", canary=service(CANARY, NEW, "grouping", 10))
    op = EasCanaryAbortOperator(task_id="abort", service_name=PROD, model_path=NEW, stop_canary=True,
                                start_task_id="start", **WAIT)
    cloud.hook(op)
    result = op.execute(ctx("abort", xcoms))
    assert cloud.calls == [("ReleaseService", CANARY, "standalone", 0), ("ReleaseService", PROD, "grouping", 100),
                           ("StopService", CANARY), ("UpdateGroup", GROUP, "auto")]
    assert result["traffic_mode_restored"] == "auto"


def test_abort_without_start_task_id_or_record_leaves_the_mode_alone():
    for start_task_id, xcoms in ((None, {}), ("start", {("start", TRAFFIC_MODE_XCOM_KEY):
                                                         {"group": GROUP, "traffic_mode": None}})):
        cloud = Cloud(canary=service(CANARY, NEW, "grouping", 10))
        op = EasCanaryAbortOperator(task_id="abort", service_name=PROD, start_task_id=start_task_id, **WAIT)
        cloud.hook(op)
        assert op.execute(ctx("abort", xcoms))["traffic_mode_restored"] is None
        assert cloud.changes("UpdateGroup") == []


def test_abort_restores_nothing_when_the_group_is_already_back_in_its_mode():
    xcoms = {("start", TRAFFIC_MODE_XCOM_KEY): {"group": GROUP, "traffic_mode": "auto"}}
    cloud = Cloud(mode="auto", canary=service(CANARY, NEW, "standalone", 0))
    op = EasCanaryAbortOperator(task_id="abort", service_name=PROD, start_task_id="start", **WAIT)
    cloud.hook(op)
    op.execute(ctx("abort", xcoms))  # a retry after the restore: nothing switched twice
    assert cloud.changes("UpdateGroup") == []


def test_abort_skips_when_there_is_no_canary():
    cloud = Cloud()
    op = EasCanaryAbortOperator(task_id="abort", service_name=PROD, **WAIT)
    cloud.hook(op)
    with pytest.raises(AirflowSkipException, match="does not exist"):
        op.execute(ctx("abort"))
    assert cloud.calls == []


def test_promote_refuses_a_canary_that_serves_another_model():
    cloud = Cloud(canary=service(CANARY, OTHER, "grouping", 10))
    op = EasCanaryPromoteOperator(task_id="promote", service_name=PROD, model_path=NEW, **WAIT)
    cloud.hook(op)
    with pytest.raises(AirflowException, match="not promoting"):
        op.execute(ctx("promote"))
    assert cloud.calls == []


def test_promote_gives_production_all_traffic_then_retires_the_canary_and_restores_the_mode():
    xcoms = {("start", TRAFFIC_MODE_XCOM_KEY): {"group": GROUP, "traffic_mode": "auto"}}
    cloud = Cloud(canary=service(CANARY, NEW, "grouping", 10))
    op = EasCanaryPromoteOperator(task_id="promote", service_name=PROD, start_task_id="start", **WAIT)
    cloud.hook(op)
    result = op.after_promote(ctx("promote", xcoms), {"service_name": PROD})
    assert cloud.calls == [("ReleaseService", PROD, "grouping", 100), ("ReleaseService", CANARY, "standalone", 0),
                           ("UpdateGroup", GROUP, "auto")]
    assert (result["group"], result["traffic_mode_restored"]) == (GROUP, "auto")
