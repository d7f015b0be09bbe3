"""hooks/errors.py: PaiApiError, Success:false bodies, SDK exception classification and hints."""

from __future__ import annotations

import pickle

import pytest

from airflow_provider_pai.hooks.errors import PaiApiError, check_success


def test_success_false_is_an_error(monkeypatch):
    body = {"Success": False, "ErrorCode": "Invalid.Param", "ErrorMessage": "bad id", "RequestId": "R9",
            "HttpStatusCode": 200}
    with pytest.raises(PaiApiError) as info:
        check_success("GetInstance", body)
    assert (info.value.code, info.value.message, info.value.request_id) == ("Invalid.Param", "bad id", "R9")
    assert check_success("GetInstance", {"Success": True, "Data": 1}) == {"Success": True, "Data": 1}

    class Model:  # the SDK's response bodies expose to_map()
        def to_map(self):
            return body

    with pytest.raises(PaiApiError):
        check_success("GetInstance", Model())


def test_a_bad_sts_token_gets_the_token_hint_even_when_oss_calls_it_an_access_key_error():
    err = PaiApiError("GetObject", "InvalidAccessKeyId", "The security token you provided is invalid.", "RID", 403)
    assert "STS token" in str(err) and "security_token" in str(err)


def test_pai_api_error_survives_pickling_with_its_hint():
    err = PaiApiError("GetInstance", "X.Y", "msg", "RID", 400, hint="do this")
    copy = pickle.loads(pickle.dumps(err))
    assert (copy.action, copy.code, copy.message, copy.request_id, copy.status_code, copy.hint) == (
        "GetInstance", "X.Y", "msg", "RID", 400, "do this")


def test_pai_api_error_is_still_importable_from_hooks_base():
    from airflow_provider_pai.hooks import base

    assert base.PaiApiError is PaiApiError and base.check_success is check_success


# ---- the error-code table: retry or fail, and what to do next -----------------------------------

from airflow_provider_pai.hooks.error_codes import RULES, rule_for  # noqa: E402
from airflow_provider_pai.hooks.errors import classify, error_hint, is_retryable  # noqa: E402
from tests.unit.hooks.sdk_errors import client_exc, failing, make_hook, oss_server_error, server_exc  # noqa: E402


@pytest.mark.parametrize(
    "code, status, retry",
    [
        ("Throttling.User", 429, True),
        ("Throttling.Api", 429, True),
        ("Throttling.System", 429, True),
        ("Throttling", 400, True),
        ("Throttling.Api.Risk", 429, False),  # daily quota: clears the next day
        ("Throttling.Resource", 429, False),  # edition quota
        ("Forbidden.Not.Server", 500, False),  # a 500 that will not heal: not offered in the region
        ("Invalid.Wkbench.Parameter", 500, False),
        ("InternalError.System", 500, True),
        ("InternalError.UserId.Missing", 500, True),
        ("ServiceUnavailable", 503, True),
        ("UNKNOWN.ERROR", 500, True),
        ("SomethingNew", 502, True),  # unknown 5xx: transient
        ("SomethingNew", 400, False),  # unknown 4xx: a business error
        ("Forbidden.Access", 403, False),
        ("ResourceNotAuthorized.Api", 403, False),
        ("TLSError", None, False),
        ("ConnectionError", None, True),
    ],
)
def test_each_code_is_retried_or_not(code, status, retry):
    assert is_retryable(code, status) is retry


def test_a_daily_quota_throttle_fails_at_once_naming_quota_and_edition(monkeypatch):
    sleeps = []
    hook = make_hook(monkeypatch, sleeps)
    fn = failing([client_exc("Throttling.Api.Risk", status=429)] * 3)
    with pytest.raises(PaiApiError) as info:
        hook.call("GetInstance", fn)
    assert len(fn.calls) == 1 and sleeps == []
    assert "daily API quota" in str(info.value) and "edition" in str(info.value)


def test_service_not_offered_in_the_region_is_not_retried_and_not_called_a_permission_problem(monkeypatch):
    sleeps = []
    hook = make_hook(monkeypatch, sleeps, region_id="ap-south-1")
    hook.service = "dataworks"
    fn = failing([server_exc("Forbidden.Not.Server", 500)] * 3)
    with pytest.raises(PaiApiError) as info:
        hook.call("RunCycleDagNodes", fn)
    assert len(fn.calls) == 1 and sleeps == []
    text = str(info.value)
    assert "not offered in region ap-south-1" in text and "not a permission problem" in text


