"""The emulator's AI Workspace model registry through the official SDK (alibabacloud_aiworkspace20210204):
the reference's answer shapes (tests/fixtures/aiworkspace, SOURCE.md there), version numbering,
paging, filters, and the errors for an unknown workspace, model, version or bad input."""

from __future__ import annotations

import copy

import pytest

from airflow_provider_pai.emulator.scenario import DEMO_SCENARIO, load_scenario
from tests.emulator import emulator_clients
from tests.emulator.test_shape_conformance import assert_has, example, raw, shape_errors

WS = "86001"
URI = "oss://pai-demo.oss-cn-shanghai.aliyuncs.com/models/churn/a/"
# Maps whose keys are the caller's own (metrics, specs): their content has no reference shape.
FREE_FORM = ("Metrics", "InferenceSpec", "TrainingSpec", "EvaluationSpec", "CompressionSpec", "ExtraInfo",
             "DistillationSpec")


@pytest.fixture
def pai_emulator_scenario():
    scenario = copy.deepcopy(load_scenario(DEMO_SCENARIO))
    scenario["aiworkspace"] = {"workspaces": [{"workspace_id": WS, "models": [{
        "model_name": "seeded", "model_id": "model-seeded",
        "versions": [{"version_name": "1.0.0", "uri": URI, "approval_status": "Approved",
                      "inference_spec": {"processor": "pmml"}, "labels": [{"key": "team", "value": "growth"}]}]}]}]}
    return scenario


def m():
    from alibabacloud_aiworkspace20210204 import models

    return models


def client(emu):
    from alibabacloud_aiworkspace20210204.client import Client

    return Client(emulator_clients._config(emu))


def opaque(body):
    """The body with free-form maps emptied, so only the API's own keys are compared."""
    if isinstance(body, list):
        return [opaque(x) for x in body]
    if isinstance(body, dict):
        return {k: ({} if k in FREE_FORM else opaque(v)) for k, v in body.items()}
    return body


def new_model(c, name="churn") -> str:
    return c.create_model(m().CreateModelRequest(workspace_id=WS, model_name=name)).body.model_id


def new_version(c, model_id, **kw) -> str:
    kw.setdefault("uri", URI)
    return c.create_model_version(model_id, m().CreateModelVersionRequest(**kw)).body.version_name


def test_answers_have_the_reference_shape(pai_emulator):
    c = client(pai_emulator)
    answers = {
        "CreateModel": raw(c, lambda c: c.create_model(m().CreateModelRequest(workspace_id=WS, model_name="shape"))),
        "ListModels": raw(c, lambda c: c.list_models(m().ListModelsRequest(workspace_id=WS))),
        "GetModel": raw(c, lambda c: c.get_model("model-seeded", m().GetModelRequest())),
        "CreateModelVersion": raw(c, lambda c: c.create_model_version("model-seeded", m().CreateModelVersionRequest(
            uri=URI, metrics={"auc": 0.9}, labels=[m().Label(key="k", value="v")]))),
        "ListModelVersions": raw(c, lambda c: c.list_model_versions("model-seeded", m().ListModelVersionsRequest())),
        "GetModelVersion": raw(c, lambda c: c.get_model_version("model-seeded", "1.0.0", m().GetModelVersionRequest())),
        "UpdateModelVersion": raw(c, lambda c: c.update_model_version(
            "model-seeded", "1.0.0", m().UpdateModelVersionRequest(approval_status="Rejected"))),
    }
    errors = [e for action, body in answers.items()
              for e in shape_errors(opaque(body), opaque(example("aiworkspace", action)), action)]
    assert not errors, "\n".join(errors)
    assert_has(answers["CreateModel"], example("aiworkspace", "CreateModel"), ["ModelId", "RequestId"])
    assert_has(answers["CreateModelVersion"], example("aiworkspace", "CreateModelVersion"), ["VersionName"])
    version = answers["ListModelVersions"]["Versions"][0]
    assert_has(version, example("aiworkspace", "ListModelVersions")["Versions"][0],
               ["VersionName", "Uri", "ApprovalStatus", "InferenceSpec", "Labels", "GmtCreateTime"])
    assert_has(answers["ListModels"]["Models"][0], example("aiworkspace", "ListModels")["Models"][0],
               ["ModelId", "ModelName", "WorkspaceId"])


