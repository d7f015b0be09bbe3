"""AcceptModelOperator with a mocked OssHook (and, for ``model_version``, a mocked AiWorkspaceHook):
the acceptance record, the asset event's extra, the registry approval, and every refusal changing nothing."""

from __future__ import annotations

import json
import types
from unittest import mock

import pytest
from airflow.providers.common.compat.sdk import AirflowException, Asset

from airflow_provider_pai.hooks.aiworkspace import AiWorkspaceHook
from airflow_provider_pai.hooks.errors import PaiApiError
from airflow_provider_pai.hooks.oss import OssHook
from airflow_provider_pai.operators.accept import AcceptModelOperator, accepted_record
from airflow_provider_pai.utils.validation import PaiParameterError

ASSET = Asset("oss://models/churn/")
MODEL = "oss://bkt/rel/7/"
VERSION = {"model_id": "model-abc", "version_name": "0.1.0"}


class FakeOss:
    """Objects by (bucket, key); records every write in order."""

    def __init__(self, *keys):
        self.objects = {("bkt", k): b"{}" for k in keys}
        self.calls = []

    def head_object(self, bucket, key):
        self.calls.append(("head", key))
        return {"key": key, "size": 2} if (bucket, key) in self.objects else None

    def get_object(self, bucket, key):
        return self.objects[(bucket, key)]

    def put_object(self, bucket, key, data, content_type=None):
        self.calls.append(("put", key, content_type))
        self.objects[(bucket, key)] = data.encode() if isinstance(data, str) else data

    def record(self, key="rel/7/_accepted.json"):
        return json.loads(self.objects[("bkt", key)])

    @property
    def writes(self):
        return [c for c in self.calls if c[0] == "put"]


class OutletEvents:
    """``context["outlet_events"]``: one accessor per asset, created on first use (as Airflow's is)."""

    def __init__(self):
        self.events = {}

    def __getitem__(self, asset):
        return self.events.setdefault(asset.uri, types.SimpleNamespace(extra={}))


def accept(fake, **kw):
    kw = {"model_uri": MODEL, "asset": ASSET, **kw}
    op = AcceptModelOperator(task_id="accept", **kw)
    hook = mock.create_autospec(OssHook, instance=True)
    for name in ("head_object", "get_object", "put_object"):
        getattr(hook, name).side_effect = getattr(fake, name)
    op.__dict__["hook"] = hook
    return op


def ctx():
    ti = mock.MagicMock(dag_id="train", run_id="r1", task_id="accept")
    return {"ti": ti, "outlet_events": OutletEvents()}


@pytest.fixture
def registry():
    """The AiWorkspaceHook ``approve_registered`` builds: version registered at MODEL, still Pending."""
    hook = mock.create_autospec(AiWorkspaceHook, instance=True)
    hook.get_model_version.return_value = {"Uri": "oss://bkt.oss-cn-hangzhou.aliyuncs.com/rel/7/",
                                           "ApprovalStatus": "Pending"}
    with mock.patch("airflow_provider_pai.hooks.aiworkspace.AiWorkspaceHook", return_value=hook) as cls:
        hook.cls = cls
        yield hook


# --- without model_version ---------------------------------------------------------------------------------


def test_writes_accepted_record_after_checking_manifest_and_returns_uri():
    fake = FakeOss("rel/7/_manifest.json")
    assert accept(fake, evidence={"auc": 0.91}).execute(ctx()) == MODEL
    assert fake.calls == [("head", "rel/7/_manifest.json"), ("put", "rel/7/_accepted.json", "application/json")]
    record = fake.record()
    assert record["model_uri"] == MODEL
    assert record["accepted_by"] == "train/r1/accept"
    assert record["evidence"] == {"auc": 0.91}
    assert record["accepted_at"].endswith("+00:00")  # UTC, ISO 8601
    assert "model_id" not in record


def test_asset_event_extra_names_the_model_without_registry_keys():
    fake, context = FakeOss("rel/7/_manifest.json"), ctx()
    accept(fake).execute(context)
    assert context["outlet_events"].events[ASSET.uri].extra == {
        "summary": MODEL, "model_uri": MODEL, "accepted_by": "train/r1/accept"}


def test_model_uri_without_trailing_slash_is_read_as_a_prefix():
    fake, context = FakeOss("rel/7/_manifest.json"), ctx()
    assert accept(fake, model_uri="oss://bkt/rel/7").execute(context) == MODEL
    assert fake.writes == [("put", "rel/7/_accepted.json", "application/json")]
    assert context["outlet_events"].events[ASSET.uri].extra["model_uri"] == MODEL


def test_no_registry_call_without_model_version(registry):
    accept(FakeOss("rel/7/_manifest.json")).execute(ctx())
    registry.cls.assert_not_called()


def test_require_manifest_false_accepts_a_prefix_without_manifest():
    fake = FakeOss()
    assert accept(fake, require_manifest=False).execute(ctx()) == MODEL
    assert ("head", "rel/7/_manifest.json") not in fake.calls
    assert fake.record()["model_uri"] == MODEL


def test_accepted_record_reads_back_what_execute_wrote():
    fake = FakeOss("rel/7/_manifest.json")
    op = accept(fake)
    assert accepted_record(op.hook, MODEL) is None
    op.execute(ctx())
    assert accepted_record(op.hook, "oss://bkt/rel/7")["accepted_by"] == "train/r1/accept"


# --- with model_version ------------------------------------------------------------------------------------


