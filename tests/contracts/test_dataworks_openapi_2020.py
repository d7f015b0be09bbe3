"""The DataWorks 2020-05-18 actions the hook sends with the Tea client's generic ``call_api`` are the
requests the SDK's typed methods build: the same ``Params`` (action, version, method, style, body
types) and the same query and form body. Every hook method that sends one is called; each request it
sends is rebuilt as the SDK's request model (``from_map`` of the fields sent) and handed to the SDK's
``<action>_with_options``, and the two requests must be equal. A field name the model lacks, a value
of another type, or a different method or placement fails here."""

from __future__ import annotations

import asyncio
import json
import re

import pytest

CONN = {"conn_type": "alibaba_cloud_pai", "login": "ak", "password": "sk",
        "extra": {"region_id": "cn-shanghai", "dataworks_endpoint": "http://127.0.0.1:9",
                  "dataworks_api_version": "2020-05-18"}}
# Each call's answer: enough for the hook to read what it reads.
ANSWERS = {"RunCycleDagNodes": {"Data": [11]}, "RunManualDagNodes": {"DagId": 12},
           "ListInstances": {"Data": {"Instances": [], "TotalCount": 0}}, "ListInstanceHistory": {"Instances": []},
           "ListProjects": {"PageResult": {"TotalCount": 1}}}


def _snake(action: str) -> str:
    return re.sub(r"(?<=[a-z])(?=[A-Z])", "_", action).lower()


@pytest.fixture
def sent(monkeypatch):
    """Every generic call_api call: (params as a map, query, body); answered without a network."""
    from alibabacloud_tea_openapi.client import Client

    calls: list[tuple[dict, dict | None, dict | None]] = []

    def answer(params, request):
        calls.append((params.to_map(), request.query, request.body))
        return {"body": {"Success": True, "Data": {}, **ANSWERS.get(params.action, {})}, "headers": {},
                "statusCode": 200}

    async def answer_async(self, params, request, runtime):
        return answer(params, request)

    monkeypatch.setattr(Client, "call_api", lambda self, params, request, runtime: answer(params, request))
    monkeypatch.setattr(Client, "call_api_async", answer_async)
    monkeypatch.setenv("AIRFLOW_CONN_PAI_DEFAULT", json.dumps(CONN))
    return calls


def drive(hook) -> None:
    hook.run_cycle_dag_nodes(node_id=700001, bizdate="20261101", name="run", node_params={"k": "v"})
    hook.run_manual_dag_nodes(project_name="p", flow_name="f", bizdate="20261101", node_id=7, node_params={"k": "v"},
                              project_id=10001)
    hook.get_node(700001)
    hook.get_dag(5)
    hook.list_instances(project_id=10001, dag_id=5, node_id=7, bizdate="20261101", status="RUNNING")
    hook.get_instance(9)
    hook.get_instance_log(9)
    hook.list_instance_history(9)
    hook.stop_instance(9)
    hook.restart_instance(9)
    assert hook.test_connection()[0]

    async def triggers():
        await hook.get_instance_async(9)
        await hook.get_instance_log_async(9)
        await hook.stop_instance_async(9)

    asyncio.run(triggers())


def test_every_2020_request_is_the_one_the_sdk_builds(sent):
    from alibabacloud_dataworks_public20200518 import models
    from alibabacloud_dataworks_public20200518.client import Client
    from darabonba.runtime import RuntimeOptions

    from airflow_provider_pai.hooks.dataworks import DataWorksHook

    hook = DataWorksHook(sleep=lambda s: None)
    drive(hook)
    ours = list(sent)
    actions = {params["action"] for params, _, _ in ours}
    assert actions == {"RunCycleDagNodes", "RunManualDagNodes", "GetNode", "GetDag", "ListInstances", "GetInstance",
                       "GetInstanceLog", "ListInstanceHistory", "StopInstance", "RestartInstance", "ListProjects"}
    sdk = Client(hook.tea_config("dataworks"))
    for params, query, body in ours:
        action = params["action"]
        request = getattr(models, f"{action}Request")().from_map(dict(query or body or {}))
        for name, value in vars(request).items():
            if value == []:  # from_map fills an absent list with []; the hook sends no empty list
                setattr(request, name, None)
        sent.clear()
        getattr(sdk, f"{_snake(action)}_with_options")(request, RuntimeOptions())
        assert sent == [(params, query, body)], action


def test_a_field_the_sdk_model_lacks_is_caught(sent):
    """The comparison above fails for a request the SDK would not send."""
    from alibabacloud_dataworks_public20200518 import models
    from alibabacloud_dataworks_public20200518.client import Client
    from darabonba.runtime import RuntimeOptions

    from airflow_provider_pai.hooks.dataworks import DataWorksHook

    hook = DataWorksHook(sleep=lambda s: None)
    hook.openapi("GetInstance", {"InstanceId": 9, "ProjectEnv": "PROD", "NoSuchField": 1})
    (params, query, body), = sent
    sent.clear()
    Client(hook.tea_config("dataworks")).get_instance_with_options(
        models.GetInstanceRequest().from_map(body), RuntimeOptions())
    assert sent != [(params, query, body)]


def test_the_hook_imports_no_2020_sdk_module():
    """The point of sending them this way: a task calling DataWorks 2020-05-18 imports no SDK models."""
    from tests.fresh_python import last_line

    code = (
        "import json, os, sys\n"
        f"os.environ['AIRFLOW_CONN_PAI_DEFAULT'] = {json.dumps(json.dumps(CONN))}\n"
        "from alibabacloud_tea_openapi.client import Client\n"
        "Client.call_api = lambda self, p, r, rt: {'body': {'Success': True, 'Data': {'Status': 'RUNNING'}}}\n"
        "from airflow_provider_pai.hooks.dataworks import DataWorksHook\n"
        "assert DataWorksHook().get_instance(9)['Status'] == 'RUNNING'\n"
        "print(sorted(m for m in sys.modules if m.startswith('alibabacloud_dataworks')))\n"
    )
    assert last_line(code) == "[]"
