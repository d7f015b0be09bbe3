"""EasServiceSensor with a mocked EasHook: poke states, failure with events, deferral, soft_fail."""

from __future__ import annotations

import time

import pytest
from airflow.providers.common.compat.sdk import AirflowFailException, TaskDeferred

from airflow_provider_pai.sensors.eas import EasServiceSensor
from tests.unit.operators.test_eas import make_context, svc, with_hook


def sensor(**kw):
    return EasServiceSensor(task_id="wait", service_name="churn_model", **kw)


def test_sensor_poke_states():
    op = sensor(version=2)
    with_hook(op, [svc("Running", 1, 2), svc("Updating", 2, 2), svc("Running", 2, 2)])
    assert [op.poke({}) for _ in range(3)] == [False, False, True]


def test_sensor_failed_raises_with_events():
    op = sensor()
    with_hook(op, [svc("Failed")], [{"Type": "Warning", "Reason": "FailedLoadModel", "Message": "no model"}])
    with pytest.raises(AirflowFailException, match="no model"):
        op.poke({})


def test_sensor_deferrable_defers_with_timeout():
    op = sensor(deferrable=True, timeout=120, poke_interval=3)
    with_hook(op, [svc("Updating")])
    before = time.time()
    with pytest.raises(TaskDeferred) as deferred:
        op.execute(make_context())
    # An absolute deadline: a triggerer restart does not restart the clock.
    assert before + 120 <= deferred.value.trigger.end_time <= time.time() + 120
    assert deferred.value.trigger.poll_interval == 3


def test_sensor_execute_complete_timeout_respects_soft_fail():
    from airflow.providers.common.compat.sdk import AirflowSensorTimeout, AirflowSkipException

    with pytest.raises(AirflowSensorTimeout):
        sensor().execute_complete({}, {"status": "timeout", "message": "slow"})
    op = sensor(soft_fail=True)
    with pytest.raises(AirflowSkipException):
        op.resume_execution("execute_complete", {"event": {"status": "timeout", "message": "slow"}}, {})