def test_invalid_signing_region_gets_a_region_hint(monkeypatch):
    hook = make_hook(monkeypatch, region_id="cn-beijing")
    error = oss_server_error(403, "SignatureDoesNotMatch")
    error.message = "Invalid signing region in Authorization header: 'cn-beijing', expected 'cn-shanghai'."
    with pytest.raises(PaiApiError) as info:
        hook.call("GetObject", failing([error]))
    assert "region_id" in info.value.hint and "cn-beijing" in info.value.hint
    assert "AccessKey secret" not in info.value.hint


@pytest.mark.parametrize(
    "text",
    [
        "HTTPSConnectionPool(host='127.0.0.1', port=8765): Max retries exceeded (Caused by SSLError(SSLError(1, "
        "'[SSL: WRONG_VERSION_NUMBER] wrong version number (_ssl.c:1006)')))",
        "Cannot connect to host 127.0.0.1:8765 ssl:True [SSLCertVerificationError: (1, '[SSL: "
        "CERTIFICATE_VERIFY_FAILED] certificate verify failed: self-signed certificate (_ssl.c:1006)')]",
    ],
)
def test_tls_handshake_failures_are_not_retried_and_hint_the_protocol(monkeypatch, text):
    from darabonba.exceptions import RetryError

    sleeps = []
    hook = make_hook(monkeypatch, sleeps)
    hook.service = "dataworks"
    fn = failing([RetryError(text)] * 3)
    with pytest.raises(PaiApiError) as info:
        hook.call("GetInstance", fn)
    assert len(fn.calls) == 1 and sleeps == []
    assert info.value.code == "TLSError" and '"protocol": "http"' in info.value.hint
    assert "dataworks_endpoint" in info.value.hint


def test_oss2_tls_failure_is_classified():
    import requests
    from oss2.exceptions import RequestError

    exc = RequestError(requests.exceptions.SSLError("[SSL: WRONG_VERSION_NUMBER] wrong version number"))
    assert classify(exc)[0] == "TLSError"


@pytest.mark.parametrize(
    "text",
    [
        "Connection refused",
        # aiohttp names the TLS setting in every failed connect, plain-HTTP refusals and resets too.
        "Cannot connect to host 127.0.0.1:8765 ssl:default [Connect call failed ('127.0.0.1', 8765)]",
        "Cannot connect to host 127.0.0.1:8765 ssl:None [Connection reset by peer]",
    ],
)
def test_a_plain_connection_failure_stays_retryable(text):
    from darabonba.exceptions import RetryError

    assert classify(RetryError(text))[0] == "ConnectionError"


def test_first_match_wins_for_action_and_message_conditions():
    assert "run_mode='manual'" in error_hint("RunCycleDagNodes", "Forbidden.Access")
    assert "run_mode" not in error_hint("GetInstance", "Forbidden.Access")
    assert "STS token" in error_hint("GetObject", "InvalidAccessKeyId", message="The security token you provided")
    assert "AccessKey ID" in error_hint("GetObject", "InvalidAccessKeyId", message="no such key id")
    assert rule_for("Throttling.Api.Risk").row == "F-ERR-DW2"


def _fidelity_rows() -> dict[str, str]:
    """{code (+ " signing region" when the row has a message condition): verdict} from docs/cloud-fidelity.md."""
    import re
    from pathlib import Path

    text = Path(__file__).resolve().parents[3].joinpath("docs", "cloud-fidelity.md").read_text()
    section = text.split("## Errors, retries and the error-code classification", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        found = re.match(r"`([^`]+)`(.*)", cells[1]) if len(cells) >= 5 else None
        if found and cells[3] in ("retry", "fail", "fail with hint"):
            rows[found.group(1) + (" signing region" if "signing region" in found.group(2) else "")] = cells[3]
    return rows


def test_the_fidelity_table_and_the_code_table_agree():
    rows = _fidelity_rows()
    assert len(rows) >= 25, rows
    for code, verdict in rows.items():
        message = "signing region" if code.endswith(" signing region") else ""
        code = code.removesuffix(" signing region")
        sample = code.rstrip("*") + ("X" if code.endswith("*") else "")
        rule = rule_for(sample, message=message)
        status = 500 if verdict == "retry" else 400
        assert is_retryable(sample, status) is (verdict == "retry"), code
        if verdict == "fail with hint":
            assert rule is not None and rule.hint, code
    table_codes = {rule.pattern + (" signing region" if rule.message == "signing region" else "") for rule in RULES}
    assert table_codes <= set(rows), table_codes - set(rows)
