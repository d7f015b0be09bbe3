"""WaitForInstanceSensor with a mocked DataWorksHook: inputs, poke/reschedule/deferrable, timeout, soft_fail."""

from __future__ import annotations

import time
from unittest import mock

import pytest
from airflow.providers.common.compat.sdk import (
    AirflowFailException,
    AirflowSensorTimeout,
    AirflowSkipException,
    TaskDeferred,
)

from airflow_provider_pai.hooks.dataworks import DataWorksHook
from airflow_provider_pai.sensors.dataworks import WAIT_STATE_KEY, WaitForInstanceSensor, parse_instance_target
from airflow_provider_pai.triggers.dataworks import DataWorksInstanceTrigger
from airflow_provider_pai.utils.validation import PaiParameterError
from airflow_provider_pai.version_compat import AIRFLOW_V_3_3_PLUS

HOUR_MS = 3_600_000


class FakeStore:
    def __init__(self):
        self.data = {}

    def get(self, key, default=None):
        return self.data.get(key, default)

    def set(self, key, value, **_):
        self.data[key] = value


def _context(store=None):
    return {"ti": mock.Mock(try_number=1), "task_state_store": store if store is not None else FakeStore()}


def _inst(status, **extra):
    return {"InstanceId": 77, "NodeId": 700001, "NodeName": "train", "Status": status, "TaskType": "NORMAL(0)", **extra}


@pytest.fixture
def hook():
    with mock.patch.multiple(
        DataWorksHook,
        region_id=mock.PropertyMock(return_value="cn-shanghai"),
        # the connection says 2020-05-18: the API-neutral calls reach the mocked 2020-05-18 methods
        api_version_setting=mock.PropertyMock(return_value="2020-05-18"),
        get_node=mock.DEFAULT, get_instance=mock.DEFAULT, get_instance_log=mock.DEFAULT,
        list_instances=mock.DEFAULT, stop_instance=mock.DEFAULT,
    ) as mocks:
        mocks["get_node"].return_value = {"ProjectId": 10001}
        mocks["list_instances"].return_value = []
        mocks["get_instance_log"].return_value = ""
        yield mocks


def _sensor(**kwargs):
    args = dict(task_id="wait", instance_id=77, poke_interval=30, timeout=3600)
    args.update(kwargs)
    return WaitForInstanceSensor(**args)


def test_accepts_an_id_the_operator_dict_or_its_string():
    result = {"project_id": 10001, "project_env": "DEV", "node_id": 700001, "instance_id": 77}
    assert parse_instance_target(result) == result
    assert parse_instance_target(str(result)) == result
    assert parse_instance_target("77") == {"instance_id": "77"}
    with pytest.raises(ValueError, match="instance_id"):
        parse_instance_target({"dag_id": 9})


def test_bad_instance_id_names_the_parameter(hook):
    with pytest.raises(PaiParameterError, match="instance_id"):
        _sensor(instance_id="abc").poke(_context())
    hook["get_instance"].assert_not_called()


def test_poke_success_returns_summary_and_uses_the_operator_dict(hook):
    hook["get_instance"].return_value = _inst("SUCCESS", BeginRunningTime=1000, FinishTime=6000)
    hook["get_instance_log"].return_value = "done\n"
    sensor = _sensor(instance_id={"project_id": 10001, "project_env": "DEV", "node_id": 700001, "instance_id": 77})
    result = sensor.poke(_context())
    assert result.is_done
    summary = result.xcom_value
    assert (summary["instance_id"], summary["status"], summary["duration_seconds"]) == (77, "SUCCESS", 5.0)
    hook["get_instance"].assert_called_once_with(77, project_env="DEV")
    hook["get_node"].assert_not_called()  # the dict named the project
    assert hook["list_instances"].call_args.kwargs == {
        "project_id": 10001, "project_env": "DEV", "node_id": 700001, "status": "SUCCESS"}


def test_history_sets_the_expected_duration_and_the_schedule_sleeps_through_it(hook):
    hook["list_instances"].return_value = [
        {"Status": "SUCCESS", "BeginRunningTime": HOUR_MS, "FinishTime": 3 * HOUR_MS} for _ in range(3)]
    hook["get_instance"].return_value = _inst("RUNNING")
    sensor = _sensor(poke_interval=60, timeout=10 * 3600)
    assert sensor.poke(_context()) is False
    assert sensor._watch.schedule.expected_duration == 7200
    # nothing changed since: the next check is far off, not poke_interval
    sensor._last_changed = False
    assert sensor._get_next_poke_interval(0, lambda: 100, 2) > 60


def test_poke_failure_raises_with_tail_and_soft_fail_skips(hook):
    hook["get_instance"].return_value = _inst("FAILURE")
    hook["get_instance_log"].return_value = "".join(f"line {i}\n" for i in range(40))
    with pytest.raises(AirflowFailException, match=r"(?s)ended FAILURE.*line 39") as err:
        _sensor().poke(_context())
    assert "line 19\n" not in str(err.value)  # only the tail
    with pytest.raises(AirflowSkipException):
        _sensor(soft_fail=True).execute(_context())


