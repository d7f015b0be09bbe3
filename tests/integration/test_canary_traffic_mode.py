"""A canary on a group whose TrafficMode is not ``customized`` (issue 22, items 2 and 4), in-process
against the emulator through the real EAS SDK: refused before any change, or switched with
``switch_traffic_mode=True`` and put back when the canary ends; a member outside the group is refused."""

from __future__ import annotations

import copy
import json
import urllib.request
from unittest import mock

import pytest
from airflow.providers.common.compat.sdk import AirflowException

from airflow_provider_pai.emulator.scenario import DEMO_SCENARIO, load_scenario
from airflow_provider_pai.operators.eas_canary import (
    EasCanaryAbortOperator,
    EasCanaryPromoteOperator,
    EasCanarySetWeightOperator,
    EasCanaryStartOperator,
)
from tests.reliability.conftest import TaskInstanceStub
from tests.scenarios import churn_pmml

PROD, CANARY, GROUP = "churn_model", "churn_model_canary", "churn"
A = "oss://pai-demo/models/churn/a/"
WAIT = {"poll_interval": 0.5, "timeout": 60, "deferrable": False}
RECORD = [{"tenure": 2, "monthly_charges": 95.0, "contract": "month-to-month"}]


@pytest.fixture
def pai_emulator_scenario():
    scenario = copy.deepcopy(load_scenario(DEMO_SCENARIO))
    scenario["oss"]["objects"] += [{"uri": A + "model.pmml", "content": churn_pmml("a")}]
    scenario["eas"].update(start_seconds=1, traffic_seconds=1, groups=[])  # group churn: auto, EAS's default
    return scenario


class Store(dict):
    """A task's ``task_state_store`` (Airflow 3.3+): kept across the tries of the task."""

    def set(self, key, value):
        self[key] = value


class Run:
    """The task instances of one DAG run, sharing their XComs (what the end step pulls from the start),
    each task with its task_state_store."""

    def __init__(self):
        self.xcoms: dict = {}
        self.stores: dict[str, Store] = {}

    def ctx(self, task_id: str) -> dict:
        ti = TaskInstanceStub(task_id=task_id)
        ti.xcoms = self.xcoms
        return {"ti": ti, "task_state_store": self.stores.setdefault(task_id, Store())}

    def retry(self, task_id: str) -> None:
        """What Airflow does before another try: the task's XComs go, its task_state_store stays."""
        for key in [k for k in self.xcoms if k[0] == task_id]:
            del self.xcoms[key]


@pytest.fixture(autouse=True)
def _task_state_store():
    """Run as on Airflow 3.3+ whatever Airflow runs the test (the store is what survives a retry)."""
    with mock.patch("airflow_provider_pai.version_compat.AIRFLOW_V_3_3_PLUS", True):
        yield


def mode(emu) -> str:
    return emu.state()["eas"]["traffic"][GROUP]["traffic_mode"]


def split(emu) -> dict:
    return emu.state()["eas"]["traffic"][GROUP]["split"]


def calls(emu, action: str) -> int:
    return emu.calls()["eas"].get(action, 0)


def start(run: Run, **kw):
    return EasCanaryStartOperator(task_id="start", service_name=PROD, model_path=A, weight=10, **WAIT,
                                  **kw).execute(run.ctx("start"))


def routed_through_the_group_endpoint(emu, n: int) -> dict[str, int]:
    """Send ``n`` predictions to the group endpoint; how many each member answered (emulator state)."""
    from airflow_provider_pai.hooks.eas import EasHook

    group = EasHook().describe_group(GROUP)
    before = dict(emu.state()["eas"]["traffic"][GROUP]["routed"])
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    for _ in range(n):
        req = urllib.request.Request(group["InternetEndpoint"], data=json.dumps(RECORD).encode(), method="POST",
                                     headers={"Authorization": group["AccessToken"],
                                              "Content-Type": "application/json"})
        with opener.open(req, timeout=30) as resp:
            assert resp.status == 200
    after = emu.state()["eas"]["traffic"][GROUP]["routed"]
    return {name: after[name] - before.get(name, 0) for name in after if after[name] - before.get(name, 0)}


