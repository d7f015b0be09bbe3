"""Recorded at runtime: the hooks drive the emulator through the real SDKs while every SDK request
model that is serialised is recorded with the fields actually set; each must be in the spec
(hooks/request_fields.py) and each field set must be in its ``sent`` list. This catches a field the
hook sets that the spec calls omitted, which reading the source cannot."""

from __future__ import annotations

import datetime
import threading
from contextlib import contextmanager

import pytest

from airflow_provider_pai.hooks.errors import PaiApiError
from airflow_provider_pai.hooks.request_fields import CALL_API, REQUESTS, generic_key

SDK_MODELS = ("alibabacloud_dataworks_public20200518.models", "alibabacloud_dataworks_public20240518.models",
              "alibabacloud_eas20210701.models", "alibabacloud_aiworkspace20210204.models")
# The SDKs drive_every_hook_call exercises; a new SDK's requests are checked once its calls are added there.
DRIVEN = SDK_MODELS
YESTERDAY = (datetime.date.today() - datetime.timedelta(days=1)).strftime("%Y%m%d")


def _paths(value, prefix="") -> set[str]:
    """Dotted paths of the non-empty fields of a to_map() answer (``[]`` = each item of a list)."""
    paths: set[str] = set()
    for key, item in value.items():
        path = f"{prefix}{key}"
        if item is None or item == [] or item == {}:
            continue
        paths.add(path)
        # free-form maps (node parameters, labels, a registry version's InferenceSpec/Metrics) are one field
        if isinstance(item, dict) and not key.endswith(("Parameters", "Mappings", "Labels", "Spec", "Metrics")):
            paths |= _paths(item, f"{path}.")
        elif isinstance(item, list) and item and all(isinstance(i, dict) for i in item):
            for one in item:
                paths |= _paths(one, f"{path}[].")
    return paths


CLIENTS = ("alibabacloud_dataworks_public20200518.client", "alibabacloud_dataworks_public20240518.client",
           "alibabacloud_eas20210701.client", "alibabacloud_aiworkspace20210204.client")


@contextmanager
def recording():
    """Wrap every ``*_with_options`` method of the SDK clients (each call the hooks make goes
    through one) and record the request model it is handed, with the fields set on it."""
    import importlib

    seen: dict[str, set[str]] = {}
    patched: list[tuple[type, str, object]] = []
    typed = threading.local()  # inside a typed *_with_options call, whose call_api is not generic

    def record_generic(params, request):
        if not getattr(typed, "depth", 0):  # the hook's own call_api: keyed by action, fields = query + body
            fields = {*(request.query or {}), *(request.body or {})} if isinstance(request.body or {}, dict) \
                else set(request.query or {})
            seen.setdefault(generic_key(params.action, params.version), set()).update(fields)

    def record(args, kwargs):
        for value in list(args) + list(kwargs.values()):
            cls = type(value)
            module = cls.__module__.rsplit(".", 1)[0] if "._" in cls.__module__ else cls.__module__
            if module in SDK_MODELS and cls.__name__.endswith("Request"):
                seen.setdefault(f"{module}:{cls.__name__}", set()).update(_paths(value.to_map()))

    def wrap(original, is_async):
        if is_async:
            async def method(self, *args, **kwargs):
                record(args, kwargs)
                typed.depth = getattr(typed, "depth", 0) + 1
                try:
                    return await original(self, *args, **kwargs)
                finally:
                    typed.depth -= 1
        else:
            def method(self, *args, **kwargs):
                record(args, kwargs)
                typed.depth = getattr(typed, "depth", 0) + 1
                try:
                    return original(self, *args, **kwargs)
                finally:
                    typed.depth -= 1
        return method

    def wrap_generic(original):
        def method(self, params, request, runtime):
            record_generic(params, request)
            return original(self, params, request, runtime)
        return method

    def wrap_generic_async(original):
        async def method(self, params, request, runtime):
            record_generic(params, request)
            return await original(self, params, request, runtime)
        return method

    from alibabacloud_tea_openapi.client import Client as OpenApiClient

    patched.append((OpenApiClient, "call_api", OpenApiClient.call_api))
    OpenApiClient.call_api = wrap_generic(OpenApiClient.call_api)
    patched.append((OpenApiClient, "call_api_async", OpenApiClient.call_api_async))
    OpenApiClient.call_api_async = wrap_generic_async(OpenApiClient.call_api_async)

    for module_name in CLIENTS:
        client = importlib.import_module(module_name).Client
        for name in dir(client):
            if name.endswith(("_with_options", "_with_options_async")):
                original = getattr(client, name)
                patched.append((client, name, original))
                setattr(client, name, wrap(original, name.endswith("_async")))
    try:
        yield seen
    finally:
        for client, name, original in patched:
            setattr(client, name, original)


