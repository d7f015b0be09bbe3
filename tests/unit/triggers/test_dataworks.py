"""DataWorksInstanceTrigger and InstanceWatch (the shared wait state), with a mocked hook."""

from __future__ import annotations

import time
from unittest import mock

import pytest


from airflow_provider_pai.triggers.dataworks import DataWorksInstanceTrigger, InstanceWatch, end_note
from airflow_provider_pai.utils.polling import PollSchedule


def _inst(status, **extra):
    return {"InstanceId": 42, "Status": status, "NodeName": "train", "TaskType": "NORMAL(0)", **extra}


def test_serialize_round_trips():
    watch = InstanceWatch(42, "DEV", schedule=PollSchedule(5, expected_duration=100), lines_shown=3).to_dict()
    trigger = DataWorksInstanceTrigger(42, "DEV", "my_conn", watch=watch, end_time=123.5, cancel_on_kill=False)
    path, kwargs = trigger.serialize()
    assert path == "airflow_provider_pai.triggers.dataworks.DataWorksInstanceTrigger"
    again = DataWorksInstanceTrigger(**kwargs)
    assert again.serialize() == (path, kwargs)
    assert InstanceWatch.from_dict(kwargs["watch"]).schedule.expected_duration == 100
    assert "secret" not in repr(kwargs).lower()


def test_watch_shows_each_complete_line_once():
    watch = InstanceWatch(1)
    watch.observe(_inst("RUNNING"))
    assert watch.new_lines("a\nb\npartial") == ["a", "b"]  # the partial line may still grow
    assert watch.new_lines("a\nb\npartial line\nc\n") == ["partial line", "c"]
    assert watch.new_lines("a\nb\npartial line\nc\n") == []
    watch.observe(_inst("SUCCESS"))
    assert watch.new_lines("a\nb\npartial line\nc\nend") == ["end"]  # at the end, the last line counts


def _running_for(seconds):
    return _inst("RUNNING", BeginRunningTime=int((time.time() - seconds) * 1000))


def test_watch_fetches_no_log_while_waiting_and_always_at_the_end():
    watch = InstanceWatch(1)
    for status in ("NOT_RUN", "WAIT_TIME", "WAIT_RESOURCE"):
        watch.observe(_inst(status))
        assert not watch.wants_log(_inst(status))
    watch.observe(_inst("SUCCESS"))
    assert watch.wants_log(_inst("SUCCESS"))


def test_watch_streams_the_log_of_a_long_run_at_once_then_by_the_minute():
    watch = InstanceWatch(1, schedule=PollSchedule(5, min_latency=5))
    long_run = _running_for(3600)  # an hour in: none of its log shown yet
    watch.observe(long_run)
    assert watch.wants_log(long_run)  # (the caller then records the fetch: see test_log_streaming.py)
    assert InstanceWatch.from_dict(watch.to_dict()).polls == 1


def test_end_note_names_frozen_and_skipped_instances():
    assert "FROZEN" in end_note(_inst("FAILURE", TaskType="PAUSE(2)"))
    assert "SKIPPED" in end_note(_inst("SUCCESS", TaskType="SKIP(3)"))
    assert end_note(_inst("SUCCESS")) is None


def _hook_of(runs):
    """A hook whose run object (``hook.runs_async``) is ``runs``: the trigger calls nothing else."""
    hook = mock.Mock()
    hook.runs_async = mock.AsyncMock(return_value=runs)
    hook.current_poll = lambda poll, contradicts=None: poll  # the connection re-check: tests/unit/hooks/test_connection_refresh.py
    return hook


def _trigger_with(statuses, log_texts, **kwargs):
    trigger = DataWorksInstanceTrigger(42, "PROD", watch=InstanceWatch(42, schedule=PollSchedule(0.01)).to_dict(), **kwargs)
    hook = mock.Mock()
    hook.get_instance_async = mock.AsyncMock(side_effect=[s if isinstance(s, dict) else _inst(s) for s in statuses])
    hook.get_log_async = mock.AsyncMock(side_effect=log_texts)
    hook.stop_async = mock.AsyncMock(return_value=True)
    trigger.hook = _hook_of(hook)
    return trigger, hook


async def _events(trigger):
    return [event async for event in trigger.run()]


async def test_run_yields_success_with_summary_and_streams_lines(capsys):
    running = _running_for(3600)  # an hour in: the call budget has room to stream the log
    trigger, hook = _trigger_with([running] * 4 + ["SUCCESS"], ["one\n", "one\ntwo\nthree\n"])
    (event,) = await _events(trigger)
    assert event.payload["status"] == "success"
    assert event.payload["instance"]["status"] == "SUCCESS"
    assert event.payload["lines_shown"] == 3
    # Airflow logs through structlog to stdout: each remote line exactly once, in order.
    shown = [line.split("[dataworks] ", 1)[1].split()[0] for line in capsys.readouterr().out.splitlines()
             if "[dataworks] " in line]
    assert shown == ["one", "two", "three"]
    assert hook.get_log_async.await_count == 2  # every 4th poll and the end, not every poll


async def test_run_yields_a_small_failure_event():
    """Airflow logs every event whole: no log tail, no instance dict, only the summary."""
    trigger, _ = _trigger_with(["FAILURE"], ["\n".join(f"line {i}" for i in range(30)) + "\n"])
    (event,) = await _events(trigger)
    assert event.payload["status"] == "failed"
    assert "log_tail" not in event.payload and "line 29" not in repr(event.payload)
    assert event.payload["instance"]["status"] == "FAILURE"


