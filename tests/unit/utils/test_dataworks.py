"""utils.dataworks: what a DataWorks instance's state means, and the one step after GetInstance."""

from __future__ import annotations

import pytest

from airflow_provider_pai.utils.dataworks import (
    DataWorksInstanceStatus,
    InstanceWatch,
    after_get_instance,
    enum_name,
    expected_duration_from_history,
    failure_text,
    is_backfill_dag,
    run_name,
    task_type_name,
    validate_node_params,
)
from airflow_provider_pai.utils.polling import PollSchedule
from airflow_provider_pai.utils.validation import PaiParameterError


@pytest.mark.parametrize(
    ("value", "name"),
    [("SUCCESS", "SUCCESS"), ("SUCCESS(1)", "SUCCESS"), ("SUPPLY_DATA(3)", "SUPPLY_DATA"), (None, None)],
)
def test_enum_name_drops_the_code_suffix(value, name):
    assert enum_name(value) == name


@pytest.mark.parametrize("status", ["SUCCESS", "SUCCESS(1)", "FAILURE", "FAILURE(6)"])
def test_terminal_statuses_compare_by_name(status):
    assert DataWorksInstanceStatus.is_terminal(status)
    assert DataWorksInstanceStatus.is_success(status) == status.startswith("SUCCESS")
    assert DataWorksInstanceStatus.is_failure(status) == status.startswith("FAILURE")


@pytest.mark.parametrize("status", ["NOT_RUN", "WAIT_TIME", "WAIT_RESOURCE", "RUNNING(4)", "CHECKING", None, "NEW"])
def test_other_statuses_are_not_terminal(status):
    assert not DataWorksInstanceStatus.is_terminal(status)
    assert not DataWorksInstanceStatus.is_success(status)


def test_the_step_after_get_instance_decides_log_and_end():
    watch = InstanceWatch(7, schedule=PollSchedule(1))
    first = after_get_instance(watch, {"Status": "WAIT_TIME"})
    assert (first.previous_status, first.changed, first.fetch_log, first.done) == (None, True, False, False)
    again = after_get_instance(watch, {"Status": "WAIT_TIME"})
    assert not again.changed and not again.done
    end = after_get_instance(watch, {"Status": "SUCCESS(1)"})  # the suffixed form ends the wait too
    assert (end.previous_status, end.changed, end.fetch_log, end.done) == ("WAIT_TIME", True, True, True)
    assert watch.polls == 3


def test_a_suffixed_running_status_streams_the_log_like_a_bare_one():
    import time

    begun = int((time.time() - 3600) * 1000)
    bare, suffixed = InstanceWatch(1), InstanceWatch(2)
    b = after_get_instance(bare, {"Status": "RUNNING", "BeginRunningTime": begun})
    s = after_get_instance(suffixed, {"Status": "RUNNING(4)", "BeginRunningTime": begun})
    assert b.fetch_log and s.fetch_log  # an hour of log not shown yet


def test_backfill_dags_are_supply_data_in_either_form():
    assert is_backfill_dag({"DagType": "SUPPLY_DATA"}) and is_backfill_dag({"DagType": "SUPPLY_DATA(3)"})
    assert is_backfill_dag({})  # older answers leave DagType out
    assert not is_backfill_dag({"DagType": "CYCLE(0)"}) and not is_backfill_dag({"DagType": "MANUAL"})


def test_history_counts_suffixed_success_runs():
    runs = [{"Status": "SUCCESS(1)", "BeginRunningTime": 1_000, "FinishTime": 101_000},
            {"Status": "FAILURE(6)", "BeginRunningTime": 1_000, "FinishTime": 6_000}]
    assert expected_duration_from_history(runs) == 100.0


def test_task_type_name_and_failure_text():
    assert task_type_name({"TaskType": "PAUSE(2)"}) == "PAUSE" and task_type_name({}) == "NORMAL"
    text = failure_text({"instance_id": 9, "node_name": "train", "status": "FAILURE"}, "frozen.", ["boom"],
                        "https://console/x")
    assert "instance 9 (node train) ended FAILURE. frozen." in text
    assert "    boom" in text and "Operation Center: https://console/x" in text
    assert "(the log is empty)" in failure_text({}, None, [])


def test_run_name_is_stable_bounded_and_distinct():
    assert run_name("d", "r", "t") == run_name("d", "r", "t")
    assert run_name("d", "r", "t").startswith("airflow__d__r__t__")
    assert run_name("a-b", "r", "t") != run_name("a.b", "r", "t")  # sanitised alike, still distinct
    assert len(run_name("d" * 300, "r" * 300, "t")) <= 128


def test_node_params_validation():
    assert validate_node_params({"alpha": 0.1, "table": "churn_train"}) == {"alpha": 0.1, "table": "churn_train"}
    assert validate_node_params({}) is None
    with pytest.raises(PaiParameterError, match="node_params"):
        validate_node_params("alpha=1")


def test_first_trigger_delay_meets_the_expected_end_and_never_exceeds_first_interval(monkeypatch):
    """After the worker's poll a trigger sleeps as the schedule says for the run's age (issue 25: a fixed
    first_interval noticed a short run's end up to first_interval late)."""
    from airflow_provider_pai.utils import dataworks as dw
    from airflow_provider_pai.utils.dataworks import InstanceWatch
    from airflow_provider_pai.utils.polling import PollSchedule

    monkeypatch.setattr(dw.time, "time", lambda: 1000.0)
    watch = InstanceWatch(1, schedule=PollSchedule(5, expected_duration=5.0, min_latency=5))
    watch.observe({"Status": "RUNNING", "BeginRunningTime": 998_400})  # running for 1.6 s
    assert watch.first_trigger_delay() == pytest.approx(3.9)  # 5 s expected - 1.6 s + the 0.5 s margin
    again = InstanceWatch.from_dict(watch.to_dict())  # what the trigger gets
    assert again.begin_at == 998.4 and again.first_trigger_delay() == pytest.approx(3.9)
    no_history = InstanceWatch(1, schedule=PollSchedule(5, min_latency=5))
    no_history.observe({"Status": "RUNNING", "BeginRunningTime": 998_400})
    assert no_history.first_trigger_delay() == 5  # first_interval, as before
    long_run = InstanceWatch(1, schedule=PollSchedule(60, expected_duration=7200.0, min_latency=60))
    long_run.observe({"Status": "RUNNING", "BeginRunningTime": 999_000})
    assert long_run.first_trigger_delay() == 60  # far from the end: first_interval, as before