def test_model_version_is_approved_before_the_record_and_event(registry):
    fake, context = FakeOss("rel/7/_manifest.json"), ctx()
    op = accept(fake, model_version=VERSION, pai_conn_id="pai_x", region_id="cn-shanghai")
    registry.update_approval.side_effect = lambda *a: fake.calls.append(("approve", *a))
    assert op.execute(context) == MODEL
    registry.cls.assert_called_once_with(pai_conn_id="pai_x", region_id="cn-shanghai")
    registry.get_model_version.assert_called_once_with("model-abc", "0.1.0")
    assert fake.calls[1:] == [("approve", "model-abc", "0.1.0", "Approved"),
                              ("put", "rel/7/_accepted.json", "application/json")]
    registered = {"model_id": "model-abc", "version_name": "0.1.0", "approval_status": "Approved"}
    assert {k: fake.record()[k] for k in registered} == registered
    extra = context["outlet_events"].events[ASSET.uri].extra
    assert extra == {"summary": f"model model-abc version 0.1.0 (Approved) at {MODEL}", "model_uri": MODEL,
                     "accepted_by": "train/r1/accept", **registered}


def test_model_version_as_model_colon_version_string(registry):
    accept(FakeOss("rel/7/_manifest.json"), model_version="model-abc:0.1.0").execute(ctx())
    registry.update_approval.assert_called_once_with("model-abc", "0.1.0", "Approved")


def test_already_approved_version_is_not_updated_again(registry):
    registry.get_model_version.return_value["ApprovalStatus"] = "Approved"
    fake, context = FakeOss("rel/7/_manifest.json"), ctx()
    accept(fake, model_version=VERSION).execute(context)
    registry.update_approval.assert_not_called()
    assert context["outlet_events"].events[ASSET.uri].extra["approval_status"] == "Approved"


# --- refusals: each raises before anything is written or approved -----------------------------------------


def assert_nothing_changed(fake, context, registry=None):
    assert fake.writes == []
    assert context["outlet_events"].events == {}
    if registry is not None:
        registry.update_approval.assert_not_called()


def test_refuses_a_prefix_without_manifest(registry):
    fake, context = FakeOss(), ctx()
    with pytest.raises(AirflowException, match=r"oss://bkt/rel/7/ has no _manifest.json.*require_manifest=False"):
        accept(fake, model_version=VERSION).execute(context)
    assert_nothing_changed(fake, context, registry)
    registry.cls.assert_not_called()


def test_refuses_a_version_that_registers_another_model(registry):
    registry.get_model_version.return_value["Uri"] = "oss://bkt.oss-cn-hangzhou.aliyuncs.com/rel/6/"
    fake, context = FakeOss("rel/7/_manifest.json"), ctx()
    with pytest.raises(AirflowException, match=r"Invalid model_version=.*registers oss://bkt/rel/6/, not oss://bkt/rel/7/"):
        accept(fake, model_version=VERSION).execute(context)
    assert_nothing_changed(fake, context, registry)


def test_refuses_a_version_that_does_not_exist(registry):
    registry.get_model_version.side_effect = PaiApiError("GetModelVersion", "ModelVersionNotFound", "gone",
                                                         status_code=404)
    fake, context = FakeOss("rel/7/_manifest.json"), ctx()
    with pytest.raises(AirflowException, match=r"Invalid model_version=.*no such model version.*ModelVersionNotFound"):
        accept(fake, model_version=VERSION).execute(context)
    assert_nothing_changed(fake, context, registry)


def test_registry_server_error_is_raised_not_swallowed(registry):
    err = PaiApiError("GetModelVersion", "InternalError", "boom", status_code=500)
    registry.get_model_version.side_effect = err
    fake, context = FakeOss("rel/7/_manifest.json"), ctx()
    with pytest.raises(PaiApiError) as raised:
        accept(fake, model_version=VERSION).execute(context)
    assert raised.value is err
    assert_nothing_changed(fake, context, registry)


@pytest.mark.parametrize("value, match", [
    ({"model_id": "model-abc", "version_name": "latest_approved"}, r"name the version to set Approved"),
    ({"version_name": "0.1.0"}, r"Invalid model_version=.*model_id"),
    ({"model_id": "model-abc", "version_name": "v1"}, r"model_version\['version_name'\]"),
])
def test_refuses_a_bad_model_version_before_any_registry_call(registry, value, match):
    fake, context = FakeOss("rel/7/_manifest.json"), ctx()
    with pytest.raises(PaiParameterError, match=match):
        accept(fake, model_version=value).execute(context)
    registry.get_model_version.assert_not_called()
    assert_nothing_changed(fake, context, registry)


def test_refuses_a_model_uri_that_is_not_oss():
    fake, context = FakeOss(), ctx()
    with pytest.raises(PaiParameterError, match="model_uri"):
        accept(fake, model_uri="s3://bkt/rel/7/").execute(context)
    assert fake.calls == []
    assert context["outlet_events"].events == {}


# --- construction ------------------------------------------------------------------------------------------


def test_asset_uri_string_becomes_an_outlet_next_to_the_given_ones():
    other = Asset("oss://other/")
    op = AcceptModelOperator(task_id="accept", model_uri=MODEL, asset="oss://models/churn/", outlets=[other])
    assert op.asset == Asset("oss://models/churn/")
    assert op.outlets == [other, op.asset]


@pytest.mark.parametrize("asset", ["oss://models/{{ ds }}/", None, 42])
def test_refuses_an_asset_that_is_templated_or_not_an_asset(asset):
    with pytest.raises(PaiParameterError, match=r"Invalid asset="):
        AcceptModelOperator(task_id="accept", model_uri=MODEL, asset=asset)


def test_model_uri_evidence_and_model_version_are_templated():
    assert {"model_uri", "evidence", "model_version"} <= set(AcceptModelOperator.template_fields)
