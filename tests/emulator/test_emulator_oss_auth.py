"""The emulator's port of OSS signing computes exactly what oss2's own signer computes.

Each case signs a request with oss2 (V1, V4, STS, presigned URLs) and checks that the emulator's
``verify`` accepts it, that the emulator's string-to-sign/signature functions equal oss2's private
ones, and that a different secret is refused.
"""

from __future__ import annotations

import time
from urllib.parse import parse_qsl, urlsplit

import pytest

from airflow_provider_pai.emulator import oss_auth
from airflow_provider_pai.emulator.oss_xml import OssError

AK, SK, TOKEN, REGION, BUCKET = "test-ak", "test-secret", "sts-token/with+odd=chars", "cn-shanghai", "pai-demo"
CREDS = {AK: {"access_key_id": AK, "access_key_secret": SK}}
STS_CREDS = {AK: {"access_key_id": AK, "access_key_secret": SK, "security_token": TOKEN}}

CASES = [  # (method, key, params, headers)
    ("GET", "models/v1/model.bin", {}, {}),
    ("PUT", "models/v1/model.json", {},
     {"Content-Type": "application/json", "x-oss-meta-Owner": "ml team", "Cache-Control": "no-cache"}),
    ("PUT", "a key/with spaces+plus/ünïcode~.txt", {}, {"Content-MD5": "XUFAKrxLKna5cZ2REBfFkg=="}),
    ("HEAD", "models/v1/model.bin", {"objectMeta": ""}, {}),
    ("POST", "big/object.bin", {"uploads": ""}, {"Content-Type": "application/octet-stream"}),
    ("PUT", "big/object.bin", {"partNumber": "3", "uploadId": "ABC123"},
     {"x-oss-copy-source": "/pai-demo/src%2Fkey.bin", "x-oss-copy-source-range": "bytes=0-102399"}),
    ("GET", "", {"list-type": "2", "prefix": "models/", "delimiter": "/", "continuation-token": "bW9kZWxz",
                 "max-keys": "100", "encoding-type": "url", "fetch-owner": "false"}, {}),
    ("GET", "", {"prefix": "a b/", "marker": "a b/c", "max-keys": "2"}, {}),
    ("DELETE", "big/object.bin", {"uploadId": "ABC123"}, {}),
]


def _oss2_request(method, bucket, key, params, headers, region=None):
    import oss2

    url = f"http://127.0.0.1:1/{bucket}/{oss2.compat.urlquote(key, '')}"
    return oss2.http.Request(method, url, params=dict(params), headers=dict(headers), region=region, product="oss")


def _wire_headers(req) -> dict[str, str]:
    """What the server receives: every header with a value, lower-cased names."""
    return {k.lower(): v for k, v in req.headers.items() if v is not None}


def _verify(req, key, creds=CREDS, params=None):
    return oss_auth.verify(req.method, _wire_headers(req), req.params if params is None else params,
                           BUCKET, key or None, creds, REGION)


@pytest.mark.parametrize("method,key,params,headers", CASES)
def test_v1_port_matches_oss2(method, key, params, headers):
    import oss2

    auth = oss2.Auth(AK, SK)
    req = _oss2_request(method, BUCKET, key, params, headers)
    auth._sign_request(req, BUCKET, key)
    wire = _wire_headers(req)
    ours = oss_auth.v1_string_to_sign(method, wire, req.params, BUCKET, key)
    theirs = auth._ProviderAuth__get_bytes_to_sign(req, BUCKET, key).decode()
    assert ours == theirs
    assert req.headers["authorization"] == f"OSS {AK}:{oss_auth.v1_signature(SK, ours)}"
    assert _verify(req, key) == AK
    with pytest.raises(OssError) as err:
        _verify(req, key, creds={AK: {"access_key_secret": "other"}})
    assert err.value.code == "SignatureDoesNotMatch"