async def test_run_yields_timeout_after_end_time():
    trigger, _ = _trigger_with(["RUNNING"] * 50, ["x\n"] * 50, end_time=0.0)
    (event,) = await _events(trigger)
    assert event.payload["status"] == "timeout"
    assert event.payload["instance_status"] == "RUNNING"


async def test_on_kill_stops_the_instance_only_with_cancel_on_kill():
    trigger, hook = _trigger_with([], [])
    await trigger.on_kill()
    hook.stop_async.assert_awaited_once_with(42, "PROD")
    trigger, hook = _trigger_with([], [], cancel_on_kill=False)
    await trigger.on_kill()
    hook.stop_async.assert_not_awaited()


async def test_on_kill_stop_survives_the_cancels_airflow_re_sends_while_it_runs():
    # Airflow 3.3's triggerer re-sends a user action's cancel on every sync until the trigger ends.
    import asyncio

    trigger, hook = _trigger_with([], [])
    sent = []

    async def slow_stop(*args, **kwargs):
        await asyncio.sleep(0.2)
        sent.append(args)
        return True

    hook.stop_async = mock.AsyncMock(side_effect=slow_stop)
    killing = asyncio.ensure_future(trigger.on_kill())
    for _ in range(3):
        await asyncio.sleep(0.03)
        killing.cancel("user-action")
    with pytest.raises(asyncio.CancelledError):
        await killing
    assert sent == [(42, "PROD")]


async def test_on_kill_logs_a_stop_that_fails(capsys):
    trigger, hook = _trigger_with([], [])
    hook.stop_async = mock.AsyncMock(side_effect=RuntimeError("Forbidden.RAM"))
    await trigger.on_kill()
    assert "Could not stop DataWorks instance 42: Forbidden.RAM" in capsys.readouterr().out


async def test_on_kill_gives_up_at_its_bound_and_says_so(capsys, monkeypatch):
    import asyncio

    from airflow_provider_pai.triggers import dataworks

    monkeypatch.setattr(dataworks, "ON_KILL_STOP_TIMEOUT", 0.05)
    trigger, hook = _trigger_with([], [])

    async def no_answer(*args, **kwargs):
        await asyncio.sleep(10)

    hook.stop_async = mock.AsyncMock(side_effect=no_answer)
    await trigger.on_kill()
    assert "no answer within 0.05 s" in capsys.readouterr().out


def test_triggers_on_one_connection_share_one_hook():
    from airflow_provider_pai.hooks.dataworks import DataWorksHook

    first, second, other = DataWorksInstanceTrigger(42), DataWorksInstanceTrigger(43), DataWorksInstanceTrigger(44, pai_conn_id="other")
    assert first.hook is first.hook
    assert first.hook is second.hook  # one credentials client and one SDK client for a thousand waits
    assert isinstance(first.hook, DataWorksHook) and other.hook is not first.hook


async def test_trigger_does_not_repeat_the_poll_the_worker_just_made():
    watch = InstanceWatch(42, schedule=PollSchedule(0.01))
    watch.observe(_inst("RUNNING"))  # the worker's poke before deferring
    trigger = DataWorksInstanceTrigger(42, "PROD", watch=watch.to_dict())
    hook = mock.Mock()
    hook.get_instance_async = mock.AsyncMock(return_value=_inst("SUCCESS"))
    hook.get_log_async = mock.AsyncMock(return_value="done\n")
    trigger.hook = _hook_of(hook)
    from airflow_provider_pai.triggers import dataworks as module

    with mock.patch.object(module, "wait_until_async", wraps=module.wait_until_async) as wait:
        (event,) = await _events(trigger)
    assert event.payload["status"] == "success"
    assert wait.call_args.kwargs["first_delay"] == 0.01  # one interval first, then the poll
    assert hook.get_instance_async.await_count == 1
    fresh = DataWorksInstanceTrigger(42, "PROD", watch=InstanceWatch(42).to_dict())
    fresh.hook = _hook_of(hook)
    with mock.patch.object(module, "wait_until_async", wraps=module.wait_until_async) as wait:
        await _events(fresh)
    assert wait.call_args.kwargs["first_delay"] == 0.0  # nothing polled yet: look at once


async def test_a_tighter_log_cadence_also_shortens_the_trigger_s_first_wait():
    watch = InstanceWatch(42, schedule=PollSchedule(30.0), log_interval=5)
    watch.observe(_inst("WAIT_TIME"))  # the worker's poll before deferring set the cap
    trigger = DataWorksInstanceTrigger(42, "PROD", watch=watch.to_dict())
    hook = mock.Mock()
    hook.get_instance_async = mock.AsyncMock(return_value=_inst("SUCCESS"))
    hook.get_log_async = mock.AsyncMock(return_value="done\n")
    trigger.hook = _hook_of(hook)
    from airflow_provider_pai.triggers import dataworks as module

    with mock.patch.object(module, "wait_until_async", wraps=module.wait_until_async) as wait:
        (event,) = await _events(trigger)  # sleeps the 5 s first delay for real
    assert event.payload["status"] == "success"
    assert wait.call_args.kwargs["first_delay"] == 5
