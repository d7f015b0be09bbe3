"""A group's TrafficMode in the emulator (F-TRF-9): ``auto`` (the default) splits by instance count,
``customized`` by the ReleaseService weights; DescribeGroup reports it, UpdateGroup (the SDK's
generic ROA call: SDK 7.0.0 has no method for it) sets it. Driven by the real alibabacloud SDKs."""

from __future__ import annotations

import json

import pytest

from tests.emulator.emulator_clients import eas
from tests.scenarios import churn_pmml

REGION, GROUP = "cn-shanghai", "churn"
PROD, CANARY = "churn_prod", "churn_canary"

SCENARIO = {
    "region_id": REGION,
    "credentials": [{"access_key_id": "emulator-ak", "access_key_secret": "emulator-secret"}],
    "oss": {"buckets": ["pai-demo"], "objects": [
        {"uri": "oss://pai-demo/m/prod/model.pmml", "content": churn_pmml("prod")},
        {"uri": "oss://pai-demo/m/canary/model.pmml", "content": churn_pmml("canary")},
    ]},
    "eas": {"start_seconds": 0, "traffic_seconds": 0, "services": [  # no eas.groups: the group is auto
        {"name": PROD, "model_path": "oss://pai-demo/m/prod/", "processor": "pmml", "metadata": {"group": GROUP}},
    ]},
}


@pytest.fixture
def pai_emulator_scenario():
    return SCENARIO


def update_group(client, body: dict) -> dict:
    """UpdateGroup through the SDK's generic call, as EasHook.update_group_traffic_mode sends it."""
    from alibabacloud_tea_openapi import models as open_api_models
    from alibabacloud_tea_util import models as util_models

    params = open_api_models.Params(action="UpdateGroup", version="2021-07-01", protocol="HTTP",
                                    pathname=f"/api/v2/groups/{REGION}/{GROUP}", method="PUT", auth_type="AK",
                                    style="ROA", req_body_type="json", body_type="json")
    return client.call_api(params, open_api_models.OpenApiRequest(body=body), util_models.RuntimeOptions())


def one_instance_canary_at_10_percent(client) -> None:
    from alibabacloud_eas20210701.models import CreateServiceRequest, ReleaseServiceRequest

    config = {"name": CANARY, "model_path": "oss://pai-demo/m/canary/", "processor": "pmml",
              "metadata": {"group": GROUP, "instance": 1}}
    client.create_service(CreateServiceRequest(body=json.dumps(config)))
    client.release_service(REGION, CANARY, ReleaseServiceRequest(weight=10, traffic_state="grouping"))
    client.release_service(REGION, PROD, ReleaseServiceRequest(weight=90, traffic_state="grouping"))


def split(emu) -> dict:
    return emu.state()["eas"]["traffic"][GROUP]["split"]


def test_a_group_is_auto_by_default_and_splits_by_instance_count(pai_emulator):
    client = eas(pai_emulator)
    assert client.describe_group(REGION, GROUP).body.traffic_mode == "auto"
    one_instance_canary_at_10_percent(client)
    # The weights say 10/90; auto ignores them: one instance each, half each.
    assert split(pai_emulator) == pytest.approx({PROD: 0.5, CANARY: 0.5})


def test_update_group_switches_to_customized_and_the_weights_decide(pai_emulator):
    client = eas(pai_emulator)
    one_instance_canary_at_10_percent(client)
    answer = update_group(client, {"TrafficMode": "customized"})
    assert answer["statusCode"] == 200 and set(answer["body"]) == {"RequestId"}  # the documented answer
    assert client.describe_group(REGION, GROUP).body.traffic_mode == "customized"
    assert split(pai_emulator) == pytest.approx({PROD: 0.9, CANARY: 0.1})
    update_group(client, {"TrafficMode": "auto"})
    assert split(pai_emulator) == pytest.approx({PROD: 0.5, CANARY: 0.5})


def test_a_standalone_member_gets_no_traffic_in_either_mode(pai_emulator):
    from alibabacloud_eas20210701.models import ReleaseServiceRequest

    client = eas(pai_emulator)
    one_instance_canary_at_10_percent(client)
    client.release_service(REGION, CANARY, ReleaseServiceRequest(weight=0, traffic_state="standalone"))
    assert split(pai_emulator) == {PROD: 1.0}
    update_group(client, {"TrafficMode": "customized"})
    assert split(pai_emulator) == {PROD: 1.0}


def test_a_grouped_member_with_weight_0_still_gets_its_share_in_auto(pai_emulator):
    from alibabacloud_eas20210701.models import ReleaseServiceRequest

    client = eas(pai_emulator)
    one_instance_canary_at_10_percent(client)
    client.release_service(REGION, CANARY, ReleaseServiceRequest(weight=0, traffic_state="grouping"))
    assert split(pai_emulator) == pytest.approx({PROD: 0.5, CANARY: 0.5})  # why a retired canary goes standalone


def test_update_group_refuses_an_undocumented_mode_and_an_unknown_group(pai_emulator):
    from Tea.exceptions import TeaException

    client = eas(pai_emulator)
    with pytest.raises(TeaException, match="TrafficMode") as bad:
        update_group(client, {"TrafficMode": "weight"})
    assert bad.value.code == "InvalidParameter.TrafficMode"
    assert client.describe_group(REGION, GROUP).body.traffic_mode == "auto"
    from alibabacloud_tea_openapi import models as open_api_models
    from alibabacloud_tea_util import models as util_models

    params = open_api_models.Params(action="UpdateGroup", version="2021-07-01", protocol="HTTP",
                                    pathname=f"/api/v2/groups/{REGION}/nosuchgroup", method="PUT", auth_type="AK",
                                    style="ROA", req_body_type="json", body_type="json")
    with pytest.raises(TeaException) as missing:
        client.call_api(params, open_api_models.OpenApiRequest(body={"TrafficMode": "auto"}),
                        util_models.RuntimeOptions())
    assert missing.value.code == "InvalidGroup.NotFound"
