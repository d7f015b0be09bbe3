"""The timeout/kill/retry decision of docs/timeouts-kills-retries.md (utils/ends.py), on stand-ins
for Airflow's task instance: the through-Airflow proof is tests/usage/."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest

from airflow_provider_pai.utils import ends


class AirflowTaskTimeout(Exception):
    """Named as Airflow's: ``in_task_timeout`` goes by the exception's class name."""


def ti(*, should_retry=None, eligible=None, try_number=1, max_tries=0, retries=0):
    t = SimpleNamespace(try_number=try_number, max_tries=max_tries, task=SimpleNamespace(retries=retries))
    if should_retry is not None:
        t._ti_context_from_server = SimpleNamespace(should_retry=should_retry)
    if eligible is not None:
        t.is_eligible_to_retry = lambda: eligible
    return t


@pytest.mark.parametrize("stand_in, follows", [
    (ti(should_retry=True), True), (ti(should_retry=False, retries=3, max_tries=3), False),  # Airflow 3: the server
    (ti(eligible=True), True), (ti(eligible=False, retries=1, max_tries=1), False),  # Airflow 2
    (ti(retries=1, try_number=1, max_tries=1), True), (ti(retries=1, try_number=2, max_tries=1), False),
    (None, False),
])
def test_next_try_follows(stand_in, follows):
    assert ends.next_try_follows(stand_in) is follows


def test_on_kill_during_execution_timeout_stops_only_without_a_retry():
    try:
        raise AirflowTaskTimeout()
    except AirflowTaskTimeout:
        assert ends.in_task_timeout()
        assert ends.stop_on_kill(ti(should_retry=True)) is False
        assert ends.stop_on_kill(ti(should_retry=False)) is True
    assert not ends.in_task_timeout()


@pytest.mark.parametrize("by_user, follows, stop", [
    (True, True, True),      # a user marked the task failed: stop, retries or not
    (False, True, False),    # the worker shuts down and a retry follows: it reattaches, leave the run
    (False, False, True),    # the worker shuts down and no try follows: nothing would watch it again, stop
    (None, True, False),     # unknown: a retry follows, so stopping would pay twice
    (None, False, True),     # unknown and no retry follows: stop
])
def test_on_kill_by_signal_asks_who_ended_the_try(monkeypatch, by_user, follows, stop):
    monkeypatch.setattr(ends, "ended_by_user", lambda _ti: by_user)
    assert ends.stop_on_kill(ti(should_retry=follows)) is stop


def test_ended_by_user_gives_up_when_the_state_cannot_be_read_in_time(monkeypatch):
    monkeypatch.setattr(ends, "STATE_QUERY_SECONDS", 0.1)
    monkeypatch.setattr(ends, "_own_state", lambda _ti: time.sleep(1))
    assert ends.ended_by_user(ti()) is None
    monkeypatch.setattr(ends, "_own_state", lambda _ti: "failed")
    assert ends.ended_by_user(ti()) is True
    monkeypatch.setattr(ends, "_own_state", lambda _ti: "running")
    assert ends.ended_by_user(ti()) is False


def test_a_deferred_wait_ends_at_the_earlier_of_timeout_and_execution_timeout():
    started = datetime.now(timezone.utc) - timedelta(seconds=10)
    context = {"task": SimpleNamespace(execution_timeout=timedelta(seconds=60)),
               "ti": SimpleNamespace(start_date=started)}
    end, cause = ends.wait_end(context, timeout=600)
    assert cause == "execution_timeout"
    assert end == pytest.approx(started.timestamp() + 60 - ends.DEADLINE_MARGIN, abs=0.01)
    end, cause = ends.wait_end(context, timeout=5)
    assert cause == "timeout" and end == pytest.approx(time.time() + 5, abs=1)
    no_limit = {"task": SimpleNamespace(execution_timeout=None), "ti": SimpleNamespace(start_date=started)}
    assert ends.wait_end(no_limit, timeout=None) == (None, "timeout")
