"""The emulator's PAI-EAS 2021-07-01 API and predict gateway, driven by the real alibabacloud_eas20210701 SDK."""

from __future__ import annotations

import base64
import email.utils
import hashlib
import hmac
import json
import re
import urllib.error
import urllib.request

import pytest

REGION = "cn-shanghai"
AK, SK = "emulator-ak", "emulator-secret"
BUCKET = "pai-demo"
V1_PATH = f"oss://{BUCKET}/models/churn/v1/"
V2_PATH = f"oss://{BUCKET}/models/churn/v2/"
V1_MODEL = {"weights": [0.3, -1.0], "bias": 0.0}
V2_MODEL = {"weights": [2.0, 1.0], "bias": -0.5}

START = 60
BROKEN_PATH = f"oss://{BUCKET}/models/churn/broken/"
SINGLE_PATH = f"oss://{BUCKET}/models/single/model.json"

SCENARIO = {
    "region_id": REGION,
    "credentials": [{"access_key_id": AK, "access_key_secret": SK}],
    "oss": {
        "buckets": [BUCKET],
        "objects": [
            {"uri": V1_PATH + "model.json", "content": json.dumps(V1_MODEL)},
            {"uri": V2_PATH + "model.json", "content": json.dumps(V2_MODEL)},
            {"uri": BROKEN_PATH + "model.json", "content": '{"weights": [1, 1], "bias": 0, "broken": true}'},
            {"uri": SINGLE_PATH, "content": json.dumps(V2_MODEL)},
        ],
    },
    # Long start times (crossed with advance_clock) keep "still Updating" checks independent of machine speed.
    "eas": {"start_seconds": START, "services": [{"name": "churn_model", "model_path": V1_PATH,
                                                  "processor": "json_linear", "token": "scenario-token"}]},
}


@pytest.fixture
def pai_emulator_scenario():
    return SCENARIO


@pytest.fixture
def emu(pai_emulator):
    """The emulator process (url, advance_clock) started from SCENARIO."""
    return pai_emulator


@pytest.fixture
def client(emu):
    from alibabacloud_eas20210701.client import Client
    from alibabacloud_tea_openapi.models import Config

    return Client(Config(access_key_id=AK, access_key_secret=SK, endpoint=emu.url.split("://", 1)[1], protocol="http"))


def m():
    from alibabacloud_eas20210701 import models

    return models


def describe(client, name):
    return client.describe_service(REGION, name).body


def create(client, name, model_path, **extra):
    body = json.dumps({"name": name, "generate_token": "true", "model_path": model_path,
                       "processor": "json_linear", "metadata": {"instance": 1, "cpu": 2, "memory": 4000}, **extra})
    return client.create_service(m().CreateServiceRequest(body=body)).body


def update(client, name, patch, update_type=None):
    return client.update_service(REGION, name, m().UpdateServiceRequest(body=json.dumps(patch),
                                                                        update_type=update_type)).body


def events(client, name, event_type=None):
    return client.describe_service_event(REGION, name, m().DescribeServiceEventRequest(event_type=event_type)).body


def predict(url, instances, authorization=None, headers=None, raw=None):
    """(status, parsed JSON or text) of a POST to a predict endpoint."""
    data = raw if raw is not None else json.dumps({"instances": instances}).encode()
    req = urllib.request.Request(url, data=data, method="POST", headers=headers or {})
    if authorization is not None:
        req.add_header("Authorization", authorization)
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def sigmoid_dot(model, x):
    import math

    z = sum(w * v for w, v in zip(model["weights"], x)) + model["bias"]
    return 1 / (1 + math.exp(-z))


def error_of(call):
    from Tea.exceptions import TeaException

    with pytest.raises(TeaException) as info:
        call()
    return info.value


# --- services: create, describe, list, endpoints --------------------------------------------------