@pytest.mark.parametrize("method,key,params,headers", CASES)
def test_v4_port_matches_oss2(method, key, params, headers):
    import oss2

    auth = oss2.AuthV4(AK, SK)
    req = _oss2_request(method, BUCKET, key, params, headers, region=REGION)
    auth._sign_request(req, BUCKET, key, in_additional_headers=["cache-control"])
    wire = _wire_headers(req)
    fields = dict(f.strip().split("=", 1) for f in req.headers["authorization"].split(" ", 1)[1].split(","))
    additional = [h for h in fields.get("AdditionalHeaders", "").split(";") if h]
    ours = oss_auth.v4_canonical_request(method, wire, req.params, BUCKET, key, additional)
    theirs = auth._ProviderAuthV4__get_canonical_request_bytes(req, BUCKET, key, additional or None).decode()
    assert ours == theirs
    assert _verify(req, key) == AK
    with pytest.raises(OssError) as err:
        _verify(req, key, creds={AK: {"access_key_secret": "other"}})
    assert err.value.code == "SignatureDoesNotMatch"


def test_v4_signature_scoped_to_region():
    import oss2

    req = _oss2_request("GET", BUCKET, "k", {}, {}, region="cn-beijing")
    oss2.AuthV4(AK, SK)._sign_request(req, BUCKET, "k")
    with pytest.raises(OssError) as err:
        _verify(req, "k")
    assert (err.value.status, err.value.code) == (403, "SignatureDoesNotMatch")
    assert "region" in err.value.message


@pytest.mark.parametrize("auth_factory,region", [
    (lambda: __import__("oss2").StsAuth(AK, SK, TOKEN), None),
    (lambda: __import__("oss2").StsAuth(AK, SK, TOKEN, auth_version="v4"), REGION),
])
def test_sts_token_must_match(auth_factory, region):
    auth = auth_factory()
    req = _oss2_request("GET", BUCKET, "k", {}, {}, region=region)
    auth._sign_request(req, BUCKET, "k")
    assert _verify(req, "k", creds=STS_CREDS) == AK
    req.headers["x-oss-security-token"] = "another-token"
    with pytest.raises(OssError) as err:
        _verify(req, "k", creds=STS_CREDS)
    assert (err.value.status, err.value.code) == (403, "InvalidAccessKeyId")


def test_unknown_access_key():
    import oss2

    req = _oss2_request("GET", BUCKET, "k", {}, {})
    oss2.Auth("nobody", SK)._sign_request(req, BUCKET, "k")
    with pytest.raises(OssError) as err:
        _verify(req, "k")
    assert (err.value.status, err.value.code) == (403, "InvalidAccessKeyId")


def test_unsigned_request_denied():
    with pytest.raises(OssError) as err:
        oss_auth.verify("GET", {}, {}, BUCKET, "k", CREDS, REGION)
    assert (err.value.status, err.value.code) == (403, "AccessDenied")


def test_stale_date_refused():
    import oss2

    req = _oss2_request("GET", BUCKET, "k", {}, {})
    oss2.Auth(AK, SK)._sign_request(req, BUCKET, "k")
    req.headers["date"] = oss2.utils.http_date(int(time.time()) - 3600)
    with pytest.raises(OssError) as err:
        _verify(req, "k")
    assert err.value.code == "RequestTimeTooSkewed"


@pytest.mark.parametrize("version", ["v1", "v4"])
@pytest.mark.parametrize("sts", [False, True])
def test_presigned_urls(version, sts):
    import oss2

    cls = oss2.StsAuth if sts else None
    if cls:
        auth = oss2.StsAuth(AK, SK, TOKEN, auth_version=version)
    else:
        auth = oss2.AuthV4(AK, SK) if version == "v4" else oss2.Auth(AK, SK)
    bucket = oss2.Bucket(auth, "http://127.0.0.1:1", BUCKET, region=REGION)
    url = bucket.sign_url("GET", "dir/file name.txt", 60)
    parts = urlsplit(url)
    params = dict(parse_qsl(parts.query, keep_blank_values=True))
    creds = STS_CREDS if sts else CREDS
    assert oss_auth.verify("GET", {}, params, BUCKET, "dir/file name.txt", creds, REGION) == AK
    signature_param = "x-oss-signature" if version == "v4" else "Signature"
    tampered = {**params, signature_param: params[signature_param][:-2] + "AA"}
    with pytest.raises(OssError) as err:
        oss_auth.verify("GET", {}, tampered, BUCKET, "dir/file name.txt", creds, REGION)
    assert err.value.code == "SignatureDoesNotMatch"
    with pytest.raises(OssError):  # the signature covers the key
        oss_auth.verify("GET", {}, params, BUCKET, "dir/other.txt", creds, REGION)