def attempt(fn):
    """The request is built and sent whatever the emulator answers; a refusal is not this test's concern."""
    try:
        return fn()
    except PaiApiError:
        return None


def drive_every_hook_call(emu) -> None:
    from airflow_provider_pai.hooks.dataworks import DataWorksHook
    from airflow_provider_pai.hooks.eas import EasHook

    dw = DataWorksHook(sleep=lambda s: None)
    dw.test_connection()
    dw.get_node(700001)
    dag_ids = dw.run_cycle_dag_nodes(node_id=700001, bizdate=YESTERDAY, name="fields_recorded",
                                     node_params={"k": "v"})
    attempt(lambda: dw.run_manual_dag_nodes(project_name="demo", flow_name="no_such_flow", bizdate=YESTERDAY,
                                            node_id=700001, node_params={"k": "v"}, project_id=10001))
    dw.get_dag(dag_ids[0])
    emu.advance_clock(5)
    rows = dw.list_instances(project_id=10001, dag_id=dag_ids[0], node_id=700001, bizdate=YESTERDAY,
                             status="RUNNING")
    rows = rows or dw.list_instances(project_id=10001, dag_id=dag_ids[0])
    instance = rows[0]["InstanceId"]
    dw.get_instance(instance)
    dw.get_instance_log(instance)
    attempt(lambda: dw.list_instance_history(instance))
    attempt(lambda: dw.stop_instance(instance))
    attempt(lambda: dw.restart_instance(instance))

    dw24 = DataWorksHook(sleep=lambda s: None)
    dw24.use_api_version("2024-05-18", project_id=20001)
    attempt(lambda: dw24.get_data_studio_node(900001, 20001))
    task_id = dw24.describe_node(900001, project_id=20001)["TaskId"]
    attempt(lambda: dw24.get_task(task_id))
    run = dw24.start_run(project_id=20001, node_id=900001, bizdate=YESTERDAY, name="fields_recorded_24",
                         node_params={"k": "v"})
    found = None
    for _ in range(20):
        found = dw24.find_run_instance(run, project_id=20001, node_id=900001, bizdate=YESTERDAY)
        if found:
            break
        emu.advance_clock(1)
    assert found, "the 2024-05-18 run never showed its task instance"
    dw24.list_task_instances(project_id=20001, bizdate=YESTERDAY, task_id=task_id, status="Running")
    dw24.find_run_by_name(project_id=20001, node_id=900001, bizdate=YESTERDAY, name="fields_recorded_24")
    dw24.get_task_instance(found["instance_id"])
    dw24.get_task_instance_log(found["instance_id"], run_number=1)
    attempt(lambda: dw24.stop_task_instances([found["instance_id"]]))
    attempt(lambda: dw24.rerun_task_instances([found["instance_id"]]))

    eas = EasHook(sleep=lambda s: None)
    eas.test_connection()
    eas.list_services(group_name="churn")
    eas.describe_service("churn_model")
    eas.list_service_versions("churn_model")
    eas.describe_service_events("churn_model", event_type="Warning")
    eas.list_service_instances("churn_model")
    attempt(lambda: eas.update_service("churn_model", {"metadata": {"instance": 1}}, update_type="merge"))
    attempt(lambda: eas.update_service_version("churn_model", 1))
    attempt(lambda: eas.create_service({"name": "fields_recorded", "model_path": "oss://pai-demo/models/churn/initial/",
                                        "processor": "pmml", "metadata": {"instance": 1}}))
    attempt(lambda: eas.release_service("churn_model", weight=100, traffic_state="grouping"))
    eas.describe_group("churn")
    eas.update_group_traffic_mode("churn", "customized")  # the demo group's mode already: nothing changes

    from airflow_provider_pai.hooks.aiworkspace import AiWorkspaceHook

    aiw = AiWorkspaceHook(sleep=lambda s: None)
    workspace = "86001"  # the demo scenario's workspace
    model_id = aiw.create_model(workspace, "fields_recorded", description="recorded")
    assert aiw.find_model(workspace, "fields_recorded")["ModelId"] == model_id
    aiw.get_model(model_id)
    name = aiw.create_model_version(
        model_id, uri="oss://pai-demo.oss-cn-shanghai.aliyuncs.com/models/churn/initial/", version_name="1.0.0",
        inference_spec={"processor": "pmml"}, metrics={"auc": 0.9}, labels={"airflow-run": "fields/recorded"},
        source_type="Custom", source_id="fields", format_type="PMML", framework_type="Alink", description="d")
    aiw.list_model_versions(model_id, label="fields/recorded", version_name=name)
    aiw.update_approval(model_id, name, "Approved")
    aiw.latest_version(model_id, approval_status="Approved")
    aiw.get_model_version(model_id, name)


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    from airflow_provider_pai.emulator.pytest_plugin import emulator_as_pai_default
    from airflow_provider_pai.emulator.scenario import DEMO_SCENARIO, load_scenario

    with emulator_as_pai_default(load_scenario(DEMO_SCENARIO), tmp_path_factory.mktemp("fields-emu")) as emu, \
            recording() as seen:
        drive_every_hook_call(emu)
    return seen


