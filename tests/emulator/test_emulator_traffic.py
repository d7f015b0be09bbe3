"""EAS service groups in the emulator: ReleaseService, DescribeGroup, weighted routing on the group endpoint,
and the PMML processor behind it, driven by the real alibabacloud_eas20210701 SDK."""

from __future__ import annotations

import hashlib
import json
import urllib.error
import urllib.request

import pytest

from tests.emulator.emulator_clients import eas
from tests.scenarios import churn_pmml

REGION, GROUP = "cn-shanghai", "churn"
PROD, CANARY = "churn_prod", "churn_canary"
RECORD = [{"tenure": 2, "monthly_charges": 95.0, "contract": "month-to-month"}]

SCENARIO = {
    "region_id": REGION,
    "credentials": [{"access_key_id": "emulator-ak", "access_key_secret": "emulator-secret"}],
    "oss": {"buckets": ["pai-demo"], "objects": [
        {"uri": "oss://pai-demo/m/prod/model.pmml", "content": churn_pmml("prod")},
        {"uri": "oss://pai-demo/m/canary/model.pmml", "content": churn_pmml("canary")},
        {"uri": "oss://pai-demo/m/bad/model.pmml", "content": "<PMML><DataDictionary/><TreeModel/></PMML>"},
    ]},
    # customized: the weights decide the split (test_emulator_traffic_mode.py: the default, auto)
    "eas": {"start_seconds": 0, "traffic_seconds": 30, "traffic_seed": 7,
            "groups": [{"name": GROUP, "traffic_mode": "customized"}], "services": [
        {"name": PROD, "model_path": "oss://pai-demo/m/prod/", "processor": "pmml", "metadata": {"group": GROUP}},
    ]},
}


@pytest.fixture
def pai_emulator_scenario():
    return SCENARIO


def predict(url: str, name: str, token: str, payload=RECORD):
    req = urllib.request.Request(f"{url}/api/predict/{name}", data=json.dumps(payload).encode(), method="POST",
                                 headers={"Authorization": token, "Content-Type": "application/json"})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(req, timeout=30) as resp:
            return resp.status, json.loads(resp.read()), resp.headers.get("x-emulator-service")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(), None


def create_canary(client, model_path="oss://pai-demo/m/canary/"):
    from alibabacloud_eas20210701.models import CreateServiceRequest

    config = {"name": CANARY, "model_path": model_path, "processor": "pmml", "metadata": {"group": GROUP}}
    client.create_service(CreateServiceRequest(body=json.dumps(config)))


def release(client, name, weight, state="grouping"):
    from alibabacloud_eas20210701.models import ReleaseServiceRequest

    return client.release_service(REGION, name, ReleaseServiceRequest(weight=weight, traffic_state=state)).body


def traffic_state(emu):
    return emu.state()["eas"]["traffic"][GROUP]


def test_group_is_derived_from_members_and_a_new_member_gets_no_traffic(pai_emulator):
    client = eas(pai_emulator)
    group = client.describe_group(REGION, GROUP).body
    assert (group.name, group.internet_endpoint) == (GROUP, f"{pai_emulator.url}/api/predict/{GROUP}")
    create_canary(client)
    canary = client.describe_service(REGION, CANARY).body
    assert (canary.service_group, canary.traffic_state, canary.weight) == (GROUP, "standalone", 0)
    from alibabacloud_eas20210701.models import ListServicesRequest

    listed = client.list_services(ListServicesRequest(group_name=GROUP)).body.services
    assert sorted(s.service_name for s in listed) == [CANARY, PROD]
    assert traffic_state(pai_emulator)["split"] == {PROD: 1.0}


