"""The DataWorks log while the instance runs (issue 17, item 2): a line DataWorks writes reaches the
task log within max(60 s, two polls), for short and long runs, with and without history; the same
``after_get_instance`` step decides in poke, reschedule and deferrable modes."""

from __future__ import annotations

import json

import pytest

from airflow_provider_pai.utils.dataworks import (
    LOG_LATENCY,
    InstanceWatch,
    after_get_instance,
    log_lines_to_show,
    transition_text,
)
from airflow_provider_pai.utils.polling import PollSchedule


def simulate(first_interval: float, run_seconds: float, expected: float | None = None, stream_log: bool = True):
    """A wait as the sensor sets it up, in run time: (poll times, log fetch times, final watch)."""
    schedule = PollSchedule(first_interval, expected_duration=expected, min_latency=min(60.0, first_interval))
    watch = InstanceWatch(1, schedule=schedule, stream_log=stream_log)
    now = [0.0]
    watch.elapsed = lambda instance: now[0]  # the run's age, without a clock
    polls, fetches = [], []
    while True:
        status = "RUNNING" if now[0] < run_seconds else "SUCCESS"
        step = after_get_instance(watch, {"Status": status})
        polls.append(now[0])
        if step.fetch_log:
            fetches.append(now[0])
        if step.done:
            return polls, fetches, watch
        now[0] += schedule.next_interval(now[0], step.changed)


def gaps_between(polls: list[float], start: float, end: float) -> float:
    """The longest poll interval overlapping [start, end]."""
    return max(b - a for a, b in zip(polls, polls[1:]) if b >= start and a <= end)


@pytest.mark.parametrize("first_interval, run_seconds, expected", [
    (5, 50, None),          # a short run: the budget used to starve it (all lines at the end)
    (5, 600, None),
    (60, 7200, None),       # two hours, no history: polls back off to 5 % of the run time
    (60, 7200, 7200),       # two hours, history: the schedule sleeps through most of it
    (300, 3600, None),      # polls rarer than the 60 s target
])
def test_a_line_reaches_the_log_within_max_60s_or_two_polls(first_interval, run_seconds, expected):
    polls, fetches, _ = simulate(first_interval, run_seconds, expected)
    for written in range(0, int(run_seconds)):
        shown = next(f for f in fetches if f >= written)
        bound = max(LOG_LATENCY, 2 * gaps_between(polls, written, shown))
        assert shown - written <= bound, (written, shown, bound)


@pytest.mark.parametrize("first_interval, run_seconds, expected", [(5, 600, None), (60, 7200, None), (60, 7200, 7200)])
def test_log_calls_stay_at_one_per_minute_of_run_at_most(first_interval, run_seconds, expected):
    polls, fetches, _ = simulate(first_interval, run_seconds, expected)
    while_running = [f for f in fetches if f < run_seconds]
    assert len(while_running) <= run_seconds / LOG_LATENCY + 1
    assert len(while_running) <= len(polls)  # never more than one per poll
    assert fetches[-1] >= run_seconds  # and once at the end: every line gets shown


@pytest.mark.parametrize("expected", [None, 7200])
def test_without_streaming_the_log_is_fetched_once_at_the_end(expected):
    polls, fetches, watch = simulate(60, 7200, expected, stream_log=False)
    assert fetches == [polls[-1]] and polls[-1] >= 7200
    # ... and the choice survives a reschedule or deferral (the watch travels as a dict).
    assert InstanceWatch.from_dict(json.loads(json.dumps(watch.to_dict()))).stream_log is False


def test_no_log_call_while_the_instance_waits():
    watch = InstanceWatch(1)
    watch.elapsed = lambda instance: 3600.0
    for status in ("NOT_RUN", "WAIT_TIME", "WAIT_RESOURCE"):
        assert not after_get_instance(watch, {"Status": status}).fetch_log


def test_the_watch_keeps_its_log_cadence_across_reschedules_and_deferral():
    watch = InstanceWatch(1, schedule=PollSchedule(5, min_latency=5))
    watch.elapsed = lambda instance: 100.0
    assert after_get_instance(watch, {"Status": "RUNNING"}).fetch_log  # 100 s of lines unseen
    again = InstanceWatch.from_dict(json.loads(json.dumps(watch.to_dict())))
    assert again.log_at == 100.0
    again.elapsed = lambda instance: 110.0
    assert not after_get_instance(again, {"Status": "RUNNING"}).fetch_log  # shown 10 s ago


def test_first_status_is_stated_not_a_change_from_none():
    watch = InstanceWatch(7)
    step = after_get_instance(watch, {"Status": "RUNNING"})
    assert transition_text(7, step, "RUNNING") == "DataWorks instance 7: RUNNING"
    step = after_get_instance(watch, {"Status": "SUCCESS"})
    assert transition_text(7, step, "SUCCESS") == "DataWorks instance 7: RUNNING -> SUCCESS"


def test_the_first_log_lines_say_whose_clock_their_times_are():
    watch = InstanceWatch(7)
    first = log_lines_to_show(watch, "2026-11-30 05:38:10 INFO a\n")
    assert "UTC+8" in first[0] and "Airflow's are UTC" in first[0]
    assert first[1:] == ["[dataworks] 2026-11-30 05:38:10 INFO a"]
    assert log_lines_to_show(watch, "2026-11-30 05:38:10 INFO a\nb\n") == ["[dataworks] b"]
    assert log_lines_to_show(watch, "2026-11-30 05:38:10 INFO a\nb\n") == []