def test_versions_are_numbered_0_1_0_then_by_minor_when_no_name_is_given(pai_emulator):
    c = client(pai_emulator)
    model_id = new_model(c)
    assert [new_version(c, model_id) for _ in range(3)] == ["0.1.0", "0.2.0", "0.3.0"]
    assert new_version(c, model_id, version_name="1.4.2_beta") == "1.4.2_beta"
    assert new_version(c, model_id) == "1.5.0"  # the highest major.minor, plus one minor


def test_list_versions_pages_filters_and_orders(pai_emulator):
    c = client(pai_emulator)
    model_id = new_model(c)
    for i in range(5):
        new_version(c, model_id, approval_status="Approved" if i % 2 == 0 else "Pending",
                    labels=[m().Label(key="airflow-run", value=f"dag/run_{i}/register")])
    listed = c.list_model_versions(model_id, m().ListModelVersionsRequest(page_size=2, page_number=3)).body
    assert listed.total_count == 5 and [v.version_name for v in listed.versions] == ["0.5.0"]
    newest = c.list_model_versions(model_id, m().ListModelVersionsRequest(
        approval_status="Approved", order="DESC", sort_by="GmtCreateTime")).body
    assert [v.version_name for v in newest.versions] == ["0.5.0", "0.3.0", "0.1.0"] and newest.total_count == 3
    labelled = c.list_model_versions(model_id, m().ListModelVersionsRequest(label="run_3")).body
    assert [v.version_name for v in labelled.versions] == ["0.4.0"]
    named = c.list_model_versions(model_id, m().ListModelVersionsRequest(version_name="0.2.0")).body
    assert [v.approval_status for v in named.versions] == ["Pending"]


def test_update_sets_the_approval_status(pai_emulator):
    c = client(pai_emulator)
    c.update_model_version("model-seeded", "1.0.0", m().UpdateModelVersionRequest(approval_status="Rejected"))
    got = c.get_model_version("model-seeded", "1.0.0", m().GetModelVersionRequest()).body
    assert got.approval_status == "Rejected" and got.inference_spec == {"processor": "pmml"}


def error_of(call):
    from Tea.exceptions import TeaException

    with pytest.raises(TeaException) as info:
        call()
    return info.value.code, info.value.status_code if hasattr(info.value, "status_code") else None


@pytest.mark.parametrize(("call", "code"), [
    (lambda c: c.create_model(m().CreateModelRequest(workspace_id="99999", model_name="x")), "WorkspaceNotFound"),
    (lambda c: c.list_models(m().ListModelsRequest(workspace_id="99999")), "WorkspaceNotFound"),
    (lambda c: c.create_model(m().CreateModelRequest(workspace_id=WS, model_name="x" * 128)), "InvalidParameter"),
    (lambda c: c.create_model(m().CreateModelRequest(workspace_id=WS, model_name="seeded")), "ModelNameAlreadyExists"),
    (lambda c: c.get_model("model-nope", m().GetModelRequest()), "ModelNotFound"),
    (lambda c: c.get_model_version("model-seeded", "9.9.9", m().GetModelVersionRequest()), "ModelVersionNotFound"),
    (lambda c: c.create_model_version("model-seeded", m().CreateModelVersionRequest(uri=URI, version_name="1.0.0")),
     "ModelVersionAlreadyExists"),
    (lambda c: c.create_model_version("model-seeded", m().CreateModelVersionRequest(uri=URI, version_name="v1")),
     "InvalidParameter"),
    (lambda c: c.create_model_version("model-seeded", m().CreateModelVersionRequest(uri="oss://bucket/path/")),
     "InvalidParameter"),
    (lambda c: c.create_model_version("model-seeded", m().CreateModelVersionRequest(
        uri=URI, metrics={"x": "y" * 8200})), "InvalidParameter"),
])
def test_bad_requests_get_an_error_and_change_nothing(pai_emulator, call, code):
    before = pai_emulator.state()["aiworkspace"]
    got, _ = error_of(lambda: call(client(pai_emulator)))
    assert got == code
    assert pai_emulator.state()["aiworkspace"] == before
