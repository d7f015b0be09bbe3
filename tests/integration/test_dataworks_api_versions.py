"""DataWorksHook's API-neutral calls against the emulator, on a legacy and a new-Data-Studio workspace.

``auto`` must pick 2020-05-18 for the legacy workspace and 2024-05-18 for the new one from what the
real SDKs get back; forcing a version skips the probes. Clock moves through the control API.
"""

from __future__ import annotations

import datetime
import json
import logging

import pytest

from airflow_provider_pai.emulator.process import CONN_ENV
from airflow_provider_pai.hooks.base import PaiApiError
from airflow_provider_pai.hooks.dataworks import DataWorksHook

AK, SK = "emulator-ak", "emulator-secret"
LEGACY, NEW = 10001, 20001
YESTERDAY = datetime.date.today() - datetime.timedelta(days=1)
WORKSPACES = {  # project -> (node id as the user gives it, its scheduled task id)
    "legacy": (LEGACY, 700001, 700001),
    "new": (NEW, 900001, 910001),
}
SCENARIO = {
    "region_id": "cn-shanghai",
    "credentials": [{"access_key_id": AK, "access_key_secret": SK}],
    "dataworks": {"projects": [
        {"project_id": LEGACY, "project_name": "legacy_ws", "nodes": [
            {"node_id": 700001, "node_name": "train", "run_seconds": 60, "log": ["a", "b", "AUC 0.9"],
             "history": [{"bizdate": str(YESTERDAY - datetime.timedelta(days=3)), "run_seconds": 3000}]},
            {"node_id": 700003, "node_name": "sql", "program_type": "ODPS_SQL"},
        ]},
        {"project_id": NEW, "project_name": "new_ws", "data_studio": "new", "nodes": [
            {"node_id": 900001, "task_id": 910001, "node_name": "train_new", "run_seconds": 60,
             "log": ["a", "b", "AUC 0.9"]},
            {"node_id": 900003, "node_name": "sql_new", "program_type": "ODPS_SQL"},
            {"node_id": 900004, "node_name": "draft_new", "deployed": False},  # never deployed: no TaskId
            {"node_id": 900005, "task_id": 915005, "node_name": "manual_new", "workflow_id": 920000,
             "scheduler_type": "MANUAL", "run_seconds": 60},
            {"node_id": 900006, "task_id": 916006, "node_name": "skip_cal", "task_type": "SKIP_CALENDAR"},
            {"node_id": 900007, "task_id": 917007, "node_name": "pause_cal", "task_type": "PAUSE_CALENDAR"},
        ]},
        {"project_id": 10002, "project_name": "basic_ws", "edition": "basic",
         "nodes": [{"node_id": 800001, "node_name": "train_basic"}]},
    ]},
}


@pytest.fixture
def pai_emulator_scenario():
    return SCENARIO


def logged_hook() -> DataWorksHook:
    hook = DataWorksHook()
    hook._log = logging.getLogger("test.pai.dw_api")  # a plain logger caplog can see
    return hook


def use_api(monkeypatch, emu, version):
    extra = {**emu.connection_extra, "dataworks_api_version": version}
    monkeypatch.setenv(CONN_ENV, json.dumps({"conn_type": "alibaba_cloud_pai", "login": AK, "password": SK,
                                             "extra": extra}))


def dw_calls(emu) -> dict:
    return dict(emu.calls().get("dataworks") or {})


def started_instance(emu, hook, project_id, node_id, name="airflow_it"):
    run = hook.start_run(project_id=project_id, node_id=node_id, bizdate=YESTERDAY, name=name)
    for _ in range(30):
        found = hook.find_run_instance(run, project_id=project_id, node_id=node_id, bizdate=YESTERDAY)
        if found:
            return run, found
        emu.advance_clock(0.5)
    raise AssertionError(f"no instance for {run}")


@pytest.mark.parametrize("kind", ["legacy", "new"])
def test_auto_picks_the_api_and_a_run_is_followed_to_its_end(pai_emulator, kind, caplog):
    project_id, node_id, task_id = WORKSPACES[kind]
    hook = logged_hook()
    with caplog.at_level(logging.INFO, logger="test.pai.dw_api"):
        node = hook.describe_node(node_id, project_id=project_id)
    expected = "2020-05-18" if kind == "legacy" else "2024-05-18"
    assert node["ApiVersion"] == expected and node["TaskId"] == task_id and node["ProgramType"] == "PAI_STUDIO"
    assert f"DataWorks OpenAPI {expected} for workspace {project_id}" in caplog.text

    run, found = started_instance(pai_emulator, hook, project_id, node_id)
    assert run["api_version"] == expected and found["dag_id"] and found["instance_id"]
    again = hook.find_run_by_name(project_id=project_id, node_id=node_id, bizdate=YESTERDAY, name="airflow_it")
    assert again["instance_id"] == found["instance_id"] and again["dag_id"] == found["dag_id"]
    assert hook.find_run_by_name(project_id=project_id, node_id=node_id, bizdate=YESTERDAY, name="airflow") is None

    pai_emulator.advance_clock(3600)
    inst = hook.get_run_instance(found["instance_id"], api_version=run["api_version"])
    assert inst["Status"] == "SUCCESS" and inst["NodeId"] == task_id and inst["DagId"] == found["dag_id"]
    assert inst["BeginRunningTime"] < inst["FinishTime"]
    log = hook.get_run_log(found["instance_id"], api_version=run["api_version"])
    assert "AUC 0.9" in log.splitlines()[-2]
    history = hook.successful_runs(project_id=project_id, node_id=node_id, bizdate=YESTERDAY)
    assert found["instance_id"] in [h["InstanceId"] for h in history]