def test_the_recording_saw_the_requests_of_every_sdk(recorded):
    """The checks below would pass on a recorder that saw nothing."""
    assert len(recorded) >= 25, sorted(recorded)
    for module in DRIVEN:
        assert any(k.startswith(module) for k in recorded), module
    key = "alibabacloud_dataworks_public20200518.models:RunCycleDagNodesRequest"
    assert "StartFutureInstanceImmediately" in recorded[key]
    # the generic calls are recorded with what they send, and typed calls are not taken for generic ones
    assert recorded[f"{CALL_API}#GetNode"] == {"Id", "ProjectId"}
    assert f"{CALL_API}#ListTaskInstances" not in recorded
    # the 2020-05-18 actions go through call_api keyed by their SDK model, the 2024 GetNode by its action
    assert f"{CALL_API}#RunCycleDagNodes" not in recorded


def test_every_request_sent_is_in_the_spec(recorded):
    missing = sorted(set(recorded) - set(REQUESTS))
    assert not missing, f"requests the hooks sent that hooks/request_fields.py does not list: {missing}"


def test_every_field_set_is_listed_as_sent(recorded):
    wrong = {key: sorted(fields - set(REQUESTS[key]["sent"])) for key, fields in recorded.items() if key in REQUESTS}
    wrong = {k: v for k, v in wrong.items() if v}
    assert not wrong, f"fields the hooks set that the spec does not list as sent: {wrong}"


def test_the_spec_lists_no_request_the_hooks_never_send(recorded):
    """Every model-keyed and generic entry of the spec was seen (a stale entry would document a dead call)."""
    never = sorted(k for k in REQUESTS if (k.split(":")[0] in DRIVEN or k.startswith(CALL_API))
                   and k not in recorded)
    assert not never, f"spec entries no hook call sent in this run: {never}"