def test_create_service_returns_reachable_endpoints_and_goes_running(emu, client):
    created = create(client, "fraud_model", V1_PATH)
    assert created.service_name == "fraud_model" and created.region == REGION
    assert created.status == "Creating" and created.service_id
    assert created.internet_endpoint == f"{emu.url}/api/predict/fraud_model" == created.intranet_endpoint

    svc = describe(client, "fraud_model")
    assert (svc.status, svc.current_version, svc.latest_version, svc.running_instance) == ("Creating", 1, 1, 0)
    status, text = predict(created.internet_endpoint, [[1, 2]], svc.access_token)
    assert (status, text) == (503, "no healthy upstream")

    emu.advance_clock(START)
    svc = describe(client, "fraud_model")
    assert (svc.status, svc.running_instance, svc.total_instance, svc.pending_instance) == ("Running", 1, 1, 0)
    assert svc.message and svc.reason and svc.create_time.endswith("Z")
    config = json.loads(svc.service_config)
    assert config["model_path"] == V1_PATH and config["metadata"]["cpu"] == 2
    assert "generate_token" not in config and len(svc.access_token) >= 20
    status, body = predict(svc.internet_endpoint, [[1, 2]], svc.access_token)
    assert status == 200 and body["version"] == 1 and body["model_path"] == V1_PATH


def test_create_keeps_a_given_token_and_labels_and_rejects_duplicates_and_nameless(client):
    body = json.dumps({"name": "tok_model", "token": "my-token", "model_path": V1_PATH, "processor": "json_linear"})
    client.create_service(m().CreateServiceRequest(body=body, labels={"team": "risk"}))
    svc = describe(client, "tok_model")
    assert svc.access_token == "my-token" and "token" not in json.loads(svc.service_config)
    assert [(lb.label_key, lb.label_value) for lb in svc.labels] == [("team", "risk")]
    dup = error_of(lambda: create(client, "tok_model", V1_PATH))
    assert (dup.code, dup.statusCode) == ("InvalidService.AlreadyExists", 400)
    nameless = error_of(lambda: client.create_service(m().CreateServiceRequest(body='{"model_path": "x"}')))
    assert nameless.code == "InvalidParameter" and "name" in nameless.message


def test_scenario_service_is_running_at_version_one(client):
    svc = describe(client, "churn_model")
    assert (svc.status, svc.current_version, svc.latest_version) == ("Running", 1, 1)
    assert svc.access_token == "scenario-token" and svc.region == REGION


def test_unknown_service_and_other_cluster_are_not_found(client):
    for cluster, name in ((REGION, "nope"), ("cn-beijing", "churn_model")):
        err = error_of(lambda: client.describe_service(cluster, name))
        assert (err.code, err.statusCode) == ("InvalidService.NotFound", 404)


def test_list_services_filters_and_pages(emu, client):
    create(client, "a_model", V1_PATH)
    create(client, "b_model", "")  # no model: goes Failed
    emu.advance_clock(START)
    everything = client.list_services(m().ListServicesRequest()).body
    assert everything.total_count == 3 and {s.service_name for s in everything.services} == {
        "a_model", "b_model", "churn_model"}
    page = client.list_services(m().ListServicesRequest(page_number=2, page_size=2, order="asc")).body
    assert (page.page_number, page.page_size, page.total_count, len(page.services)) == (2, 2, 3, 1)
    failed = client.list_services(m().ListServicesRequest(service_status="Failed")).body
    assert [s.service_name for s in failed.services] == ["b_model"]
    named = client.list_services(m().ListServicesRequest(service_name="a_model")).body
    assert [(s.service_name, s.status) for s in named.services] == [("a_model", "Running")]


def test_describe_service_endpoints(emu, client):
    body = client.describe_service_endpoints(REGION, "churn_model").body
    assert body.access_token == "scenario-token"
    assert body.endpoints[0].internet_endpoints == [f"{emu.url}/api/predict/churn_model"]
    assert body.endpoints[0].intranet_endpoints == [f"{emu.url}/api/predict/churn_model"]