def test_release_takes_effect_after_the_delay_and_routes_by_weight(pai_emulator):
    client = eas(pai_emulator)
    create_canary(client)
    answer = release(client, CANARY, 10)
    assert answer.message.startswith(f"Releasing service [{CANARY}] in region [{REGION}] with weight [10]")
    release(client, PROD, 90)
    # Not yet in effect: DescribeService shows the values in effect, the split is unchanged.
    assert client.describe_service(REGION, CANARY).body.weight == 0
    assert traffic_state(pai_emulator)["split"] == {PROD: 1.0}
    pai_emulator.advance_clock(31)
    svc = client.describe_service(REGION, CANARY).body
    assert (svc.traffic_state, svc.weight) == ("grouping", 10)
    assert traffic_state(pai_emulator)["split"] == pytest.approx({PROD: 0.9, CANARY: 0.1})

    token = client.describe_group(REGION, GROUP).body.access_token
    answered = [predict(pai_emulator.url, GROUP, token) for _ in range(200)]
    assert all(status == 200 and body[0]["churn"] == 1 for status, body, _ in answered)
    by = [who for _, _, who in answered]
    routed = traffic_state(pai_emulator)["routed"]
    assert routed == {PROD: by.count(PROD), CANARY: by.count(CANARY)}
    assert 10 <= routed[CANARY] <= 30  # seeded: the same counts on every run, near 10% of 200


def test_routing_is_seeded_so_runs_are_identical(pai_emulator):
    client = eas(pai_emulator)
    create_canary(client)
    release(client, CANARY, 50)
    release(client, PROD, 50)
    pai_emulator.advance_clock(31)
    token = client.describe_group(REGION, GROUP).body.access_token
    first = [predict(pai_emulator.url, GROUP, token)[2] for _ in range(20)]
    # The documented draw: sha256("<seed>/<group>/<n>") as a fraction, members by name, cumulative shares.
    expected = [CANARY if int.from_bytes(hashlib.sha256(f"7/{GROUP}/{n}".encode()).digest()[:8], "big") / 2**64 < 0.5
                else PROD for n in range(20)]
    assert first == expected


def test_standalone_canary_leaves_all_group_traffic_to_production(pai_emulator):
    client = eas(pai_emulator)
    create_canary(client)
    release(client, CANARY, 10)
    pai_emulator.advance_clock(31)
    release(client, CANARY, 0, "standalone")
    pai_emulator.advance_clock(31)
    assert traffic_state(pai_emulator)["split"] == {PROD: 1.0}
    # The canary's own endpoint still answers (zero-traffic testing): it bypasses the group rules.
    token = client.describe_service(REGION, CANARY).body.access_token
    status, body, who = predict(pai_emulator.url, CANARY, token)
    assert (status, who) == (200, CANARY)


def test_release_rejects_bad_weight_and_state(pai_emulator):
    from alibabacloud_tea_openapi.exceptions import ClientException

    client = eas(pai_emulator)
    with pytest.raises(ClientException) as info:
        release(client, PROD, 1001)
    assert info.value.code == "InvalidParameter.Weight"
    with pytest.raises(ClientException) as info:
        release(client, PROD, 10, "blue")
    assert info.value.code == "InvalidParameter.TrafficState"
    with pytest.raises(ClientException) as info:
        client.describe_group(REGION, "nope")
    assert info.value.code == "InvalidGroup.NotFound"


def test_pmml_model_that_cannot_load_fails_the_deploy(pai_emulator):
    client = eas(pai_emulator)
    create_canary(client, "oss://pai-demo/m/bad/")
    svc = client.describe_service(REGION, CANARY).body
    assert svc.status == "Failed" and "TreeModel" in svc.message


def test_pmml_bad_record_is_400_naming_the_field(pai_emulator):
    client = eas(pai_emulator)
    token = client.describe_service(REGION, PROD).body.access_token
    status, body, _ = predict(pai_emulator.url, PROD, token, [{"tenure": "long"}])
    assert status == 400 and "'tenure' is double" in body
    status, body, _ = predict(pai_emulator.url, PROD, token, {"instances": [[1, 2]]})
    assert status == 400 and "JSON array of records" in body
