"""Shape conformance (issue 15): the emulator's answers use the keys and JSON types of the API
reference pages' example responses (tests/fixtures/, see SOURCE.md there). Rows F-EAS-2, F-DW-5.

Each key the emulator sends must appear in the example with the same JSON type (it invents and
mistypes nothing); the keys the provider reads must appear in both.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.emulator import emulator_clients

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def example(service: str, action: str) -> dict:
    return json.loads((FIXTURES / service / f"{action}.json").read_text())


def _type(value) -> str:
    return {bool: "boolean", int: "number", float: "number", str: "string", list: "array",
            dict: "object"}.get(type(value), type(value).__name__)


def shape_errors(ours, doc, path: str = "$") -> list[str]:
    if isinstance(doc, dict) and isinstance(ours, dict):
        errors = []
        for key, value in ours.items():
            if value is None:
                continue  # absent in effect: the SDK reads a missing key and null alike
            if key not in doc:
                errors.append(f"{path}.{key} is not in the reference example")
            else:
                errors += shape_errors(value, doc[key], f"{path}.{key}")
        return errors
    if isinstance(doc, list) and isinstance(ours, list):
        return [e for item in (ours if doc else []) for e in shape_errors(item, doc[0], f"{path}[]")]
    if _type(ours) != _type(doc):
        return [f"{path}: emulator sends {_type(ours)} {ours!r}, the reference {_type(doc)} {doc!r}"]
    return []


def assert_shape(ours, doc, path: str = "$") -> None:
    errors = shape_errors(ours, doc, path)
    assert not errors, "\n".join(errors)


def assert_has(body: dict, doc: dict, keys: list[str]) -> None:
    for key in keys:
        assert key in doc, f"the reference example lacks {key}"
        assert key in body and body[key] is not None, f"the emulator's answer lacks {key}"


def raw(client, call) -> dict:
    """The JSON body the server sent, before the SDK's models drop or convert anything."""
    seen = {}
    original = client.call_api

    def capture(*args, **kwargs):
        response = original(*args, **kwargs)
        seen["body"] = response["body"]
        return response

    client.call_api = capture
    try:
        call(client)
    finally:
        client.call_api = original
    return seen["body"]


def eas_models():
    from alibabacloud_eas20210701 import models

    return models


REGION, SVC = "cn-shanghai", "churn_model"
EAS_CASES = {
    "DescribeService": (lambda c: c.describe_service(REGION, SVC),
                        ["Status", "CurrentVersion", "LatestVersion", "ServiceConfig", "InternetEndpoint",
                         "IntranetEndpoint", "AccessToken", "Message", "Reason", "RunningInstance", "TotalInstance"]),
    "ListServices": (lambda c: c.list_services(eas_models().ListServicesRequest()), ["Services", "TotalCount"]),
    "ListServiceVersions": (lambda c: c.list_service_versions(REGION, SVC, eas_models().ListServiceVersionsRequest()),
                            ["Versions", "TotalCount"]),
    "DescribeServiceEvent": (lambda c: c.describe_service_event(REGION, SVC,
                                                                eas_models().DescribeServiceEventRequest()),
                             ["Events", "TotalPageNum", "PageNum"]),
    "ListServiceInstances": (lambda c: c.list_service_instances(REGION, SVC,
                                                                eas_models().ListServiceInstancesRequest()),
                             ["Instances", "TotalCount"]),
    "UpdateService": (lambda c: c.update_service(REGION, SVC, eas_models().UpdateServiceRequest(
        body=json.dumps({"metadata": {"instance": 2}}))), ["Message"]),
    "CreateService": (lambda c: c.create_service(eas_models().CreateServiceRequest(body=json.dumps(
        {"name": "shape_svc", "model_path": "oss://pai-demo/models/churn/initial/", "processor": "json_linear"}))),
        ["ServiceName", "Status", "InternetEndpoint"]),
}


@pytest.mark.parametrize("action", sorted(EAS_CASES))
def test_eas_answers_have_the_reference_shape(pai_emulator, action):
    call, read = EAS_CASES[action]
    body = raw(emulator_clients.eas(pai_emulator), call)
    doc = example("eas", action)
    assert_shape(body, doc)
    assert_has(body, doc, read)
    item_keys = {"Services": ["ServiceName", "Status"], "Versions": ["BuildTime", "ServiceConfig"],
                 "Events": ["Type", "Reason", "Message", "Time"],
                 "Instances": ["Status", "ReadyProcesses", "TotalProcesses", "RestartCount", "Reason"]}
    for list_key, keys in item_keys.items():
        if list_key in read:
            assert body[list_key], f"{action}: the emulator listed no {list_key}"
            assert_has(body[list_key][0], doc[list_key][0], keys)


def test_eas_update_service_version_answer_has_the_reference_shape(pai_emulator):
    client = emulator_clients.eas(pai_emulator)
    models = eas_models()
    client.update_service(REGION, SVC, models.UpdateServiceRequest(
        body=json.dumps({"model_path": "oss://pai-demo/models/churn/initial/model.json"})))
    body = raw(client, lambda c: c.update_service_version(REGION, SVC, models.UpdateServiceVersionRequest(version=1)))
    doc = example("eas", "UpdateServiceVersion")
    assert_shape(body, doc)
    assert_has(body, doc, ["Message", "RequestId"])


def dw_models():
    from alibabacloud_dataworks_public20200518 import models

    return models


def test_dataworks_answers_have_the_reference_shape(pai_emulator):
    client = emulator_clients.dataworks(pai_emulator)
    m = dw_models()
    run = raw(client, lambda c: c.run_cycle_dag_nodes(m.RunCycleDagNodesRequest(
        name="shape", root_node_id=700001, include_node_ids="700001", start_biz_date="2026-11-01 00:00:00",
        end_biz_date="2026-11-01 00:00:00", parallelism=False, project_env="PROD")))
    assert_shape(run, example("dataworks", "RunCycleDagNodes"))
    dag_id = run["Data"][0]
    pai_emulator.advance_clock(3600)
    answers = {
        "GetDag": raw(client, lambda c: c.get_dag(m.GetDagRequest(dag_id=dag_id, project_env="PROD"))),
        "ListInstances": raw(client, lambda c: c.list_instances(m.ListInstancesRequest(
            project_id=10001, project_env="PROD", dag_id=dag_id))),
        "GetNode": raw(client, lambda c: c.get_node(m.GetNodeRequest(node_id=700001, project_env="PROD"))),
    }
    instance_id = answers["ListInstances"]["Data"]["Instances"][0]["InstanceId"]
    answers["GetInstance"] = raw(client, lambda c: c.get_instance(m.GetInstanceRequest(
        instance_id=instance_id, project_env="PROD")))
    answers["ListInstanceHistory"] = raw(client, lambda c: c.list_instance_history(m.ListInstanceHistoryRequest(
        instance_id=instance_id, project_env="PROD")))
    errors = [e for action, body in answers.items() for e in shape_errors(body, example("dataworks", action), action)]
    assert not errors, "\n".join(errors)
    get = answers["GetInstance"]["Data"]
    assert_has(get, example("dataworks", "GetInstance")["Data"],
               ["Status", "DagType", "TaskType", "DagId", "NodeId", "BeginRunningTime", "FinishTime"])
    assert_has(answers["GetNode"]["Data"], example("dataworks", "GetNode")["Data"],
               ["NodeId", "NodeName", "ProgramType", "FileType"])