def test_stop_start_delete(emu, client):
    url = describe(client, "churn_model").internet_endpoint
    assert client.stop_service(REGION, "churn_model").body.message
    assert describe(client, "churn_model").status == "Stopping"
    emu.advance_clock(1)
    assert describe(client, "churn_model").status == "Stopped"
    assert predict(url, [[1, 2]], "scenario-token")[0] == 503
    client.start_service(REGION, "churn_model")
    assert describe(client, "churn_model").status == "Starting"
    emu.advance_clock(START)
    assert describe(client, "churn_model").status == "Running"
    assert predict(url, [[1, 2]], "scenario-token")[0] == 200
    assert "restarting" in client.restart_service(REGION, "churn_model").body.message
    assert describe(client, "churn_model").status == "Updating"
    assert predict(url, [[1, 2]], "scenario-token")[0] == 200  # rolling: old instances keep serving
    emu.advance_clock(START)
    assert describe(client, "churn_model").status == "Running"
    assert client.delete_service(REGION, "churn_model").body.message
    assert error_of(lambda: describe(client, "churn_model")).code == "InvalidService.NotFound"
    assert predict(url, [[1, 2]], "scenario-token")[0] == 404


# --- versions and rollout ---------------------------------------------------------------------------


def test_update_rolls_to_new_version_and_update_service_version_rolls_back(emu, client):
    before = describe(client, "churn_model")
    url, token, x = before.internet_endpoint, before.access_token, [1.0, 2.0]

    msg = update(client, "churn_model", {"model_path": V2_PATH}).message
    assert "version 2" in msg
    svc = describe(client, "churn_model")
    assert (svc.status, svc.current_version, svc.latest_version) == ("Updating", 2, 2)
    status, body = predict(url, [x], token)  # the old version serves during the rollout
    assert status == 200 and body["version"] == 1

    emu.advance_clock(START)
    svc = describe(client, "churn_model")
    assert (svc.status, svc.current_version) == ("Running", 2)
    assert json.loads(svc.service_config)["model_path"] == V2_PATH
    status, body = predict(url, [x], token)
    assert (status, body["version"], body["model_path"]) == (200, 2, V2_PATH)
    assert body["predictions"] == pytest.approx([sigmoid_dot(V2_MODEL, x)])

    versions = client.list_service_versions(REGION, "churn_model", m().ListServiceVersionsRequest()).body
    assert versions.total_count == 2 and [v.image_id for v in versions.versions] == [1, 2]
    assert [json.loads(v.service_config)["model_path"] for v in versions.versions] == [V1_PATH, V2_PATH]
    assert all(v.build_time and v.service_runnable == "true" and v.image_available for v in versions.versions)
    page = client.list_service_versions(REGION, "churn_model",
                                        m().ListServiceVersionsRequest(page_number=2, page_size=1)).body
    assert (page.page_number, page.page_size, page.total_count, page.versions[0].image_id) == (2, 1, 2, 2)

    rollback = client.update_service_version(REGION, "churn_model", m().UpdateServiceVersionRequest(version=1))
    assert "is starting" in rollback.body.message
    assert (describe(client, "churn_model").status, describe(client, "churn_model").current_version) == ("Updating", 1)
    emu.advance_clock(START)
    svc = describe(client, "churn_model")
    assert (svc.status, svc.current_version, svc.latest_version) == ("Running", 1, 2)
    status, body = predict(url, [x], token)
    assert (status, body["version"]) == (200, 1)
    assert body["predictions"] == pytest.approx([sigmoid_dot(V1_MODEL, x)])


def test_identical_update_and_pure_scaling_add_no_version(client):
    msg = update(client, "churn_model", {"name": "churn_model", "generate_token": "true", "model_path": V1_PATH,
                                         "processor": "json_linear"}).message
    assert "not changed" in msg
    assert describe(client, "churn_model").access_token == "scenario-token"  # re-sent generate_token keeps it
    update(client, "churn_model", {"metadata": {"instance": 3}})
    svc = describe(client, "churn_model")
    assert (svc.latest_version, svc.status, svc.total_instance) == (1, "Scaling", 3)


