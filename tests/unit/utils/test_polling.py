"""The one wait pattern: call economy and end-notice latency, simulated with a fake clock."""

from __future__ import annotations

import json

import pytest

from airflow_provider_pai.utils.dataworks import expected_duration_from_history, instance_elapsed
from airflow_provider_pai.utils.polling import (
    PollSchedule,
    PollTimeout,
    wait_until,
    wait_until_async,
)

TWO_HOURS = 7200.0
T0 = 1_767_225_600_000  # 2026-01-01 00:00 UTC in epoch ms, as DataWorks reports times


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.sleeps.append(seconds)
        self.now += seconds

    async def async_sleep(self, seconds: float) -> None:
        self.sleep(seconds)


def simulate(run_seconds: float, schedule: PollSchedule, timeout: float | None = None):
    """Run wait_until against a remote run that ends at ``run_seconds``; return (polls, latency)."""
    clock = FakeClock()
    polls = []

    def poll():
        polls.append(clock.now)
        done = clock.now >= run_seconds
        return done, len(polls) == 1, clock.now  # the first answer is a change (unknown -> RUNNING)

    wait_until(poll, schedule, timeout=timeout, clock=clock, sleep=clock.sleep)
    return len(polls), polls[-1] - run_seconds


def fixed_polls(run_seconds: float, interval: float = 30.0) -> int:
    polls, t = 1, 0.0
    while t < run_seconds:
        t += interval
        polls += 1
    return polls


def test_two_hour_run_without_history_costs_at_most_a_quarter_of_fixed_30s_polling():
    polls, latency = simulate(TWO_HOURS, PollSchedule())
    assert fixed_polls(TWO_HOURS) == 241  # 240 sleeps of 30 s, plus the first look
    assert polls <= 60
    assert polls * 4 <= fixed_polls(TWO_HOURS)
    assert latency <= max(60.0, 0.05 * TWO_HOURS)


def test_history_sleeps_through_the_expected_run():
    without, _ = simulate(TWO_HOURS, PollSchedule())
    polls, latency = simulate(TWO_HOURS, PollSchedule(expected_duration=TWO_HOURS))
    assert polls <= 30
    assert polls < without / 2
    assert latency <= 60.0  # close polling around the expected end


@pytest.mark.parametrize("run_seconds", [5, 59, 61, 600, 1199, 1201, 3600, 7199, 7201, 20000, 86400])
def test_end_is_noticed_within_max_60s_or_5_percent_without_history(run_seconds):
    _, latency = simulate(run_seconds, PollSchedule())
    assert 0 <= latency <= max(60.0, 0.05 * run_seconds)


@pytest.mark.parametrize("run_seconds", [6000, 6600, 7200, 7400, 9000, 20000])
def test_with_history_end_is_noticed_within_bound_near_or_after_expected_end(run_seconds):
    _, latency = simulate(run_seconds, PollSchedule(expected_duration=TWO_HOURS))
    assert 0 <= latency <= max(60.0, 0.05 * run_seconds)


def test_with_history_an_early_end_is_noticed_within_max_interval():
    _, latency = simulate(300, PollSchedule(expected_duration=TWO_HOURS, max_interval=600))
    assert latency <= 600


def test_state_change_resets_interval_to_first_interval():
    s = PollSchedule(first_interval=10, min_latency=60)
    for _ in range(20):
        s.next_interval(3000, changed=False)
    assert s.next_interval(3000, changed=False) == 150  # 5% of 3000 s
    assert s.next_interval(3000, changed=True) == 10
    assert s.next_interval(3000, changed=False) == 20  # backs off again from the start


def test_backs_off_while_nothing_changes_up_to_latency_bound():
    s = PollSchedule(first_interval=5, min_latency=60)
    intervals = [s.next_interval(0, changed=False) for _ in range(6)]
    assert intervals == [10, 20, 40, 60, 60, 60]


def test_never_sleeps_longer_than_max_interval():
    s = PollSchedule(max_interval=120, min_latency=60)
    assert max(s.next_interval(100_000, changed=False) for _ in range(10)) == 120
    s = PollSchedule(expected_duration=100_000, max_interval=120)
    assert s.next_interval(0, changed=False) == 120


def test_history_phases():
    s = PollSchedule(expected_duration=1000, min_latency=60, max_interval=600)
    assert s.next_interval(0, changed=False) == 600  # asleep, capped by max_interval
    assert s.next_interval(700, changed=False) == 200  # wake at 90% of the expected run
    assert s.next_interval(900, changed=False) == 60  # near the end: poll every min_latency
    assert s.next_interval(960, changed=False) == 40.5  # the last step lands just after the expected end
    assert s.next_interval(2000, changed=False) == 100  # overran: 5% of elapsed rule


def test_state_round_trips_through_json_and_keeps_back_off():
    s = PollSchedule(7, expected_duration=3600, max_interval=300, end_tolerance=0.1, min_latency=30)
    s.next_interval(0, changed=False)
    copy = PollSchedule.from_dict(json.loads(json.dumps(s.to_dict())))
    assert copy.to_dict() == s.to_dict()
    assert [copy.next_interval(e, False) for e in (0, 4000, 4100)] == [
        s.next_interval(e, False) for e in (0, 4000, 4100)
    ]


