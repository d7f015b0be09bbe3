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
