"""Real SDK exceptions built the way the SDKs build them, and connection helpers, for the hook unit tests."""

from __future__ import annotations

import json

SECRET = "s3cr3t-AccessKeySecret-value"
TOKEN = "sts-token-CAIS-very-secret"


def set_conn(monkeypatch, conn_id="pai_test", login="LTAIexample", password=SECRET, **extra):
    extra.setdefault("region_id", "cn-shanghai")
    monkeypatch.setenv(
        f"AIRFLOW_CONN_{conn_id.upper()}",
        json.dumps({"conn_type": "alibaba_cloud_pai", "login": login, "password": password, "extra": extra}),
    )
    return conn_id


def make_hook(monkeypatch, sleeps=None, **extra):
    from airflow_provider_pai.hooks.base import AlibabaCloudBaseHook

    conn_id = set_conn(monkeypatch, **extra)
    sleeps = [] if sleeps is None else sleeps
    return AlibabaCloudBaseHook(pai_conn_id=conn_id, sleep=sleeps.append)


def client_exc(code, status=400, request_id="REQ-1", message="denied"):
    from alibabacloud_tea_openapi.exceptions import ClientException

    err = {"RequestId": request_id, "Code": code, "Message": message}
    return ClientException(status_code=status, code=code, message=f"code: {status}, {message} request id: {request_id}",
                           data=err, request_id=request_id)


def server_exc(code="InternalError", status=500, request_id="REQ-5"):
    from alibabacloud_tea_openapi.exceptions import ServerException

    return ServerException(status_code=status, code=code, message=f"code: {status}, boom request id: {request_id}",
                           data={"RequestId": request_id, "Code": code}, request_id=request_id)


def throttling_exc(retry_after_ms, code="Throttling.User", status=429):
    from alibabacloud_tea_openapi.exceptions import ThrottlingException

    return ThrottlingException(status_code=status, code=code, message=f"code: {status}, slow down request id: T",
                               retry_after=retry_after_ms, data={"RequestId": "T"}, request_id="T")


def unretryable(inner):
    from darabonba.exceptions import UnretryableException
    from darabonba.policy.retry import RetryPolicyContext

    return UnretryableException(RetryPolicyContext(retries_attempted=0, exception=inner))


def connection_refused():
    from darabonba.exceptions import RetryError

    # What darabonba's core raises for any IOError from requests (refused, reset, timeout).
    return unretryable(RetryError("HTTPConnectionPool(host='127.0.0.1', port=9): Connection refused"))


def gateway_page():
    try:
        json.loads("<html><body>502 Bad Gateway</body></html>")
    except json.JSONDecodeError as exc:
        return unretryable(exc)


def oss_server_error(status, code):
    from oss2.exceptions import ServerError

    return ServerError(status, {"x-oss-request-id": "OSS-REQ"}, b"<Error/>", {"Code": code, "Message": "oss says no"})


def oss_request_error():
    import requests
    from oss2.exceptions import RequestError

    return RequestError(requests.exceptions.ConnectionError("Connection reset by peer"))


def failing(errors, result="ok"):
    calls = []

    def fn():
        calls.append(1)
        if len(calls) <= len(errors):
            raise errors[len(calls) - 1]
        return result

    fn.calls = calls
    return fn