@pytest.mark.parametrize(
    "kwargs", [{"first_interval": 0}, {"max_interval": -1}, {"min_latency": "60"}, {"end_tolerance": 1.5}]
)
def test_bad_schedule_settings_are_rejected(kwargs):
    with pytest.raises(ValueError):
        PollSchedule(**kwargs)


def test_expected_duration_is_median_of_successful_runs():
    def inst(status, begin, finish):
        return {"Status": status, "BeginRunningTime": begin, "FinishTime": finish}

    history = [
        inst("SUCCESS", T0, T0 + 100_000),
        inst("SUCCESS", T0 + 1_000_000, T0 + 1_300_000),
        inst("SUCCESS", T0 + 2_000_000, T0 + 2_200_000),
        inst("FAILURE", T0, T0 + 9_000_000),  # failures say nothing about a normal run
        inst("RUNNING", T0, None),
        inst("SUCCESS", None, T0),  # skipped node: never ran
        inst("SUCCESS", 0, T0),  # 0 = unset, not 1970
    ]
    assert expected_duration_from_history(history) == 200.0
    assert expected_duration_from_history([inst("FAILURE", T0, T0 + 1000)]) is None
    assert expected_duration_from_history([]) is None


def test_instance_elapsed_counts_from_begin_running_time():
    assert instance_elapsed({"BeginRunningTime": 1_000_000}, now=1_090.5) == 90.5
    assert instance_elapsed({"BeginRunningTime": None, "CreateTime": 1}, now=5) is None
    assert instance_elapsed({"BeginRunningTime": 2_000_000}, now=1_000) == 0.0  # clock skew


def test_elapsed_fn_drives_the_schedule():
    clock = FakeClock()
    seen = []

    class Spy(PollSchedule):
        def next_interval(self, elapsed, changed):
            seen.append(elapsed)
            return super().next_interval(elapsed, changed)

    results = iter([(False, True, 5000.0), (True, False, 5200.0)])
    wait_until(lambda: next(results), Spy(), timeout=None, clock=clock, sleep=clock.sleep,
               elapsed_fn=lambda value: value)
    assert seen == [5000.0]  # the remote run's age, not the 0 s this wait has lasted


def test_timeout_is_honoured_in_seconds_with_a_last_poll_at_the_deadline():
    clock = FakeClock()
    polls = []

    def poll():
        polls.append(clock.now)
        return False, False, {"Status": "RUNNING"}

    with pytest.raises(PollTimeout) as err:
        wait_until(poll, PollSchedule(), timeout=1000, clock=clock, sleep=clock.sleep)
    assert polls[-1] == 1000  # one last look exactly at the deadline
    assert sum(clock.sleeps) == 1000
    assert err.value.waited == 1000
    assert err.value.last_value == {"Status": "RUNNING"}


def test_zero_timeout_polls_once():
    clock = FakeClock()
    with pytest.raises(PollTimeout):
        wait_until(lambda: (False, False, None), PollSchedule(), timeout=0, clock=clock, sleep=clock.sleep)
    assert clock.sleeps == []


async def test_async_twin_uses_the_same_schedule():
    clock = FakeClock()
    polls = []

    async def poll():
        polls.append(clock.now)
        return clock.now >= TWO_HOURS, len(polls) == 1, clock.now

    value = await wait_until_async(poll, PollSchedule(), timeout=None, clock=clock, sleep=clock.async_sleep)
    sync_polls, _ = simulate(TWO_HOURS, PollSchedule())
    assert value >= TWO_HOURS
    assert len(polls) == sync_polls


async def test_async_timeout():
    clock = FakeClock()

    async def poll():
        return False, False, "WAIT_RESOURCE"

    with pytest.raises(PollTimeout) as err:
        await wait_until_async(poll, PollSchedule(), timeout=90, clock=clock, sleep=clock.async_sleep)
    assert clock.now == 90
    assert err.value.last_value == "WAIT_RESOURCE"


def test_first_delay_sleeps_before_the_first_poll_and_respects_the_timeout():
    from airflow_provider_pai.utils.polling import PollSchedule, wait_until

    events = []
    wait_until(lambda: (events.append("poll") or True, False, "v"), PollSchedule(5), timeout=None,
               sleep=lambda s: events.append(("sleep", s)), first_delay=7)
    assert events == [("sleep", 7), "poll"]
    events.clear()
    wait_until(lambda: (events.append("poll") or True, False, "v"), PollSchedule(5), timeout=3,
               sleep=lambda s: events.append(("sleep", s)), first_delay=7)
    assert events == [("sleep", 3), "poll"]


async def test_first_delay_async_twin():
    from airflow_provider_pai.utils.polling import PollSchedule, wait_until_async

    events = []

    async def poll():
        events.append("poll")
        return True, False, "v"

    async def sleep(s):
        events.append(("sleep", s))

    assert await wait_until_async(poll, PollSchedule(5), timeout=None, sleep=sleep, first_delay=7) == "v"
    assert events == [("sleep", 7), "poll"]
