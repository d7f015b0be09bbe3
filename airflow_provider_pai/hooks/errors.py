"""Alibaba Cloud failures: ``PaiApiError``, SDK exception classification, retry rule and hints.

Pure functions over exceptions and codes (no connection, no SDK import at module level), so the
base hook's retry loop, the hooks and the tests share one reading of every failure.
"""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

from airflow.providers.common.compat.sdk import AirflowException

from airflow_provider_pai.hooks.error_codes import rule_for


class PaiApiError(AirflowException):
    """A failed Alibaba Cloud call: what was called, what came back, and what to do next."""

    def __init__(
        self,
        action: str,
        code: str | None,
        message: str | None,
        request_id: str | None = None,
        status_code: int | None = None,
        *,
        hint: str | None = None,
    ):
        self.action = action
        self.code = code or "Unknown"
        self.message = message or ""
        self.request_id = request_id or None
        # The cloud's HTTP status (None: no answer), documented in docs/troubleshooting.md. Airflow 3's
        # AirflowException has a class attribute of that name typed HTTPStatus, for its own API server.
        self.status_code = status_code  # type: ignore[assignment]
        self.hint = hint if hint is not None else error_hint(action, self.code, message=self.message)
        super().__init__(str(self))

    def __str__(self) -> str:
        status = f" (HTTP {self.status_code})" if self.status_code else ""
        text = f"{self.action} failed{status}: {self.code}: {self.message}"
        text += f" [request id {self.request_id}]" if self.request_id else " [no request id]"
        return f"{text}. Next: {self.hint}" if self.hint else text

    def __reduce__(self):
        return (_rebuild_error, (self.action, self.code, self.message, self.request_id, self.status_code, self.hint))


def _rebuild_error(action, code, message, request_id, status_code, hint):
    return PaiApiError(action, code, message, request_id, status_code, hint=hint)


def error_hint(
    action: str, code: str, conn_id: str = "pai_default", service: str = "", message: str = "", region: str = "",
    host: str = "",
) -> str:
    """What to do next for an error code (``hooks/error_codes.py``)."""
    rule = rule_for(code, action, message)
    if rule is not None and rule.hint:
        return rule.hint.format(conn_id=conn_id, action=action, service_=f"{service}_" if service else "",
                                region=region or "(not set)", host=dns_host(message) or host or "(unknown)")
    if code.startswith("HTTP5") or code.startswith("InternalError") or (rule is not None and rule.retry):
        return "Alibaba Cloud answered with a server error after the retries: try again later"
    return f"look the code up in the Alibaba Cloud error center (https://api.aliyun.com/troubleshoot?q={code})"


def is_retryable(code: str, status_code: int | None, action: str = "", message: str = "") -> bool:
    """THE retry rule: the code's row in ``hooks/error_codes.py``; else Throttling* and HTTP 5xx."""
    rule = rule_for(code, action, message)
    if rule is not None:
        return rule.retry
    return code.startswith("Throttling") or (status_code or 0) >= 500


def _clean_message(message: str | None, status: int | None, request_id: str | None) -> str:
    # The Tea SDK formats "code: 400, <Message> request id: <id>": keep the server's message only.
    text = message or ""
    if status is not None and text.startswith(f"code: {status}, "):
        text = text[len(f"code: {status}, "):]
    if request_id and text.endswith(f" request id: {request_id}"):
        text = text[: -len(f" request id: {request_id}")]
    return text


def classify(exc: BaseException) -> tuple[str, str, str | None, int | None, float | None] | None:
    """(code, message, request_id, status_code, retry_after seconds) for an SDK failure, None if not one."""
    if isinstance(exc, PaiApiError):
        return exc.code, exc.message, exc.request_id, exc.status_code, None
    inner = getattr(exc, "inner_exception", None)
    if inner is not None and inner is not exc:  # Tea/darabonba UnretryableException wraps the cause
        found = classify(inner)
        if found is not None:
            return found
    module = type(exc).__module__ or ""
    if module.startswith("oss2"):
        return _classify_oss2(exc)
    status = getattr(exc, "status_code", None)
    if status is None:
        status = getattr(exc, "statusCode", None)
    code = getattr(exc, "code", None)
    if status is not None and code is not None:  # Tea ClientException/ServerException/ThrottlingException
        request_id = getattr(exc, "request_id", None)
        data = getattr(exc, "data", None)
        if isinstance(data, dict):
            request_id = request_id or data.get("RequestId")
        request_id = None if request_id in (None, "None", "") else request_id
        code = str(code) if str(code) not in ("None", "") else f"HTTP{status}"
        retry_after = getattr(exc, "retry_after", None)
        # The SDK reads x-acs-retry-after into retry_after in milliseconds (darabonba's unit).
        retry_s = retry_after / 1000.0 if isinstance(retry_after, (int, float)) and retry_after > 0 else None
        return code, _clean_message(getattr(exc, "message", None), status, request_id), request_id, int(status), retry_s
    if type(exc).__name__ == "RetryError" and module.startswith(("darabonba", "Tea")):
        # The SDK core turns every IOError (refused, reset, timeout, TLS) into RetryError(str(e)).
        text = str(getattr(exc, "message", exc))
        return transport_code(text), text, None, None, None
    if isinstance(exc, json.JSONDecodeError):
        return "InvalidResponse", f"the response was not JSON ({exc.msg})", None, None, None
    if _is_connection_error(exc):
        text = f"{type(exc).__name__}: {exc}"
        return transport_code(text), text, None, None, None
    return None


