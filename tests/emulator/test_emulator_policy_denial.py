"""The access-denied answers of emulator/policy.py: one ACS error body with the denied action's detail.

docs/cloud-fidelity.md F-RAM-ERR-1, -2 (code and message per service) and -4 (AccessDeniedDetail).
"""

from __future__ import annotations

import json

import pytest

from airflow_provider_pai.emulator.policy import denial


@pytest.mark.parametrize(("service", "code", "message"), [
    ("dataworks", "ResourceNotAuthorized.Api", "The RAM policy does not allow dataworks:RunCycleDagNodes."),
    ("eas", "Forbidden.RAM", "operate on the specified resource: dataworks:RunCycleDagNodes on acs:x:y."),
])
def test_openapi_denial_is_an_acs_error_naming_the_action(service, code, message):
    response = denial(service, "dataworks:RunCycleDagNodes", "acs:x:y", "POST")
    body = json.loads(response.body)
    assert response.status == 403 and response.content_type == "application/json"
    assert list(body) == ["RequestId", "Code", "Message", "HostId", "AccessDeniedDetail"]
    assert body["Code"] == code and body["Message"].endswith(message)
    assert body["RequestId"] == response.headers["x-acs-request-id"]
    assert body["AccessDeniedDetail"]["AuthAction"] == "dataworks:RunCycleDagNodes"
