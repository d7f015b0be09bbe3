"""Signature checks for the OpenAPI services (DataWorks RPC, EAS ROA), as the Tea SDKs sign.

Three schemes, mirroring ``alibabacloud_tea_openapi.utils``:

- ACS3-HMAC-SHA256 (the SDK default): ``Authorization: ACS3-HMAC-SHA256 Credential=..,SignedHeaders=..,Signature=..``
- legacy RPC HMAC-SHA1 (``Config.signature_algorithm='v2'`` on an RPC API): ``Signature`` etc. in the query
- legacy ROA HMAC-SHA1 (the same setting on a ROA API such as EAS): ``Authorization: acs <id>:<sig>``

``verify(request, body, ctx)`` returns None when the request is authentic, else the error reply
Alibaba Cloud gives. OSS checks its own signatures in ``oss.py``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from urllib.parse import parse_qsl, quote, quote_plus

from aiohttp import web

from .common import Ctx, acs_error

NOT_FOUND_MESSAGE = "Specified access key is not found."
MISMATCH_MESSAGE = "Specified signature is not matched with our calculation."


class AuthError(Exception):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message

    def response(self) -> web.Response:
        return acs_error(self.status, self.code, self.message)


def _mismatch(detail: str = "") -> AuthError:
    # Like the real gateway, show the server's string to sign (it holds no secret) to help debugging.
    suffix = f" server string to sign is:{detail}" if detail else ""
    return AuthError(400, "SignatureDoesNotMatch", MISMATCH_MESSAGE + suffix)


def _credential(ctx: Ctx, access_key_id: str, security_token: str | None) -> str:
    """The secret for ``access_key_id``; checks the STS token when the credential has one."""
    cred = ctx.credentials().get(access_key_id)
    if cred is None:
        raise AuthError(404, "InvalidAccessKeyId.NotFound", NOT_FOUND_MESSAGE)
    expected = cred.get("security_token")
    if expected:
        if not security_token:
            raise AuthError(400, "MissingSecurityToken", "SecurityToken is mandatory for this action.")
        if not hmac.compare_digest(security_token, expected):
            raise AuthError(
                400, "InvalidSecurityToken.MismatchWithAccessKey", "Specified SecurityToken mismatch with the AccessKey."
            )
    return cred["access_key_secret"]


# ACS3-HMAC-SHA256 ---------------------------------------------------------------------------------


def acs3_canonical_request(
    method: str, raw_path: str, query: dict[str, str], headers: dict[str, list[str]], signed: list[str], payload_hash: str
) -> str:
    """As ``get_authorization`` builds it: query keys unencoded, values quoted with safe='~'."""
    canon_query = "&".join(f"{k}={quote(query[k], safe='~')}" for k in sorted(query))
    canon_headers = "".join(f"{h}:{','.join(sorted(v.strip() for v in headers.get(h, [])))}\n" for h in signed)
    return f"{method}\n{raw_path or '/'}\n{canon_query}\n{canon_headers}\n{';'.join(signed)}\n{payload_hash}"


def acs3_signature(secret: str, canonical_request: str) -> str:
    to_sign = "ACS3-HMAC-SHA256\n" + hashlib.sha256(canonical_request.encode()).hexdigest()
    return hmac.new(secret.encode(), to_sign.encode(), hashlib.sha256).hexdigest()


def _parse_acs3(value: str) -> dict[str, str]:
    parts = {}
    for item in value[len("ACS3-HMAC-SHA256 ") :].split(","):
        k, _, v = item.strip().partition("=")
        parts[k] = v
    return parts


def _verify_acs3(request: web.Request, body: bytes, ctx: Ctx, authorization: str) -> None:
    parts = _parse_acs3(authorization)
    access_key_id = parts.get("Credential", "")
    secret = _credential(ctx, access_key_id, request.headers.get("x-acs-security-token"))
    payload_hash = hashlib.sha256(body).hexdigest()
    claimed = request.headers.get("x-acs-content-sha256")
    if claimed is not None and claimed != payload_hash:
        raise AuthError(400, "SignatureDoesNotMatch", "x-acs-content-sha256 does not match the request body.")
    signed = [h for h in parts.get("SignedHeaders", "").split(";") if h]
    headers = {h: request.headers.getall(h, []) for h in signed}
    query = dict(parse_qsl(request.query_string, keep_blank_values=True))
    canonical = acs3_canonical_request(request.method, request.rel_url.raw_path, query, headers, signed, payload_hash)
    if not hmac.compare_digest(acs3_signature(secret, canonical), parts.get("Signature", "")):
        raise _mismatch()


# legacy RPC HMAC-SHA1 -----------------------------------------------------------------------------


def rpc_string_to_sign(method: str, params: dict[str, str]) -> str:
    canon = "&".join(f"{quote(k, safe='~')}={quote(params[k], safe='~')}" for k in sorted(params))
    return f"{method}&%2F&{quote_plus(canon, safe='~')}"


def rpc_signature(secret: str, string_to_sign: str) -> str:
    digest = hmac.new((secret + "&").encode(), string_to_sign.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def _verify_rpc(request: web.Request, params: dict[str, str], ctx: Ctx) -> None:
    secret = _credential(ctx, params.get("AccessKeyId", ""), params.get("SecurityToken"))
    signed = {k: v for k, v in params.items() if k != "Signature"}
    to_sign = rpc_string_to_sign(request.method, signed)
    if not hmac.compare_digest(rpc_signature(secret, to_sign), params.get("Signature", "")):
        raise _mismatch(to_sign)


# legacy ROA HMAC-SHA1 -----------------------------------------------------------------------------


def roa_string_to_sign(method: str, headers: dict[str, str], raw_path: str, query: dict[str, str]) -> str:
    head = "\n".join(headers.get(h, "") for h in ("accept", "content-md5", "content-type", "date"))
    acs = "".join(f"{k}:{headers[k]}\n" for k in sorted(h for h in headers if h.startswith("x-acs-")))
    resource = raw_path
    if query:
        resource += "?" + "&".join(k if query[k] == "" else f"{k}={query[k]}" for k in sorted(query))
    return f"{method}\n{head}\n{acs}{resource}"


def _verify_roa(request: web.Request, ctx: Ctx, authorization: str) -> None:
    access_key_id, _, signature = authorization[len("acs ") :].partition(":")
    secret = _credential(ctx, access_key_id, request.headers.get("x-acs-security-token"))
    headers = {k.lower(): v for k, v in request.headers.items()}
    query = dict(parse_qsl(request.query_string, keep_blank_values=True))
    to_sign = roa_string_to_sign(request.method, headers, request.rel_url.raw_path, query)
    expected = base64.b64encode(hmac.new(secret.encode(), to_sign.encode(), hashlib.sha1).digest()).decode()
    if not hmac.compare_digest(expected, signature):
        raise _mismatch()


def verify(request: web.Request, body: bytes, params: dict[str, str], ctx: Ctx) -> web.Response | None:
    """None if the request is signed by a scenario credential, else the error response to send.

    ``params`` are the merged query and form parameters (what an RPC v2 signature covers).
    """
    authorization = request.headers.get("Authorization", "")
    try:
        if authorization.startswith("ACS3-HMAC-SHA256 "):
            _verify_acs3(request, body, ctx, authorization)
        elif authorization.startswith("acs "):
            _verify_roa(request, ctx, authorization)
        elif "Signature" in params:
            _verify_rpc(request, params, ctx)
        else:
            raise AuthError(400, "MissingAccessKeyId", "AccessKeyId is mandatory for this action.")
    except AuthError as e:
        return e.response()
    return None