# How OpenSSL, requests and aiohttp word a failed TLS handshake (the SDKs keep only the text).
# Not a bare "ssl:": aiohttp writes "ssl:default" into every failed connect, refusals included.
_TLS_MARKERS = ("[ssl:", "sslerror", "ssl error", "wrong_version_number", "wrong version number",
                "certificate_verify_failed", "certificate verify failed", "tlsv1 alert", "sslv3 alert",
                "unknown_protocol", "handshake failure", "ssl handshake")


# How the resolver says a host name does not exist (EAI_NONAME: glibc, macOS, Windows), as Python's
# socket.gaierror, requests' NameResolutionError and aiohttp's ClientConnectorDNSError word it. Unlike
# "Temporary failure in name resolution" (EAI_AGAIN, retried), waiting cannot make the name exist.
_DNS_NOT_FOUND_MARKERS = ("name or service not known", "nodename nor servname provided",
                          "no address associated with hostname", "[errno 11001]", "eai_noname")
_HOST_PATTERNS = (re.compile(r"Failed to resolve '([^']+)'"), re.compile(r"host='([^']+)'"),
                  re.compile(r"Cannot connect to host ([^\s:]+)"))


def transport_code(text: str) -> str:
    """TLSError for a failed TLS handshake, DNSNotFound for a host that does not exist (retrying cannot
    fix either), else ConnectionError."""
    lowered = text.lower()
    if any(marker in lowered for marker in _TLS_MARKERS):
        return "TLSError"
    if any(marker in lowered for marker in _DNS_NOT_FOUND_MARKERS):
        return "DNSNotFound"
    return "ConnectionError"


def dns_host(text: str) -> str:
    """The host name a resolver error names, or "" (requests and aiohttp put it in their message)."""
    for pattern in _HOST_PATTERNS:
        found = pattern.search(text or "")
        if found:
            return found.group(1)
    return ""


def _classify_oss2(exc: BaseException) -> tuple[str, str, str | None, int | None, float | None] | None:
    from oss2 import exceptions as oe

    if isinstance(exc, oe.RequestError):
        text = f"{type(exc.exception).__name__}: {exc.exception}"
        return transport_code(text), text, None, None, None
    if isinstance(exc, oe.ServerError):
        code = exc.code or (f"HTTP{exc.status}" if exc.status else "Unknown")
        return code, exc.message or f"HTTP {exc.status}", exc.request_id or None, exc.status, None
    if isinstance(exc, oe.OssError):
        return type(exc).__name__, str(exc.body), exc.request_id or None, None, None
    return None


def _is_connection_error(exc: BaseException) -> bool:
    import socket
    import ssl

    # socket.gaierror (a resolver failure) is an OSError, not a ConnectionError.
    if isinstance(exc, (ConnectionError, TimeoutError, asyncio.TimeoutError, ssl.SSLError, socket.gaierror)):
        return True
    for module, name in (("requests.exceptions", "ConnectionError"), ("requests.exceptions", "Timeout"),
                         ("aiohttp", "ClientError")):
        cls = getattr(__import__(module, fromlist=[name]), name, None)
        if cls is not None and isinstance(exc, cls):
            return True
    return False


def check_success(action: str, body: Any) -> Any:
    """HTTP 200 with ``Success: false`` is an error: raise PaiApiError, else return ``body``."""
    data = body.to_map() if hasattr(body, "to_map") else body
    if isinstance(data, dict) and data.get("Success") is False:
        raise PaiApiError(
            action,
            data.get("ErrorCode") or data.get("Code") or "Success.False",
            data.get("ErrorMessage") or data.get("Message") or "the call answered Success: false",
            data.get("RequestId"),
            data.get("HttpStatusCode"),
        )
    return body