def test_a_canary_on_an_auto_group_is_refused_naming_the_mode_and_the_parameter(pai_emulator):
    pai_emulator.reset_calls()
    with pytest.raises(AirflowException, match=r"TrafficMode='auto'.*switch_traffic_mode=True") as refused:
        start(Run())
    assert "EAS service group churn" in str(refused.value)
    assert calls(pai_emulator, "DescribeGroup") == 1  # read before acting
    for action in ("ReleaseService", "CreateService", "UpdateService", "UpdateGroup"):
        assert calls(pai_emulator, action) == 0, action
    assert mode(pai_emulator) == "auto" and CANARY not in pai_emulator.state()["eas"]["services"]


def test_switching_splits_by_weight_and_abort_restores_auto_leaving_the_canary_no_traffic(pai_emulator):
    run = Run()
    started = start(run, switch_traffic_mode=True)
    assert started["traffic_mode_before"] == "auto" and mode(pai_emulator) == "customized"
    assert split(pai_emulator) == pytest.approx({PROD: 0.9, CANARY: 0.1})
    routed = routed_through_the_group_endpoint(pai_emulator, 200)
    assert sum(routed.values()) == 200 and 0.04 <= routed[CANARY] / 200 <= 0.18  # ~10%, not the auto 50%
    assert calls(pai_emulator, "UpdateGroup") == 1

    run.retry("start")
    again = start(run, switch_traffic_mode=True)  # a retry of the start: nothing switched twice
    assert calls(pai_emulator, "UpdateGroup") == 1 and again["traffic"] == started["traffic"]

    aborted = EasCanaryAbortOperator(task_id="abort", service_name=PROD, model_path=A, start_task_id="start",
                                     **WAIT).execute(run.ctx("abort"))
    assert aborted["traffic_mode_restored"] == "auto" and mode(pai_emulator) == "auto"
    members = pai_emulator.state()["eas"]["traffic"][GROUP]["members"]
    assert members[CANARY] == {"state": "standalone", "weight": 0}  # no share in auto either
    assert split(pai_emulator) == {PROD: 1.0}
    assert routed_through_the_group_endpoint(pai_emulator, 20) == {PROD: 20}


def test_promote_restores_the_mode_after_production_takes_all_traffic(pai_emulator):
    run = Run()
    start(run, switch_traffic_mode=True)
    promoted = EasCanaryPromoteOperator(task_id="promote", service_name=PROD, model_path=A, start_task_id="start",
                                        **WAIT).execute(run.ctx("promote"))
    assert (promoted["version"], promoted["traffic_mode_restored"]) == (2, "auto")
    assert mode(pai_emulator) == "auto" and split(pai_emulator) == {PROD: 1.0}


def test_set_weight_on_an_auto_group_is_refused_before_any_release(pai_emulator):
    run = Run()
    start(run, switch_traffic_mode=True)
    EasCanaryAbortOperator(task_id="abort", service_name=PROD, model_path=A, start_task_id="start",
                           **WAIT).execute(run.ctx("abort"))
    releases = calls(pai_emulator, "ReleaseService")
    with pytest.raises(AirflowException, match=r"TrafficMode='auto'.*weight=50"):
        EasCanarySetWeightOperator(task_id="w", service_name=PROD, weight=50, model_path=A,
                                   **WAIT).execute(run.ctx("w"))
    assert calls(pai_emulator, "ReleaseService") == releases


def test_a_member_that_left_the_group_is_refused_naming_its_group(pai_emulator):
    from airflow_provider_pai.hooks.eas import EasHook

    run = Run()
    start(run, switch_traffic_mode=True)
    hook = EasHook()
    hook.update_service(CANARY, {"metadata": {"group": "elsewhere"}})  # someone moved the canary away
    releases = calls(pai_emulator, "ReleaseService")
    with pytest.raises(AirflowException, match=r"churn_model_canary is in group 'elsewhere', not in 'churn'"):
        EasCanarySetWeightOperator(task_id="w", service_name=PROD, weight=50, **WAIT).execute(run.ctx("w"))
    assert calls(pai_emulator, "ReleaseService") == releases
