"""Issue 27 item 1, on the multi-process Airflow 3 stack (api-server, scheduler, triggerer,
dag-processor in processes of their own): the connection is edited while an EAS wait and a
DataWorks wait are deferred, and the endpoint it used to name now answers for other state.

The connection first names a relay that forwards to the emulator holding the runs' state. Both
waits defer through it. Then the connection is edited, as in the UI, to name the emulator directly,
and the relay is pointed at a second emulator (a stale endpoint: no such DataWorks instance, and
its service ``churn_model_b`` is at version 5). A trigger that kept its old client would read
"instance not found" and "superseded: version 5 was deployed after version 2", fail both tasks and
roll the service back. The triggers must notice the edit and finish both runs, with no rollback.
"""

from __future__ import annotations

import copy
import json
import re
import time
from urllib.parse import urlparse

import pytest

from airflow_provider_pai.emulator.process import EmulatorProcess
from airflow_provider_pai.version_compat import AIRFLOW_V_3_3_PLUS
from tests.reliability.conftest import mutating_calls, reliability_scenario
from tests.ui.conftest import take_premigrated_cluster
from tests.ui.relay import Relay
from tests.ui.stack import CONN_ID, DAG_ID, UiStack

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not AIRFLOW_V_3_3_PLUS, reason="the multi-process stack is Airflow 3.3's (REST API v2); "
                       "the connection re-read itself is covered on both legs in tests/unit/hooks/test_connection_refresh.py"),
]

LONG_NODE, SHORT_NODE = 700001, 700005
LONG_S = 600


def edit_scenario() -> dict:
    scenario = copy.deepcopy(reliability_scenario())
    nodes = scenario["dataworks"]["projects"][0]["nodes"]
    good = next(node for node in nodes if node["node_id"] == LONG_NODE)
    for node in nodes:
        node["run_seconds"] = 12  # not 2-5 s: see docs/reliability.md (scheduler race)
    good["run_seconds"] = LONG_S  # deferred until the test moves the clock
    nodes.append({**copy.deepcopy(good), "node_id": SHORT_NODE, "node_name": "train_churn_model_quick",
                  "run_seconds": 12})
    service = scenario["eas"]["services"][0]
    service["start_seconds"] = 12
    # The second run's deploy stays deferred until the test moves the clock.
    scenario["eas"]["services"].append({**service, "name": "churn_model_b", "start_seconds": LONG_S})
    return scenario


def connection_to(stack: UiStack, url: str) -> dict:
    body = stack.connection()
    extra = json.loads(body["extra"])
    extra.update(dataworks_endpoint=url, eas_endpoint=url, oss_endpoint=url)
    return {**body, "extra": json.dumps(extra)}


def bump_versions(emu: EmulatorProcess, service: str, times: int, monkeypatch) -> int:
    """Deploy ``times`` new versions of ``service`` on ``emu`` (someone else's account); its LatestVersion."""
    from airflow_provider_pai.hooks.eas import EasHook

    monkeypatch.setenv("AIRFLOW_CONN_PAI_STALE", emu.connection_json())
    hook = EasHook(pai_conn_id="pai_stale")
    for n in range(times):
        hook.update_service(service, {"metadata": {"instance": 1}, "name": service,
                                      "model_path": f"oss://pai-demo/models/churn/other-{n}/"})
    return hook.describe_service(service)["LatestVersion"]


def test_waits_deferred_through_an_edited_connection_reach_no_wrong_conclusion(tmp_path, monkeypatch):
    scenario = edit_scenario()
    with UiStack(tmp_path / "stack", scenario=scenario, cluster=take_premigrated_cluster(), max_active_runs=2) as ui, \
            EmulatorProcess(scenario, data_dir=tmp_path / "stale") as stale:
        af, emu = ui.af, ui.emu
        assert bump_versions(stale, "churn_model_b", 4, monkeypatch) == 5
        stale.advance_clock(LONG_S + 60)  # there, version 5 is Running
        stale.reset_calls()
        emu_addr = (urlparse(emu.url).hostname, urlparse(emu.url).port)
        relay = Relay(emu_addr).start()
        try:
            af.api("PATCH", f"/connections/{CONN_ID}", connection_to(ui, relay.url))
            runs = {
                "deploy": af.trigger(DAG_ID, logical_date="2026-11-05T00:00:00Z",
                                     conf={"node_id": SHORT_NODE, "service_name": "churn_model_b"}),
                "train": af.trigger(DAG_ID, logical_date="2026-11-06T00:00:00Z", conf={"node_id": LONG_NODE}),
            }
            af.wait_for_task_state(DAG_ID, runs["deploy"], "deploy", ("deferred",), timeout=400)
            af.wait_for_task_state(DAG_ID, runs["train"], "wait_for_training", ("deferred",), timeout=400)
            time.sleep(15)  # both triggers have polled through the relay
            through_relay = relay.accepted
            assert through_relay > 0

            # The edit, as the form's Save does it; then the old endpoint answers for other state.
            af.api("PATCH", f"/connections/{CONN_ID}", ui.connection())
            relay.retarget((urlparse(stale.url).hostname, urlparse(stale.url).port))
            time.sleep(75)  # past one re-read interval (60 s): the triggers poll meanwhile
            emu.advance_clock(LONG_S + 60)  # the training and the slow rollout end now
            states = {name: af.wait_for_run(DAG_ID, run_id, timeout=600) for name, run_id in runs.items()}

            tasks = {name: {t: ti["state"] for t, ti in af.task_instances(DAG_ID, run_id).items()}
                     for name, run_id in runs.items()}
            assert states == {"deploy": "success", "train": "success"}, (tasks, af.output_tail())
            for name in runs:
                assert tasks[name]["rollback"] == "skipped", tasks[name]
            # No rollback anywhere: the stale endpoint was only read, and the emulator saw the deploys only.
            assert mutating_calls(stale.calls()) == {}, stale.calls()
            assert emu.calls()["eas"].get("UpdateServiceVersion", 0) == 0, emu.calls()["eas"]
            for name, task in (("deploy", "deploy"), ("train", "wait_for_training")):
                log = af.task_log(DAG_ID, runs[name], task)
                assert re.search(r"Connection 'pai_default' was edited \([^)]*extra \w+_endpoint", log), log[-3000:]
                assert "Trigger fired event" in log and "'status': 'success'" in log, log[-3000:]
        finally:
            relay.stop()
