"""OSS request signatures, verified as OSS verifies them: V1 (HMAC-SHA1), V4 (region-scoped HMAC-SHA256),
STS tokens and presigned URLs of both versions.

The signing functions are a port of oss2 2.19.1's ``auth.py`` (which alibabacloud-oss-v2 matches);
tests/unit/test_emulator_oss_auth.py proves they compute what oss2's own signer computes.
Headers are passed with lower-case names; params and keys decoded.
"""

from __future__ import annotations

import base64
import calendar
import hashlib
import hmac
import time
from email.utils import parsedate_to_datetime
from typing import Mapping
from urllib.parse import quote

from .oss_xml import OssError

# Query parameters V1 signs (the rest of the query is not signed): oss2 2.19.1's set.
V1_SUBRESOURCES = frozenset([
    "accessPoint", "accessPointPolicy", "acl", "append", "asyncFetch", "bucketArchiveDirectRead", "bucketInfo",
    "callback", "callback-var", "cname", "comp", "continuation-token", "cors", "delete", "encryption",
    "endTime", "group", "httpsConfig", "inventory", "inventoryId", "lifecycle", "link", "live", "location",
    "logging", "metaQuery", "objectInfo", "objectMeta", "partNumber", "policy", "position",
    "publicAccessBlock", "qos", "qosInfo", "qosRequester", "redundancyTransition", "referer", "regionList",
    "replication", "replicationLocation", "replicationProgress", "requestPayment", "requesterQosInfo",
    "resourceGroup", "resourcePool", "resourcePoolBuckets", "resourcePoolInfo", "response-cache-control",
    "response-content-disposition", "response-content-encoding", "response-content-language",
    "response-content-type", "response-expires", "restore", "security-token", "sequential", "startTime",
    "stat", "status", "style", "styleName", "symlink", "tagging", "transferAcceleration", "uploadId",
    "uploads", "versionId", "versioning", "versions", "vod", "website", "worm", "wormExtend", "wormId",
    "x-oss-ac-forward-allow", "x-oss-ac-source-ip", "x-oss-ac-subnet-mask", "x-oss-ac-vpc-id",
    "x-oss-access-point-name", "x-oss-async-process", "x-oss-process", "x-oss-redundancy-transition-taskid",
    "x-oss-request-payer", "x-oss-target-redundancy-type", "x-oss-traffic-limit",
    "x-oss-write-get-object-response",
])
V4_DEFAULT_SIGNED = ("content-type", "content-md5")
MAX_SKEW_S = 15 * 60


def _resource(bucket: str | None, key: str | None) -> str:
    return f"/{bucket}/{key or ''}" if bucket else "/"


def v1_string_to_sign(method: str, headers: Mapping[str, str], params: Mapping[str, str],
                      bucket: str | None, key: str | None, date: str | None = None) -> str:
    oss_headers = sorted((k, v) for k, v in headers.items() if k.startswith("x-oss-"))
    sub = sorted((k, v) for k, v in params.items() if k in V1_SUBRESOURCES)
    subresource = ("?" + "&".join(f"{k}={v}" if v else k for k, v in sub)) if sub else ""
    if date is None:
        date = headers.get("x-oss-date") or headers.get("date", "")
    return "\n".join([
        method, headers.get("content-md5", ""), headers.get("content-type", ""), date,
        "".join(f"{k}:{v}\n" for k, v in oss_headers) + _resource(bucket, key) + subresource,
    ])


def v1_signature(secret: str, string_to_sign: str) -> str:
    return base64.b64encode(hmac.new(secret.encode(), string_to_sign.encode(), hashlib.sha1).digest()).decode()


def _v4_encode(text: str, keep_slash: bool) -> str:
    return quote(text, safe="/~" if keep_slash else "~")


def v4_canonical_request(method: str, headers: Mapping[str, str], params: Mapping[str, str],
                         bucket: str | None, key: str | None, additional: list[str]) -> str:
    query = sorted((_v4_encode(k, False), _v4_encode(v, False)) for k, v in params.items())
    signed = sorted((k, v) for k, v in headers.items()
                    if k.startswith("x-oss-") or k in V4_DEFAULT_SIGNED or k in additional)
    return "\n".join([
        method,
        _v4_encode(_resource(bucket, key), True),
        "&".join(f"{k}={v}" if v else k for k, v in query),
        "".join(f"{k}:{v}\n" for k, v in signed),
        ";".join(sorted(additional)),
        headers.get("x-oss-content-sha256", "UNSIGNED-PAYLOAD"),
    ])


def v4_string_to_sign(x_oss_date: str, scope: str, canonical_request: str) -> str:
    return "\n".join(["OSS4-HMAC-SHA256", x_oss_date, scope, hashlib.sha256(canonical_request.encode()).hexdigest()])


def v4_signature(secret: str, date: str, region: str, product: str, string_to_sign: str) -> str:
    k = ("aliyun_v4" + secret).encode()
    for part in (date, region, product, "aliyun_v4_request"):
        k = hmac.new(k, part.encode(), hashlib.sha256).digest()
    return hmac.new(k, string_to_sign.encode(), hashlib.sha256).hexdigest()


# verification ------------------------------------------------------------------------------------------

def _mismatch(string_to_sign: str) -> OssError:
    return OssError(403, "SignatureDoesNotMatch", "The request signature we calculated does not match the "
                    "signature you provided. Check your key and signing method.", StringToSign=string_to_sign)


