"""The hooks parse the API references' example responses (tests/fixtures/, see SOURCE.md there).

The real SDK client is used; only its transport (``call_api``) is replaced by the example body, so
what is tested is the SDK model plus the hook's reading of it. Rows F-EAS-2, F-DW-5.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
CONN = {"conn_type": "alibaba_cloud_pai", "login": "ak", "password": "sk",
        "extra": {"region_id": "cn-shanghai", "dataworks_endpoint": "http://127.0.0.1:9",
                  "eas_endpoint": "http://127.0.0.1:9", "oss_endpoint": "http://127.0.0.1:9"}}


def example(service: str, action: str) -> dict:
    return json.loads((FIXTURES / service / f"{action}.json").read_text())


@pytest.fixture(autouse=True)
def connection(monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_PAI_DEFAULT", json.dumps(CONN))


def answering(hook, body: dict):
    """The client the hook's calls go through (its SDK client; DataWorks' Tea OpenAPI client), answering
    every call with ``body``."""
    client = hook.calls_client()
    client.call_api = lambda *args, **kwargs: {"body": body, "headers": {}, "statusCode": 200}
    return hook


def test_eas_describe_service_reads_the_example():
    from airflow_provider_pai.hooks.eas import EasHook

    doc = example("eas", "DescribeService")
    service = answering(EasHook(), doc).describe_service("foo")
    for key in ("Status", "CurrentVersion", "LatestVersion", "ServiceConfig", "InternetEndpoint", "IntranetEndpoint",
                "AccessToken", "Message", "Reason", "RunningInstance", "TotalInstance", "PendingInstance"):
        assert service[key] == doc[key], key
    assert service["Labels"] == doc["Labels"]


def test_eas_describe_service_events_reads_the_example():
    from airflow_provider_pai.hooks.eas import EasHook

    doc = {**example("eas", "DescribeServiceEvent"), "TotalPageNum": 1}  # one page, so one call
    events = answering(EasHook(), doc).describe_service_events("foo")
    assert events == doc["Events"]
    assert events[0]["Time"] == "2022-04-09 06:30:00"


def test_eas_update_service_version_reads_the_example():
    from airflow_provider_pai.hooks.eas import EasHook

    doc = example("eas", "UpdateServiceVersion")
    assert answering(EasHook(), doc).update_service_version("foo", 1)["Message"] == doc["Message"]


def test_dataworks_get_instance_reads_the_example():
    from airflow_provider_pai.hooks.dataworks import DataWorksHook

    doc = example("dataworks", "GetInstance")
    data = answering(DataWorksHook(), doc).get_instance(11713307578)
    assert data == doc["Data"]
    assert (data["Status"], data["TaskType"], data["DagType"]) == ("NOT_RUN", "NORMAL(0)", "DAILY")


def test_dataworks_run_cycle_dag_nodes_reads_the_example():
    from airflow_provider_pai.hooks.dataworks import DataWorksHook

    hook = answering(DataWorksHook(), example("dataworks", "RunCycleDagNodes"))
    assert hook.run_cycle_dag_nodes(node_id=111, bizdate="2026-11-01", name="x") == [111]
