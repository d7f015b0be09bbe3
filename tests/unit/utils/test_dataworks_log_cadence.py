"""log_interval, the "no log yet" line and the node_id of a wait's summary (utils/dataworks.py, pure)."""

from __future__ import annotations

import time

import pytest

from airflow_provider_pai.utils.dataworks import (
    InstanceWatch,
    after_get_instance,
    end_note,
    instance_summary,
    validate_log_interval,
    waiting_text,
)
from airflow_provider_pai.utils.polling import PollSchedule
from airflow_provider_pai.utils.validation import PaiParameterError


def running(seconds: float) -> dict:
    return {"InstanceId": 5, "Status": "RUNNING", "BeginRunningTime": (time.time() - seconds) * 1000}


def test_log_interval_is_checked_at_parse_time():
    assert validate_log_interval(None) is None and validate_log_interval(10) == 10.0
    for bad in (0, 4.9, -1, "10", True):
        with pytest.raises(PaiParameterError, match="log_interval.*>= 5"):
            validate_log_interval(bad)


def test_without_log_interval_a_young_run_waits_for_the_60_s_mark():
    watch = InstanceWatch(5, schedule=PollSchedule(1.0, min_latency=1.0))
    assert after_get_instance(watch, running(20)).fetch_log is False
    assert watch.schedule.cap is None


def test_log_interval_caps_the_polls_until_the_end():
    watch = InstanceWatch(5, schedule=PollSchedule(30.0, min_latency=30.0), log_interval=5)
    after_get_instance(watch, {"InstanceId": 5, "Status": "WAIT_TIME"})
    assert watch.schedule.next_interval(0, True) == 5  # waiting for the run to start: polls capped too
    assert after_get_instance(watch, running(6)).fetch_log is True  # a poll every 5 s: a log call each
    after_get_instance(watch, {"InstanceId": 5, "Status": "SUCCESS"})
    assert watch.schedule.cap is None
    again = InstanceWatch.from_dict(watch.to_dict())  # carried into the trigger
    assert again.log_interval == 5


def test_log_interval_fetches_when_the_next_poll_would_make_lines_later_than_it():
    watch = InstanceWatch(5, schedule=PollSchedule(1.0, min_latency=1.0), log_interval=10)
    assert after_get_instance(watch, running(3)).fetch_log is False  # polls every ~1 s: no need yet
    assert after_get_instance(watch, running(9.5)).fetch_log is True
    assert after_get_instance(watch, running(11)).fetch_log is False  # fetched 1.5 s of run ago
    assert after_get_instance(watch, running(19)).fetch_log is True


def test_the_wait_says_no_log_yet_at_the_first_poll_and_after_each_silent_minute():
    watch = InstanceWatch(5, schedule=PollSchedule(10.0))
    step = after_get_instance(watch, {"InstanceId": 5, "Status": "WAIT_RESOURCE"})
    text = waiting_text(watch, step, {}, now=1000.0)
    assert "WAIT_RESOURCE: no log yet" in text and "next check in" in text
    step = after_get_instance(watch, {"InstanceId": 5, "Status": "WAIT_RESOURCE"})
    assert waiting_text(watch, step, {}, now=1030.0) is None  # said 30 s ago
    assert "no log yet" in waiting_text(watch, step, {}, now=1061.0)
    watch.lines_shown = 3  # the log has shown: it speaks for itself
    assert waiting_text(watch, step, {}, now=2000.0) is None


def test_no_log_yet_does_not_claim_none_was_written_before_the_log_was_read():
    """A running instance whose log the wait has not read yet may have lines already (issue 27 item 4)."""
    watch = InstanceWatch(5, schedule=PollSchedule(5.0, min_latency=5.0), log_interval=30)
    step = after_get_instance(watch, running(1))
    assert step.fetch_log is False
    text = waiting_text(watch, step, {}, now=1000.0)
    assert "no log yet (read every 30 s while it runs)" in text and "none written" not in text
    default = InstanceWatch(6, schedule=PollSchedule(5.0, min_latency=5.0))
    text = waiting_text(default, after_get_instance(default, running(1)), {}, now=1000.0)
    assert "no log yet (read within its first minute of running)" in text
    watch.new_lines("")  # read, and empty: now it is true that none was written
    assert "no log yet (none written yet)" in waiting_text(watch, step, {}, now=1100.0)


def test_summary_node_id_is_the_node_the_task_was_given_and_the_task_id_its_own_key():
    v2024 = {"InstanceId": 5, "NodeId": 910001, "TaskId": 910001, "Status": "SUCCESS"}
    assert instance_summary(v2024, "PROD", node_id=900001)["node_id"] == 900001
    assert instance_summary(v2024, "PROD", node_id=900001)["task_id"] == 910001
    assert instance_summary(v2024, "PROD")["node_id"] is None  # an instance id alone does not name the node
    v2020 = {"InstanceId": 5, "NodeId": 700001, "Status": "SUCCESS"}
    assert instance_summary(v2020, "PROD")["node_id"] == 700001 and "task_id" not in instance_summary(v2020, "PROD")


def test_calendar_kinds_of_2024_are_a_skip_and_a_named_pause():
    skip = {"InstanceId": 5, "TaskType": "SKIP_CALENDAR", "Status": "SUCCESS"}
    assert instance_summary(skip, "PROD")["skipped"] is True and "SKIPPED" in end_note(skip)
    pause = {"InstanceId": 5, "TaskType": "PAUSE_CALENDAR", "Status": "FAILURE"}
    assert "PAUSED BY THE SCHEDULING CALENDAR" in end_note(pause) and "PauseCalendar" in end_note(pause)


def test_a_templated_log_interval_is_checked_once_rendered():
    """``log_interval="{{ params.log_interval }}"`` (the example DAG's param) renders text."""
    from airflow_provider_pai.utils.dataworks_runs import rendered_log_interval

    assert rendered_log_interval("None") is None and rendered_log_interval("") is None
    assert rendered_log_interval("15") == 15.0 and rendered_log_interval(20) == 20.0
    for bad in ("4", "soon"):
        with pytest.raises(PaiParameterError, match="log_interval.*>= 5"):
            rendered_log_interval(bad)
