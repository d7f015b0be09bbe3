"""The AccessKey secret and the STS token never reach what a trigger stores or emits, nor a repr.

The triggers are the ones the operators really defer with (in-process ``execute()`` against the
emulator with an ``auth_type: sts`` connection); what the triggerer persists is ``serialize()``
and the events ``run()`` yields. Logs, XCom, rendered fields and exception text of full DAG runs are
scanned in test_faults.py, test_bad_input.py and test_cluster.py.
"""

from __future__ import annotations

import asyncio
import importlib
import json

import pytest

from airflow.providers.common.compat.sdk import TaskDeferred
from airflow_provider_pai.hooks.dataworks import DataWorksHook
from airflow_provider_pai.hooks.eas import EasHook
from airflow_provider_pai.hooks.oss import OssHook
from airflow_provider_pai.operators.dataworks import TriggerDesignerNodeOperator
from airflow_provider_pai.operators.eas import EasModifyServiceOperator
from airflow_provider_pai.sensors.dataworks import WaitForInstanceSensor
from airflow_provider_pai.sensors.eas import EasServiceSensor
from tests.reliability.conftest import SECRETS, assert_no_secrets, reliability_scenario, task_context
from tests.scenarios import churn_pmml


@pytest.fixture
def pai_emulator_scenario() -> dict:
    scenario = reliability_scenario()
    scenario["oss"]["objects"].append(
        {"uri": "oss://pai-demo/models/churn/v2/model.pmml", "content": churn_pmml("v2")}
    )
    scenario["eas"]["services"][0]["start_seconds"] = 600  # still updating when the operator checks
    return scenario


def deferred_trigger(op, method: str = "execute"):
    with pytest.raises(TaskDeferred) as deferred:
        getattr(op, method)(task_context(op.task_id))
    return deferred.value.trigger


def check_trigger(trigger) -> None:
    classpath, kwargs = trigger.serialize()
    assert_no_secrets(f"{classpath}.serialize()", kwargs)
    module, _, name = classpath.rpartition(".")
    again = getattr(importlib.import_module(module), name)(**kwargs)
    assert again.serialize() == (classpath, kwargs)  # what the triggerer rebuilds is the same trigger
    assert_no_secrets(f"repr of {classpath}", repr(trigger))


def first_event(trigger) -> dict:
    async def run():
        async for event in trigger.run():
            return event.payload

    return asyncio.run(asyncio.wait_for(run(), timeout=120))


def test_connection_really_is_sts(pai_emulator):
    extra = json.loads(pai_emulator.connection_json())["extra"]
    assert extra["auth_type"] == "sts" and extra["security_token"] in SECRETS


def test_triggers_the_operators_defer_with_hold_no_secret(pai_emulator):
    started = TriggerDesignerNodeOperator(task_id="train", project_id=10001, node_id=700001, bizdate="2026-11-02",
                                          wait_for_completion=True, deferrable=True, poll_interval=5)
    training = deferred_trigger(started)
    check_trigger(training)
    instance_id = training.serialize()[1]["instance_id"]
    check_trigger(deferred_trigger(WaitForInstanceSensor(task_id="wait", instance_id=instance_id, deferrable=True,
                                                         poke_interval=5, timeout=600)))

    deploy = deferred_trigger(EasModifyServiceOperator(task_id="deploy", service_name="churn_model",
                                                       model_path="oss://pai-demo/models/churn/v2/",
                                                       deferrable=True, poll_interval=1))
    check_trigger(deploy)
    check_trigger(deferred_trigger(EasServiceSensor(task_id="serving", service_name="churn_model", version=2,
                                                    deferrable=True, poke_interval=1)))

    # What the triggers emit goes into the metadata DB (the task's next_kwargs): no secret there either.
    pai_emulator.advance_clock(3600)
    for trigger in (training, deploy):
        event = first_event(trigger)
        assert event["status"] == "success", event
        assert_no_secrets(f"the event of {type(trigger).__name__}", event)


def test_hook_reprs_hold_no_secret(pai_emulator):
    for hook in (DataWorksHook(), EasHook(), OssHook()):
        assert hook.test_connection()[0]  # the connection and credentials are loaded now
        assert_no_secrets(f"repr of {type(hook).__name__}", repr(hook))
        assert_no_secrets(f"test_connection() of {type(hook).__name__}", hook.test_connection()[1])