def test_the_choice_is_made_once_per_workspace_and_hook(pai_emulator):
    hook = DataWorksHook()
    hook.describe_node(900001, project_id=NEW)
    before = dw_calls(pai_emulator)
    assert hook.api_version(project_id=NEW) == "2024-05-18"
    hook.describe_node(900001, project_id=NEW)
    assert dw_calls(pai_emulator) == before  # neither probed again nor asked for the node twice


def test_a_new_workspace_costs_one_probe_and_a_legacy_one_two(pai_emulator):
    DataWorksHook().describe_node(900001, project_id=NEW)
    assert dw_calls(pai_emulator) == {"GetNode": 1}
    pai_emulator.reset_calls()
    DataWorksHook().describe_node(700001, project_id=LEGACY)
    assert dw_calls(pai_emulator) == {"GetNode": 2}  # 2024 Data Studio GetNode (absent), 2020 GetNode


def test_a_task_id_of_a_new_workspace_is_found_through_get_task(pai_emulator):
    node = DataWorksHook().describe_node(910001, project_id=NEW)
    assert node["ApiVersion"] == "2024-05-18" and node["TaskId"] == 910001 and node["NodeName"] == "train_new"


def test_forcing_2024_skips_the_probes_and_drives_a_legacy_workspace(pai_emulator, monkeypatch):
    use_api(monkeypatch, pai_emulator, "2024-05-18")
    hook = DataWorksHook()
    _, found = started_instance(pai_emulator, hook, LEGACY, 700001)
    assert hook.get_run_instance(found["instance_id"])["ApiVersion"] == "2024-05-18"
    assert "RunCycleDagNodes" not in dw_calls(pai_emulator)


def test_forcing_2020_on_a_new_workspace_fails_with_the_fix_in_the_message(pai_emulator, monkeypatch):
    use_api(monkeypatch, pai_emulator, "2020-05-18")
    with pytest.raises(PaiApiError, match="new Data Studio.*2024-05-18") as info:
        DataWorksHook().describe_node(900001, project_id=NEW)
    # the hint names the extra to change, its value now, and the values that fit
    assert "extra dataworks_api_version (now '2020-05-18') to 2024-05-18" in str(info.value)


def test_an_invalid_setting_names_the_extra_and_the_choices(pai_emulator, monkeypatch):
    use_api(monkeypatch, pai_emulator, "2023")
    with pytest.raises(Exception, match="extra dataworks_api_version is '2023'; valid: auto, 2020-05-18, 2024-05-18"):
        DataWorksHook().describe_node(900001, project_id=NEW)
    assert dw_calls(pai_emulator) == {}


def test_an_unknown_node_is_unclear_evidence_and_falls_back_to_2020_with_a_reason(pai_emulator, caplog):
    hook = logged_hook()
    with caplog.at_level(logging.INFO, logger="test.pai.dw_api"):
        assert hook.api_version(project_id=NEW, node_id=123) == "2020-05-18"
    assert "evidence is unclear" in caplog.text and "dataworks_api_version" in caplog.text


def test_stop_and_instance_probe_on_both(pai_emulator):
    hook = DataWorksHook()
    for project_id, node_id in ((LEGACY, 700001), (NEW, 900001)):
        run, found = started_instance(pai_emulator, hook, project_id, node_id, name=f"stop_{project_id}")
        pai_emulator.advance_clock(10)
        # a fresh hook that knows only the instance id probes by instance
        assert DataWorksHook().stop_run_instance(found["instance_id"]) is True
        pai_emulator.advance_clock(1)
        assert hook.get_run_instance(found["instance_id"], api_version=run["api_version"])["Status"] == "FAILURE"
    # 2024-05-18 answers HTTP 200 with a per-id failure: the hook reports it instead of claiming success
    assert hook.stop_run_instance(found["instance_id"], api_version="2024-05-18") is False


async def test_async_calls_on_a_new_workspace(pai_emulator):
    hook = DataWorksHook()
    run, found = started_instance(pai_emulator, hook, NEW, 900001)
    pai_emulator.advance_clock(3600)
    inst = await hook.get_run_instance_async(found["instance_id"], api_version="2024-05-18")
    assert inst["Status"] == "SUCCESS" and inst["TaskInstanceId"] == found["instance_id"]
    assert "AUC 0.9" in await DataWorksHook().get_run_log_async(found["instance_id"])


