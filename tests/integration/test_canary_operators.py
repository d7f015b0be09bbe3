"""The canary operators in-process against the emulator (real EAS SDK): reattach, guards, traffic read-back."""

from __future__ import annotations

import copy

import pytest
from airflow.providers.common.compat.sdk import AirflowException, AirflowSkipException

from airflow_provider_pai.emulator.scenario import DEMO_SCENARIO, load_scenario
from airflow_provider_pai.operators.eas_canary import (
    EasCanaryAbortOperator,
    EasCanaryPromoteOperator,
    EasCanarySetWeightOperator,
    EasCanaryStartOperator,
)
from airflow_provider_pai.utils.validation import PaiParameterError
from tests.reliability.conftest import TaskInstanceStub
from tests.scenarios import churn_pmml

PROD, CANARY, GROUP = "churn_model", "churn_model_canary", "churn"
A, B = "oss://pai-demo/models/churn/a/", "oss://pai-demo/models/churn/b/"
WAIT = {"poll_interval": 0.5, "timeout": 60, "deferrable": False}


@pytest.fixture
def pai_emulator_scenario():
    scenario = copy.deepcopy(load_scenario(DEMO_SCENARIO))
    scenario["oss"]["objects"] += [{"uri": A + "model.pmml", "content": churn_pmml("a")},
                                   {"uri": B + "model.pmml", "content": churn_pmml("b")}]
    scenario["eas"].update(start_seconds=1, traffic_seconds=1)
    return scenario


def ctx(task_id: str) -> dict:
    return {"ti": TaskInstanceStub(task_id=task_id)}


def start(model_path: str = A, weight: int = 10):
    return EasCanaryStartOperator(task_id="start", service_name=PROD, model_path=model_path, weight=weight,
                                  **WAIT).execute(ctx("start"))


def split(emu) -> dict:
    return emu.state()["eas"]["traffic"][GROUP]["split"]


def calls(emu, action: str) -> int:
    return emu.calls()["eas"].get(action, 0)


def test_start_then_a_retry_reattaches_without_resending(pai_emulator):
    first = start()
    assert (first["canary_service_name"], first["group"], first["canary_version"]) == (CANARY, GROUP, 1)
    assert split(pai_emulator) == pytest.approx({PROD: 0.9, CANARY: 0.1})
    assert (calls(pai_emulator, "CreateService"), calls(pai_emulator, "ReleaseService")) == (1, 2)
    again = start()  # a retry of the same task: everything is already in place
    assert again["traffic"] == first["traffic"]
    assert (calls(pai_emulator, "CreateService"), calls(pai_emulator, "UpdateService")) == (1, 0)
    assert calls(pai_emulator, "ReleaseService") == 2  # read back first: nothing resent


def test_a_second_canary_is_refused_while_the_first_has_traffic(pai_emulator):
    start(A)
    with pytest.raises(AirflowException, match="Another canary release is in progress in group churn"):
        start(B)
    service = pai_emulator.state()["eas"]["services"][CANARY]
    assert service["versions"][-1]["config"]["model_path"] == A
    assert split(pai_emulator) == pytest.approx({PROD: 0.9, CANARY: 0.1})


def test_set_weight_moves_the_split_and_refuses_another_runs_canary(pai_emulator):
    start(A)
    moved = EasCanarySetWeightOperator(task_id="w", service_name=PROD, weight=50, model_path=A,
                                       **WAIT).execute(ctx("w"))
    assert moved["traffic"] == {CANARY: {"traffic_state": "grouping", "weight": 50},
                                PROD: {"traffic_state": "grouping", "weight": 50}}
    assert split(pai_emulator) == pytest.approx({PROD: 0.5, CANARY: 0.5})
    with pytest.raises(AirflowException, match="another canary release replaced this one"):
        EasCanarySetWeightOperator(task_id="w", service_name=PROD, weight=90, model_path=B, **WAIT).execute(ctx("w"))
    assert split(pai_emulator) == pytest.approx({PROD: 0.5, CANARY: 0.5})


def test_promote_rolls_production_onto_the_canary_model_and_takes_all_traffic(pai_emulator):
    start(A)
    with pytest.raises(AirflowException, match="not promoting"):
        EasCanaryPromoteOperator(task_id="p", service_name=PROD, model_path=B, **WAIT).execute(ctx("p"))
    promoted = EasCanaryPromoteOperator(task_id="p", service_name=PROD, model_path=A, **WAIT).execute(ctx("p"))
    assert (promoted["previous_version"], promoted["version"], promoted["model_path"]) == (1, 2, A)
    assert split(pai_emulator) == {PROD: 1.0}
    members = pai_emulator.state()["eas"]["traffic"][GROUP]["members"]
    assert members == {PROD: {"state": "grouping", "weight": 100}, CANARY: {"state": "standalone", "weight": 0}}


def test_abort_leaves_another_runs_canary_alone_and_takes_ours_out(pai_emulator):
    start(A)
    with pytest.raises(AirflowSkipException, match="another run's canary"):
        EasCanaryAbortOperator(task_id="a", service_name=PROD, model_path=B, **WAIT).execute(ctx("a"))
    assert split(pai_emulator) == pytest.approx({PROD: 0.9, CANARY: 0.1})
    EasCanaryAbortOperator(task_id="a", service_name=PROD, model_path=A, stop_canary=True, **WAIT).execute(ctx("a"))
    assert split(pai_emulator) == {PROD: 1.0}
    assert pai_emulator.state()["eas"]["services"][CANARY]["stopped"] is True


def test_a_service_outside_any_group_has_no_canary_slot(pai_emulator):
    from airflow_provider_pai.hooks.eas import EasHook

    EasHook().create_service({"name": "solo", "model_path": "oss://pai-demo/models/churn/initial/", "processor": "pmml"})
    with pytest.raises(AirflowException, match='not in a service group.*"metadata": {"group"'):
        EasCanaryStartOperator(task_id="s", service_name="solo", model_path=A, **WAIT).execute(ctx("s"))
    assert calls(pai_emulator, "ReleaseService") == 0


@pytest.mark.parametrize("weight", [150, -1, "ten", 10.5])
def test_bad_weight_fails_at_parse_time_naming_the_parameter(weight):
    with pytest.raises(PaiParameterError, match="Invalid weight="):
        EasCanaryStartOperator(task_id="s", service_name=PROD, model_path=A, weight=weight)