def test_frozen_instance_is_said_plainly(hook):
    hook["get_instance"].return_value = _inst("FAILURE", TaskType="PAUSE(2)")
    with pytest.raises(AirflowFailException, match="FROZEN"):
        _sensor().poke(_context())


def test_skipped_instance_succeeds_and_says_so(hook):
    hook["get_instance"].return_value = _inst("SUCCESS", TaskType="SKIP(3)")
    assert _sensor().poke(_context()).xcom_value["skipped"] is True


def test_log_lines_are_not_repeated_across_reschedules(hook, capsys, monkeypatch):
    store = FakeStore()
    running = _inst("RUNNING", BeginRunningTime=int((time.time() - 3600) * 1000))  # an hour of log unseen
    hook["get_instance"].side_effect = [running, _inst("SUCCESS")]
    hook["get_instance_log"].side_effect = ["a\nb\n", "a\nb\nc\n"]
    first = _sensor(mode="reschedule")
    assert first.poke(_context(store)) is False
    first._get_next_poke_interval(0, lambda: 1, 1)  # saves the watch for the next process
    second = _sensor(mode="reschedule")  # a fresh operator object, as after a reschedule
    assert second.poke(_context(store)).is_done
    shown = [line.split("[dataworks] ", 1)[1].split()[0] for line in capsys.readouterr().out.splitlines()
             if "[dataworks] " in line]
    if AIRFLOW_V_3_3_PLUS:
        assert store.data[WAIT_STATE_KEY]["lines_shown"] == 2
        assert shown == ["a", "b", "c"]
        assert hook["get_node"].call_count == 1  # the second process restored the watch, no new setup
    else:  # no task_state_store below 3.3: each reschedule starts a new watch and the log from its top
        assert WAIT_STATE_KEY not in store.data
        assert shown == ["a", "b", "a", "b", "c"]
        assert hook["get_node"].call_count == 2


def test_poke_mode_times_out_and_soft_fail_skips(hook):
    hook["get_instance"].return_value = _inst("RUNNING")
    with mock.patch("time.sleep"):
        with pytest.raises(AirflowSensorTimeout):
            _sensor(timeout=0).execute(_context())
        with pytest.raises(AirflowSkipException):
            _sensor(timeout=0, soft_fail=True).execute(_context())


def test_deferrable_defers_with_the_watch_and_timeout(hook):
    hook["get_instance"].return_value = _inst("RUNNING")
    hook["get_instance_log"].return_value = "a\n"
    with pytest.raises(TaskDeferred) as deferred:
        _sensor(deferrable=True, timeout=600).execute(_context())
    trigger = deferred.value.trigger
    assert isinstance(trigger, DataWorksInstanceTrigger)
    # The watch travels with the trigger: what the worker saw and showed is not repeated there.
    assert trigger.instance_id == 77 and trigger.watch["polls"] == 1
    assert trigger.watch["lines_shown"] == hook["get_instance_log"].call_count == 0  # just started: no budget for the log
    assert trigger.end_time is not None and trigger.end_cause == "timeout"
    # A sensor timeout is final: the trigger stops the run at the end (cancel_on_kill); Airflow's
    # own deferral timeout is only a backstop a minute later.
    assert trigger.stop_at_end is True
    assert deferred.value.timeout.total_seconds() == pytest.approx(660, abs=2)


def test_deferrable_finished_before_deferring_returns_at_once(hook):
    hook["get_instance"].return_value = _inst("SUCCESS")
    assert _sensor(deferrable=True).execute(_context())["status"] == "SUCCESS"


def test_execute_complete_events():
    sensor = _sensor(deferrable=True)
    ok = {"status": "success", "instance": {"instance_id": 77, "status": "SUCCESS"}}
    assert sensor.execute_complete({}, ok)["instance_id"] == 77
    with pytest.raises(AirflowFailException, match="boom"):
        sensor.execute_complete({}, {"status": "failure", "instance": {"status": "FAILURE"}, "log_tail": ["boom"]})
    with pytest.raises(AirflowSensorTimeout):
        sensor.execute_complete({}, {"status": "timeout", "message": "still RUNNING"})


def test_deferred_timeout_with_soft_fail_skips():
    sensor = _sensor(deferrable=True, soft_fail=True)
    with pytest.raises(AirflowSkipException):
        sensor.resume_execution("execute_complete", {"event": {"status": "timeout", "message": "x"}}, {})


@pytest.mark.parametrize("by_user, stopped", [(True, True), (False, False)], ids=["user-stop", "worker-shutdown"])
def test_on_kill_stops_the_instance_only_when_a_user_ended_the_try(hook, by_user, stopped):
    hook["get_instance"].return_value = _inst("RUNNING")
    sensor = _sensor()
    sensor.poke(_context())
    with mock.patch("airflow_provider_pai.utils.ends.ended_by_user", return_value=by_user):
        sensor.on_kill()
    assert hook["stop_instance"].call_count == (1 if stopped else 0)