def _lookup(credentials: dict[str, dict], access_key_id: str, token: str | None) -> str:
    cred = credentials.get(access_key_id)
    if cred is None:
        raise OssError(403, "InvalidAccessKeyId", "The OSS Access Key Id you provided does not exist in our records.",
                       OSSAccessKeyId=access_key_id)
    expected = cred.get("security_token")
    if expected and token != expected:
        raise OssError(403, "InvalidAccessKeyId", "The security token you provided is invalid.",
                       OSSAccessKeyId=access_key_id)
    return cred["access_key_secret"]


def _check_skew(ts: float) -> None:
    if abs(time.time() - ts) > MAX_SKEW_S:
        raise OssError(403, "RequestTimeTooSkewed",
                       "The difference between the request time and the current time is too large.")


def _v4_time(x_oss_date: str) -> float:
    try:
        return calendar.timegm(time.strptime(x_oss_date, "%Y%m%dT%H%M%SZ"))
    except ValueError:
        raise OssError(403, "AccessDenied", f"Invalid x-oss-date {x_oss_date!r}.") from None


def _check_v4(method, headers, params, bucket, key, credentials, region, credential, signature,
              additional, x_oss_date, token) -> None:
    try:
        access_key_id, date, cred_region, product, terminator = credential.split("/")
    except ValueError:
        raise invalid_auth("Credential") from None
    secret = _lookup(credentials, access_key_id, token)
    if date != x_oss_date[:8] or terminator != "aliyun_v4_request" or product != "oss":
        raise _mismatch(f"invalid credential scope {date}/{cred_region}/{product}/{terminator}")
    if cred_region != region:
        raise OssError(403, "SignatureDoesNotMatch", f"Invalid signing region in Authorization header: "
                       f"{cred_region!r}, expected {region!r}.")
    scope = f"{date}/{cred_region}/{product}/{terminator}"
    canonical = v4_canonical_request(method, headers, params, bucket, key, additional)
    string_to_sign = v4_string_to_sign(x_oss_date, scope, canonical)
    if not hmac.compare_digest(v4_signature(secret, date, cred_region, product, string_to_sign), signature):
        raise _mismatch(string_to_sign)


def invalid_auth(what: str) -> OssError:
    return OssError(400, "InvalidArgument", f"Authorization header is invalid: bad {what}.")


def verify(method: str, headers: Mapping[str, str], params: Mapping[str, str], bucket: str | None,
           key: str | None, credentials: dict[str, dict], region: str) -> str:
    """Check the request's signature; returns the AccessKey ID, raises OssError as OSS answers."""
    auth = headers.get("authorization", "")
    if auth.startswith("OSS4-HMAC-SHA256 "):
        fields = dict(f.strip().split("=", 1) for f in auth[len("OSS4-HMAC-SHA256 "):].split(",") if "=" in f)
        if "Credential" not in fields or "Signature" not in fields:
            raise invalid_auth("Credential or Signature")
        x_oss_date = headers.get("x-oss-date", "")
        _check_skew(_v4_time(x_oss_date))
        additional = [h for h in fields.get("AdditionalHeaders", "").split(";") if h]
        _check_v4(method, headers, params, bucket, key, credentials, region, fields["Credential"],
                  fields["Signature"], additional, x_oss_date, headers.get("x-oss-security-token"))
        return fields["Credential"].split("/")[0]
    if auth.startswith("OSS "):
        access_key_id, _, signature = auth[4:].rpartition(":")
        # the v2 SDK sends the STS token as `security-token` with V1
        secret = _lookup(credentials, access_key_id,
                         headers.get("x-oss-security-token") or headers.get("security-token"))
        try:
            _check_skew(parsedate_to_datetime(headers.get("x-oss-date") or headers.get("date", "")).timestamp())
        except (TypeError, ValueError):
            raise OssError(403, "AccessDenied", "Missing or invalid Date header.") from None
        string_to_sign = v1_string_to_sign(method, headers, params, bucket, key)
        if not hmac.compare_digest(v1_signature(secret, string_to_sign), signature):
            raise _mismatch(string_to_sign)
        return access_key_id
    if params.get("x-oss-signature-version") == "OSS4-HMAC-SHA256":
        x_oss_date = params.get("x-oss-date", "")
        if _v4_time(x_oss_date) + int(params.get("x-oss-expires", "0") or 0) < time.time():
            raise OssError(403, "AccessDenied", "Request has expired.")
        unsigned = {k: v for k, v in params.items() if k != "x-oss-signature"}
        additional = [h for h in params.get("x-oss-additional-headers", "").split(";") if h]
        _check_v4(method, headers, unsigned, bucket, key, credentials, region, params.get("x-oss-credential", ""),
                  params.get("x-oss-signature", ""), additional, x_oss_date, params.get("x-oss-security-token"))
        return params["x-oss-credential"].split("/")[0]
    if "OSSAccessKeyId" in params and "Signature" in params:
        expires = params.get("Expires", "")
        if not expires.isdigit() or int(expires) < time.time():
            raise OssError(403, "AccessDenied", "Request has expired.")
        secret = _lookup(credentials, params["OSSAccessKeyId"], params.get("security-token"))
        string_to_sign = v1_string_to_sign(method, headers, params, bucket, key, date=expires)
        if not hmac.compare_digest(v1_signature(secret, string_to_sign), params["Signature"]):
            raise _mismatch(string_to_sign)
        return params["OSSAccessKeyId"]
    raise OssError(403, "AccessDenied", "You have no right to access this object because of bucket acl.")