def test_a_throttled_2024_create_is_retried_after_checking_it_did_not_take_effect(pai_emulator):
    hook = DataWorksHook(sleep=lambda s: None)
    hook.describe_node(900001, project_id=NEW)
    pai_emulator.fault(service="dataworks", action="CreateWorkflowInstances", kind="throttle", count=1)
    pai_emulator.reset_calls()
    _, found = started_instance(pai_emulator, hook, NEW, 900001, name="throttled_once")
    calls = dw_calls(pai_emulator)
    assert calls["CreateWorkflowInstances"] == 2 and calls["ListWorkflowInstances"] == 1  # looked before resending
    runs = [d for d in pai_emulator.state()["dataworks"]["dags"].values() if d["name"] == "throttled_once"]
    assert len(runs) == 1 and runs[0]["dag_id"] == found["dag_id"]


def _started(emu, hook, project_id, node_id, bizdate, **kwargs):
    run = hook.start_run(project_id=project_id, node_id=node_id, bizdate=bizdate, name=f"now_{node_id}", **kwargs)
    for _ in range(30):
        found = hook.find_run_instance(run, project_id=project_id, node_id=node_id, bizdate=bizdate)
        if found:
            return run, found
        emu.advance_clock(0.5)
    raise AssertionError(f"no instance for {run}")


@pytest.mark.parametrize("kind", ["legacy", "new"])
def test_the_providers_runs_start_now_for_a_business_date_whose_run_time_is_ahead(pai_emulator, kind):
    """Today's run time (tomorrow 00:00 UTC+8) is ahead: the emulator holds such a run unless asked to start
    it at once (tests/emulator); the provider asks (StartFutureInstanceImmediately / RunPolicy.Immediately)."""
    project_id, node_id, _ = WORKSPACES[kind]
    hook = DataWorksHook()
    run, found = _started(pai_emulator, hook, project_id, node_id, datetime.date.today() + datetime.timedelta(days=1))
    pai_emulator.advance_clock(15)
    assert hook.runs(run["api_version"]).get_instance(found["instance_id"])["Status"] == "RUNNING"


def test_a_data_studio_node_not_deployed_is_refused_before_any_run(pai_emulator):
    with pytest.raises(Exception, match="node 900004 .*not deployed.*TaskId is empty.*Deploy the node"):
        DataWorksHook().start_run(project_id=NEW, node_id=900004, bizdate=YESTERDAY, name="draft")
    assert "CreateWorkflowInstances" not in dw_calls(pai_emulator)


def test_a_basic_edition_workspace_is_told_runcycledagnodes_needs_enterprise(pai_emulator):
    with pytest.raises(PaiApiError, match="Forbidden.Access.*Enterprise edition or higher") as info:
        DataWorksHook().start_run(project_id=10002, node_id=800001, bizdate=YESTERDAY, name="basic")
    assert info.value.status_code == 403 and dw_calls(pai_emulator)["RunCycleDagNodes"] == 1  # not retried


def test_manual_run_mode_on_2024_runs_the_tasks_manual_workflow(pai_emulator):
    hook = DataWorksHook()
    run, found = _started(pai_emulator, hook, NEW, 900005, YESTERDAY, run_mode="manual")
    assert run["api_version"] == "2024-05-18"
    inst = hook.runs("2024-05-18").get_instance(found["instance_id"])
    assert inst["TaskId"] == 915005 and inst["DagType"] == "MANUAL"
    assert dw_calls(pai_emulator)["CreateWorkflowInstances"] == 1


def test_calendar_skip_reads_as_a_skip_and_calendar_pause_is_named(pai_emulator):
    from airflow_provider_pai.utils.dataworks import end_note, instance_summary

    hook = DataWorksHook()
    _, skip = _started(pai_emulator, hook, NEW, 900006, YESTERDAY)
    _, pause = _started(pai_emulator, hook, NEW, 900007, YESTERDAY)
    pai_emulator.advance_clock(30)
    runs = hook.runs("2024-05-18")
    skipped, paused = runs.get_instance(skip["instance_id"]), runs.get_instance(pause["instance_id"])
    assert skipped["Status"] == "SUCCESS" and instance_summary(skipped, "PROD")["skipped"] is True
    assert "SKIPPED (TaskType SKIP_CALENDAR)" in end_note(skipped)
    assert paused["Status"] == "FAILURE" and "PAUSED BY THE SCHEDULING CALENDAR" in end_note(paused)


def test_an_auto_probe_that_gets_a_5xx_says_so_at_once(pai_emulator):
    pai_emulator.fault(service="dataworks", action="GetNode", kind="error", count=20)
    with pytest.raises(Exception, match="probe 2024-05-18 GetNode got no answer.*dataworks_api_version"):
        DataWorksHook().api_version(project_id=NEW, node_id=900001)
    # a few attempts (seconds), not the policy's eight over two minutes
    assert dw_calls(pai_emulator)["GetNode"] == DataWorksHook.probe_server_error_attempts == 5
