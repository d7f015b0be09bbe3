"""The canary example DAG end to end (`airflow dags test`, real SDKs, the emulator), good and bad candidate.

The traffic split is asserted at each step through `/_emulator/state`: the DAG file under test is
the example as it ships plus probe tasks appended after it, each snapshotting the group's traffic
into XCom (after the canary starts, before its test; and at the end).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from airflow_provider_pai.hooks.eas import EasHook

EXAMPLE = Path(__file__).resolve().parents[2] / "example_dags" / "pai_canary_release.py"
DAG_ID, PROD, CANARY, GROUP = "pai_canary_release", "churn_model", "churn_model_canary", "churn"
BAD = {"node_id": 700002, "output_prefix": "oss://pai-demo/designer/churn_broken/"}

PROBES = '''

# ---- test probes, appended by tests/system/test_canary_example.py --------------------------------
def _traffic(group="churn"):
    import json
    import urllib.request

    from airflow.hooks.base import BaseHook

    url = BaseHook.get_connection("pai_default").extra_dejson["eas_endpoint"]
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(url + "/_emulator/state", timeout=30) as resp:
        return json.loads(resp.read())["eas"]["traffic"][group]


with dag:
    _during = task(task_id="probe_during_canary")(_traffic)()
    _after = task(task_id="probe_after", trigger_rule="all_done")(_traffic)()
dag.get_task("start_canary") >> _during >> dag.get_task("test_canary")
[dag.get_task("promote"), dag.get_task("abort")] >> _after
'''


@pytest.fixture
def canary_dag(airflow_env):
    dest = airflow_env.dags_folder / EXAMPLE.name
    dest.write_text(EXAMPLE.read_text() + PROBES)
    return airflow_env


def run(airflow_env, pai_emulator, conf=None, date="2026-11-20"):
    result = airflow_env.dags_test(DAG_ID, conf=conf or {}, logical_date=date, env=pai_emulator.airflow_env())
    return result.stdout + result.stderr


def test_good_candidate_gets_10_percent_then_all_of_the_traffic(pai_emulator, canary_dag):
    before = EasHook().describe_service(PROD)
    out = run(canary_dag, pai_emulator)
    states = canary_dag.task_states(DAG_ID)
    assert states == {
        "train": "success", "wait_for_training": "success", "export_model": "success", "start_canary": "success",
        "probe_during_canary": "success", "test_canary": "success", "promote": "success", "abort": "skipped",
        "report": "success", "probe_after": "success",
    }, out[-4000:]
    model = canary_dag.xcom(DAG_ID, "export_model")

    during = canary_dag.xcom(DAG_ID, "probe_during_canary")
    assert during["split"] == pytest.approx({PROD: 0.9, CANARY: 0.1})
    assert during["members"] == {PROD: {"state": "grouping", "weight": 90}, CANARY: {"state": "grouping", "weight": 10}}
    started = canary_dag.xcom(DAG_ID, "start_canary")
    assert (started["group"], started["weight"], started["model_path"]) == (GROUP, 10, model)
    assert started["traffic"] == {CANARY: {"traffic_state": "grouping", "weight": 10},
                                  PROD: {"traffic_state": "grouping", "weight": 90}}

    after = canary_dag.xcom(DAG_ID, "probe_after")
    assert after["split"] == {PROD: 1.0}
    assert after["members"][CANARY] == {"state": "standalone", "weight": 0}
    promoted = canary_dag.xcom(DAG_ID, "promote")
    assert (promoted["previous_version"], promoted["version"]) == (before["CurrentVersion"], before["LatestVersion"] + 1)
    service = EasHook().describe_service(PROD)
    assert (service["CurrentVersion"], service["Status"]) == (promoted["version"], "Running")
    assert f'"model_path": "{model}"' in service["ServiceConfig"]
    assert pai_emulator.state()["eas"]["traffic"][GROUP]["split"] == {PROD: 1.0}


def test_bad_candidate_is_aborted_and_production_keeps_everything(pai_emulator, canary_dag):
    before = EasHook().describe_service(PROD)
    out = run(canary_dag, pai_emulator, BAD, date="2026-11-21")
    states = canary_dag.task_states(DAG_ID)
    assert states == {
        "train": "success", "wait_for_training": "success", "export_model": "success", "start_canary": "success",
        "probe_during_canary": "success", "test_canary": "failed", "promote": "upstream_failed",
        "abort": "success", "report": "failed", "probe_after": "success",
    }, out[-4000:]
    assert "cannot tell a churner from a loyal customer" in out

    during = canary_dag.xcom(DAG_ID, "probe_during_canary")
    assert during["split"] == pytest.approx({PROD: 0.9, CANARY: 0.1})  # the bad model did get its 10%
    after = canary_dag.xcom(DAG_ID, "probe_after")
    assert after["split"] == {PROD: 1.0}
    assert after["members"] == {PROD: {"state": "grouping", "weight": 100}, CANARY: {"state": "standalone", "weight": 0}}
    service = EasHook().describe_service(PROD)  # production never moved
    assert (service["CurrentVersion"], service["LatestVersion"]) == (before["CurrentVersion"], before["LatestVersion"])
