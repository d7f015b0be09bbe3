"""RAM policy enforcement: a scenario credential may carry ``ram_policy`` (a RAM policy document),
and then each call it signs is allowed only if the policy allows the RAM action(s) the API needs.

A credential without ``ram_policy`` is allowed everything (an account's own AccessKey). Evaluation
as RAM does it: an explicit Deny wins, then any Allow, else an implicit deny. Actions match
case-insensitively with ``*`` wildcards, resources case-sensitively with ``*``/``?``. Conditions
are not evaluated. See docs/ram-policy.md and rows F-RAM-* in docs/cloud-fidelity.md.
"""

from __future__ import annotations

import base64
import fnmatch
import re
from urllib.parse import unquote

from aiohttp import web

from .common import acs_error, new_request_id

DEFAULT_ACCOUNT = "1234567890123456"  # scenario key ``account_id`` overrides it

# OSS API -> RAM action on the object (F-RAM-OSS-1); bucket-level APIs below.
_OSS_OBJECT_ACTIONS = {
    "GetObject": "oss:GetObject", "HeadObject": "oss:GetObject", "GetObjectMeta": "oss:GetObject",
    "PutObject": "oss:PutObject", "CopyObject": "oss:PutObject", "AppendObject": "oss:PutObject",
    "InitiateMultipartUpload": "oss:PutObject", "UploadPart": "oss:PutObject", "UploadPartCopy": "oss:PutObject",
    "CompleteMultipartUpload": "oss:PutObject", "AbortMultipartUpload": "oss:AbortMultipartUpload",
    "ListParts": "oss:ListParts", "DeleteObject": "oss:DeleteObject",
}
_OSS_BUCKET_ACTIONS = {
    "ListObjects": "oss:ListObjects", "ListObjectsV2": "oss:ListObjects", "GetBucketInfo": "oss:GetBucketInfo",
    "GetBucketLocation": "oss:GetBucketLocation", "ListMultipartUploads": "oss:ListMultipartUploads",
    "DeleteMultipleObjects": "oss:DeleteObject",
}
_EAS_SERVICE_PATH = re.compile(r"^/api/v2/services/[^/]+/([^/]+)")


def access_key_id(request: web.Request, params: dict[str, str] | None = None) -> str | None:
    """The AccessKey ID a request is signed with, in any of the schemes the emulator verifies."""
    auth = request.headers.get("Authorization", "")
    for pattern in (r"^ACS3-HMAC-SHA256 .*?Credential=([^,]+)", r"^acs ([^:]+):", r"^OSS ([^:]+):",
                    r"^OSS4-HMAC-SHA256 .*?Credential=([^/,]+)/"):
        match = re.match(pattern, auth)
        if match:
            return match.group(1).strip()
    params = params if params is not None else dict(request.query)
    for key in ("AccessKeyId", "OSSAccessKeyId"):
        if params.get(key):
            return params[key]
    credential = params.get("x-oss-credential")
    return credential.split("/")[0] if credential else None


def required(service: str, action: str, request: web.Request, region: str, account: str) -> list[tuple[str, str]]:
    """``[(ram_action, resource_arn), ...]`` a call needs."""
    if service == "dataworks":
        # F-RAM-DW-1: DataWorks 2020-05-18 APIs are authorized as `dataworks:*` on all resources;
        # a policy naming the API (`dataworks:GetInstance`) is accepted too.
        return [(f"dataworks:{action}", "*")]
    if service == "eas":
        match = _EAS_SERVICE_PATH.match(request.path)
        resource = f"acs:eas:{region}:{account}:service/{match.group(1)}" if match else "*"  # F-RAM-EAS-1
        return [(f"eas:{action}", resource)]
    if service == "oss":
        from .oss import split_path

        bucket, key = split_path(request)
        if bucket is None:
            return [("oss:ListBuckets", f"acs:oss:*:{account}:*")]
        if key is None:
            return [(_OSS_BUCKET_ACTIONS.get(action, f"oss:{action}"), f"acs:oss:*:{account}:{bucket}")]
        needs = [(_OSS_OBJECT_ACTIONS.get(action, f"oss:{action}"), f"acs:oss:*:{account}:{bucket}/{key}")]
        source = request.headers.get("x-oss-copy-source")
        if source:  # a copy also reads its source
            src = unquote(source.split("?")[0]).lstrip("/")
            needs.append(("oss:GetObject", f"acs:oss:*:{account}:{src}"))
        return needs
    return []  # predict: the service token authorizes it, not RAM


def _listify(value) -> list[str]:
    return [value] if isinstance(value, str) else list(value or [])


def _statements(policy) -> list[dict]:
    return policy.get("Statement", []) if isinstance(policy, dict) else list(policy or [])


def allowed(policy, ram_action: str, resource: str) -> bool:
    verdict = False
    for statement in _statements(policy):
        acts = [a.lower() for a in _listify(statement.get("Action"))]
        if not any(fnmatch.fnmatchcase(ram_action.lower(), a) for a in acts):
            continue
        if not any(r == "*" or (resource != "*" and fnmatch.fnmatchcase(resource, r))
                   for r in _listify(statement.get("Resource"))):
            continue
        if statement.get("Effect", "Allow") == "Deny":
            return False
        verdict = True
    return verdict


def _denied_detail(ram_action: str) -> dict:
    # F-RAM-ERR-4: newer gateways add this block naming the action; its exact shape is inferred.
    return {"AuthAction": ram_action, "PolicyType": "AccountLevelIdentityBasedPolicy", "NoPermissionType": "ImplicitDeny"}


def denial(service: str, ram_action: str, resource: str, method: str) -> web.Response:
    """The error each service answers for a call its RAM policy does not allow."""
    if service == "oss":  # F-RAM-ERR-3
        message = f"You have no right to access this object because of RAM policy: {ram_action} on {resource}."
        request_id = new_request_id()
        xml = ('<?xml version="1.0" encoding="UTF-8"?>\n'
               f"<Error><Code>AccessDenied</Code><Message>{message}</Message><RequestId>{request_id}</RequestId>"
               f"<HostId>emulator</HostId><AuthAction>{ram_action}</AuthAction></Error>")
        headers = {"x-oss-request-id": request_id}
        if method == "HEAD":  # a HEAD answer has no body: oss2 reads the error from x-oss-err
            headers["x-oss-err"] = base64.b64encode(xml.encode()).decode()
            return web.Response(status=403, headers=headers)
        return web.Response(status=403, body=xml.encode(), content_type="application/xml", headers=headers)
    detail = {"AccessDeniedDetail": _denied_detail(ram_action)}
    if service == "dataworks":  # F-RAM-ERR-1
        return acs_error(403, "ResourceNotAuthorized.Api",
                         f"You are not authorized to access the resources. The RAM policy does not allow {ram_action}.",
                         extra=detail)
    # F-RAM-ERR-2
    return acs_error(403, "Forbidden.RAM",
                     f"User not authorized to operate on the specified resource: {ram_action} on {resource}.",
                     extra=detail)


def check(request: web.Request, service: str, action: str, ctx, params: dict[str, str] | None = None
          ) -> web.Response | None:
    """None when the call's credential may make it, else the service's access-denied answer."""
    key = access_key_id(request, params)
    policy = (ctx.credentials().get(key) or {}).get("ram_policy") if key else None
    if policy is None:
        return None
    account = str(ctx.scenario.get("account_id", DEFAULT_ACCOUNT))
    for ram_action, resource in required(service, action, request, ctx.region_id, account):
        if not allowed(policy, ram_action, resource):
            return denial(service, ram_action, resource, request.method)
    return None
