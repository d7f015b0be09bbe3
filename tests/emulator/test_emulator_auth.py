"""emulator.auth against the real Tea SDK signers: a tiny aiohttp app that only runs ``auth.verify``.

The full emulator is covered in tests/emulator/test_emulator_core.py; here the signature schemes
are checked in isolation (ACS3-HMAC-SHA256, RPC v2 HMAC-SHA1, ROA v2 HMAC-SHA1, STS tokens).
"""

from __future__ import annotations

import asyncio
import threading
from urllib.parse import parse_qsl

import pytest
from aiohttp import web

from airflow_provider_pai.emulator import auth
from airflow_provider_pai.emulator.common import Ctx, json_response

SCENARIO = {
    "region_id": "cn-shanghai",
    "credentials": [
        {"access_key_id": "ak-plain", "access_key_secret": "secret-plain"},
        {"access_key_id": "STS.ak-temp", "access_key_secret": "secret-temp", "security_token": "token-123"},
    ],
}


CTX = web.AppKey("ctx", Ctx)


async def _handler(request: web.Request) -> web.Response:
    body = await request.read()
    params = dict(parse_qsl(request.query_string, keep_blank_values=True))
    if request.content_type == "application/x-www-form-urlencoded":
        params.update(parse_qsl(body.decode(), keep_blank_values=True))
    denied = auth.verify(request, body, params, request.app[CTX])
    if denied is not None:
        return denied
    if request.headers.get("x-acs-version") == "2021-07-01":
        return json_response({"RequestId": "r", "ServiceName": request.path.rsplit("/", 1)[1], "Status": "Running"})
    # Echo the parameters back so the test can see they arrived intact.
    return json_response({"RequestId": "r", "Success": True, "Data": {"NodeName": params.get("InstanceId")}})


@pytest.fixture(scope="module")
def server_port():
    loop = asyncio.new_event_loop()
    app = web.Application()
    app[CTX] = Ctx(SCENARIO, {}, store=None)
    app.router.add_route("*", "/{tail:.*}", _handler)
    runner = web.AppRunner(app, access_log=None)
    loop.run_until_complete(runner.setup())
    site = web.TCPSite(runner, "127.0.0.1", 0)
    loop.run_until_complete(site.start())
    port = runner.addresses[0][1]
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    yield port
    asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch):
    for var in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(var, raising=False)


def _config(port, ak="ak-plain", secret="secret-plain", **kw):
    from alibabacloud_tea_openapi.utils_models import Config

    return Config(access_key_id=ak, access_key_secret=secret, endpoint=f"127.0.0.1:{port}", protocol="http", **kw)


def _get_instance(port, **kw):
    from alibabacloud_dataworks_public20200518.client import Client
    from alibabacloud_dataworks_public20200518.models import GetInstanceRequest

    client = Client(_config(port, **kw))
    # A value with a space and symbols checks the canonical encodings, not just the happy path.
    return client.get_instance(GetInstanceRequest(instance_id=42, project_env="PROD a+b/c~d"))


def _describe_service(port, **kw):
    from alibabacloud_eas20210701.client import Client

    return Client(_config(port, **kw)).describe_service("cn-shanghai", "churn_model")


@pytest.mark.parametrize("algorithm", [None, "v2"])
def test_dataworks_good_signature_accepted(server_port, algorithm):
    resp = _get_instance(server_port, signature_algorithm=algorithm)
    assert resp.status_code == 200
    assert resp.body.data.node_name == "42"


@pytest.mark.parametrize("algorithm", [None, "v2"])
def test_eas_good_signature_accepted(server_port, algorithm):
    resp = _describe_service(server_port, signature_algorithm=algorithm)
    assert resp.body.service_name == "churn_model"


@pytest.mark.parametrize("call", [_get_instance, _describe_service])
@pytest.mark.parametrize("algorithm", [None, "v2"])
def test_wrong_secret_is_signature_mismatch(server_port, call, algorithm):
    from Tea.exceptions import TeaException

    with pytest.raises(TeaException) as info:
        call(server_port, secret="not-the-secret", signature_algorithm=algorithm)
    assert info.value.code == "SignatureDoesNotMatch"
    assert info.value.statusCode == 400
    assert "not-the-secret" not in str(info.value) and "secret-plain" not in str(info.value)


@pytest.mark.parametrize("call", [_get_instance, _describe_service])
@pytest.mark.parametrize("algorithm", [None, "v2"])
def test_unknown_key_not_found(server_port, call, algorithm):
    from Tea.exceptions import TeaException

    with pytest.raises(TeaException) as info:
        call(server_port, ak="nobody", signature_algorithm=algorithm)
    assert info.value.code == "InvalidAccessKeyId.NotFound"
    assert "Specified access key is not found." in info.value.message
    assert info.value.statusCode == 404


@pytest.mark.parametrize("call", [_get_instance, _describe_service])
@pytest.mark.parametrize("algorithm", [None, "v2"])
def test_sts_token_checked(server_port, call, algorithm):
    from Tea.exceptions import TeaException

    creds = {"ak": "STS.ak-temp", "secret": "secret-temp", "signature_algorithm": algorithm}
    call(server_port, security_token="token-123", **creds)  # the right token passes
    with pytest.raises(TeaException) as wrong:
        call(server_port, security_token="token-999", **creds)
    assert wrong.value.code == "InvalidSecurityToken.MismatchWithAccessKey"
    with pytest.raises(TeaException) as missing:
        call(server_port, **creds)
    assert missing.value.code == "MissingSecurityToken"


def test_body_hash_must_match(server_port):
    """A body swapped after signing (x-acs-content-sha256 no longer matches) is refused."""
    import hashlib
    import urllib.request

    body = b"InstanceId=1&ProjectEnv=PROD"
    headers = {
        "x-acs-version": "2020-05-18",
        "x-acs-action": "GetInstance",
        "content-type": "application/x-www-form-urlencoded",
        "x-acs-content-sha256": hashlib.sha256(b"something else").hexdigest(),
        "Authorization": "ACS3-HMAC-SHA256 Credential=ak-plain,SignedHeaders=host,Signature=00",
    }
    req = urllib.request.Request(f"http://127.0.0.1:{server_port}/", data=body, headers=headers, method="POST")
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with pytest.raises(urllib.error.HTTPError) as info:
        opener.open(req, timeout=10)
    assert info.value.code == 400
    assert b"SignatureDoesNotMatch" in info.value.read()


def test_rpc_string_to_sign_matches_sdk():
    """Our RPC v2 canonicalisation equals the SDK's own signer for the same parameters."""
    from alibabacloud_tea_openapi.utils import Utils

    params = {"Action": "GetInstance", "ProjectEnv": "PROD a+b/c~d*", "AccessKeyId": "ak", "Name": "\u4e2d"}
    ours = auth.rpc_signature("s3cr3t", auth.rpc_string_to_sign("POST", params))
    assert ours == Utils.get_rpcsignature(params, "POST", "s3cr3t")