def test_replace_update_drops_keys_merge_keeps(emu, client):
    update(client, "churn_model", {"metadata": {"cpu": 4}})
    assert json.loads(describe(client, "churn_model").service_config)["metadata"] == {"cpu": 4}
    update(client, "churn_model", {"model_path": V2_PATH, "processor": "json_linear"}, update_type="replace")
    config = json.loads(describe(client, "churn_model").service_config)
    assert config == {"name": "churn_model", "model_path": V2_PATH, "processor": "json_linear"}
    assert describe(client, "churn_model").latest_version == 3


def test_update_to_empty_model_path_fails_and_previous_version_keeps_serving(emu, client):
    url = describe(client, "churn_model").internet_endpoint
    update(client, "churn_model", {"model_path": f"oss://{BUCKET}/models/churn/missing/"})
    emu.advance_clock(START)
    svc = describe(client, "churn_model")
    assert (svc.status, svc.current_version, svc.latest_version) == ("Failed", 2, 2)
    assert "model" in svc.message.lower() and svc.reason
    warnings = events(client, "churn_model", "Warning").events
    assert any("failed to download model from oss://pai-demo/models/churn/missing/" in e.message for e in warnings)
    assert all(e.type == "Warning" for e in warnings)
    status, body = predict(url, [[1, 2]], "scenario-token")
    assert (status, body["version"]) == (200, 1)
    versions = client.list_service_versions(REGION, "churn_model", m().ListServiceVersionsRequest()).body
    assert [v.service_runnable for v in versions.versions] == ["true", "false"]

    client.update_service_version(REGION, "churn_model", m().UpdateServiceVersionRequest(version=1))
    emu.advance_clock(START)
    assert (describe(client, "churn_model").status, describe(client, "churn_model").current_version) == ("Running", 1)


def test_create_with_empty_model_path_fails_with_warning_and_never_serves(emu, client):
    created = create(client, "empty_model", "")
    emu.advance_clock(START)
    svc = describe(client, "empty_model")
    assert (svc.status, svc.running_instance) == ("Failed", 0)
    assert any(e.type == "Warning" and "failed to download model" in e.message
               for e in events(client, "empty_model").events)
    assert predict(created.internet_endpoint, [[1, 2]], svc.access_token)[0] == 503


def test_update_service_version_takes_only_versions_below_the_current_one(emu, client):
    """F-EAS-8: Version "must be greater than 0 and smaller than the current version"."""
    update(client, "churn_model", {"model_path": V2_PATH})
    emu.advance_clock(START)
    for version in (0, 2, 3):
        err = error_of(lambda: client.update_service_version(
            REGION, "churn_model", m().UpdateServiceVersionRequest(version=version)))
        assert (err.statusCode, err.code) == (400, "InvalidParameter")
        assert "greater than 0 and smaller than the current version 2" in err.message
    client.update_service_version(REGION, "churn_model", m().UpdateServiceVersionRequest(version=1))
    emu.advance_clock(START)
    assert describe(client, "churn_model").current_version == 1
    err = error_of(lambda: client.update_service_version(  # no rolling forward again, per the reference
        REGION, "churn_model", m().UpdateServiceVersionRequest(version=2)))
    assert (err.statusCode, err.code) == (400, "InvalidParameter")


def test_events_record_each_step_with_paging(emu, client):
    update(client, "churn_model", {"model_path": V2_PATH})
    pending = events(client, "churn_model").events
    assert not any("version 2" in e.message and "ready" in e.message for e in pending)  # not yet happened
    emu.advance_clock(START)
    body = events(client, "churn_model")
    # Time as the API reference's example writes it: "2022-04-09 06:30:00" (UTC)
    assert all(e.type == "Normal" and re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", e.time) and e.reason
               for e in body.events)
    assert any(e.reason == "VersionCreated" and "version 2 created" in e.message for e in body.events)
    assert any("updating version 2" in e.message for e in body.events)
    assert any("version 2" in e.message and "ready" in e.message for e in body.events)
    assert (body.page_num, body.total_count, body.total_page_num) == (1, len(body.events), 1)
    paged = client.describe_service_event(REGION, "churn_model",
                                          m().DescribeServiceEventRequest(page_num="2", page_size="1")).body
    assert (paged.page_num, paged.total_page_num, len(paged.events)) == (2, body.total_count, 1)


