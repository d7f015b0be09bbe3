"""DataWorksInstanceWaitMixin needs only what DataWorksWaitHost declares: a plain host object works."""

from __future__ import annotations

import logging
from unittest import mock

import pytest

from airflow_provider_pai.mixins.dataworks import DataWorksInstanceWaitMixin
from airflow_provider_pai.utils.dataworks import InstanceWatch
from airflow_provider_pai.utils.polling import PollSchedule


class Host(DataWorksInstanceWaitMixin):
    """The protocol's members and nothing else (no Airflow operator)."""

    def __init__(self, hook):
        self.pai_conn_id, self.region_id, self.cancel_on_kill = "c", "cn-shanghai", True
        self.hook = hook
        self.log = logging.getLogger("host")
        self.deferred: dict = {}

    def defer(self, **kwargs):
        self.deferred = kwargs


def _hook(*statuses, log="line 1\nline 2\n"):
    hook = mock.Mock()
    runs = hook.runs.return_value  # the run object of the watch's API
    runs.get_instance.side_effect = [{"InstanceId": 5, "Status": s, "NodeName": "n"} for s in statuses]
    runs.get_log.return_value = log
    return hook


def test_blocking_wait_ends_on_success_with_the_summary():
    host = Host(_hook("RUNNING", "SUCCESS(1)"))
    watch = InstanceWatch(5, schedule=PollSchedule(0.01, min_latency=0.01))
    summary = host._wait_blocking(watch, timeout=10)
    assert summary["instance_id"] == 5 and summary["status"] == "SUCCESS(1)"
    host.hook.runs.return_value.get_log.assert_called_once()  # only at the end: a waiting/young run has no log worth a call


def test_failure_raises_the_hosts_exception_with_the_log_tail():
    host = Host(_hook("FAILURE"))
    host.failure_exception = ValueError
    with pytest.raises(ValueError, match="ended FAILURE") as err:
        host._wait_blocking(InstanceWatch(5, schedule=PollSchedule(0.01)), timeout=10)
    assert "line 2" in str(err.value)


def test_kill_stops_only_a_running_instance():
    host = Host(_hook())
    host._watch = InstanceWatch(5, status="RUNNING")
    host._stop_on_kill()
    host.hook.runs.return_value.stop.assert_called_once_with(5, "PROD")
    host = Host(_hook())
    host._watch = InstanceWatch(5, status="SUCCESS(1)")
    host._stop_on_kill()
    host.hook.runs.return_value.stop.assert_not_called()


@pytest.mark.parametrize("status", ["failed", "failure"])  # "failure": a trigger event from before 0.1
def test_trigger_events_of_both_vocabularies_fail_the_task(status):
    host = Host(_hook())
    with pytest.raises(Exception, match="ended FAILURE"):
        host.execute_complete({}, {"status": status, "instance": {"status": "FAILURE"}, "log_tail": []})