# --- predict ----------------------------------------------------------------------------------------


def _signed_headers(token: str, body: bytes, path: str) -> dict:
    md5 = hashlib.md5(body).hexdigest()
    date = email.utils.formatdate(usegmt=True)
    to_sign = f"POST\n{md5}\napplication/octet-stream\n{date}\n{path}"
    signature = base64.b64encode(hmac.new(token.encode(), to_sign.encode(), hashlib.sha1).digest()).decode()
    return {"Authorization": f"EAS {signature}", "Content-MD5": md5, "Date": date,
            "Content-Type": "application/octet-stream"}


def test_predict_accepts_plain_and_signed_token_and_refuses_a_wrong_one(emu):
    url = f"{emu.url}/api/predict/churn_model"
    status, body = predict(url, [[1, 2], [0, 0]], "scenario-token")
    assert status == 200 and body["predictions"] == pytest.approx(
        [sigmoid_dot(V1_MODEL, [1, 2]), sigmoid_dot(V1_MODEL, [0, 0])])

    raw = json.dumps({"instances": [[1, 2]]}).encode()
    status, body = predict(url, None, raw=raw, headers=_signed_headers("scenario-token", raw, "/api/predict/churn_model"))
    assert status == 200 and body["predictions"] == pytest.approx([sigmoid_dot(V1_MODEL, [1, 2])])

    assert predict(url, None, raw=raw, headers=_signed_headers("wrong", raw, "/api/predict/churn_model"))[0] == 401
    assert predict(url, [[1, 2]], "wrong-token")[0] == 401
    assert predict(url, [[1, 2]])[0] == 401
    assert predict(f"{emu.url}/api/predict/nope", [[1, 2]], "scenario-token")[0] == 404


def test_predict_dimension_mismatch_is_400_and_broken_model_is_500(emu, client):
    url = f"{emu.url}/api/predict/churn_model"
    status, text = predict(url, [[1, 2, 3]], "scenario-token")
    assert status == 400 and "3 features" in text and "expects 2" in text
    assert predict(url, None, "scenario-token", raw=b"not json")[0] == 400

    update(client, "churn_model", {"model_path": BROKEN_PATH})
    emu.advance_clock(START)
    assert describe(client, "churn_model").status == "Running"  # it loads; it fails when asked
    assert predict(url, [[1, 2]], "scenario-token")[0] == 500


def test_predict_accepts_a_single_object_model_path(emu, client):
    created = create(client, "single_model", SINGLE_PATH)
    emu.advance_clock(START)
    token = describe(client, "single_model").access_token
    status, body = predict(created.internet_endpoint, [[1, 1]], token)
    assert status == 200 and body["predictions"] == pytest.approx([sigmoid_dot(V2_MODEL, [1, 1])])


def test_rollout_survives_an_emulator_restart(emu):
    from alibabacloud_eas20210701.client import Client
    from alibabacloud_tea_openapi.models import Config

    def connect():
        return Client(Config(access_key_id=AK, access_key_secret=SK, endpoint=emu.url.split("://", 1)[1],
                             protocol="http"))

    update(connect(), "churn_model", {"model_path": V2_PATH})
    emu.restart()
    client = connect()
    assert describe(client, "churn_model").status == "Updating"
    emu.advance_clock(START)
    svc = describe(client, "churn_model")
    assert (svc.status, svc.current_version, svc.latest_version, svc.access_token) == ("Running", 2, 2, "scenario-token")
    assert predict(svc.internet_endpoint, [[1, 2]], svc.access_token)[1]["version"] == 2
