"""OSS reply bodies: XML without a namespace (oss2 finds elements by bare tag) and OSS-style errors."""

from __future__ import annotations

import base64
import time
from email.utils import formatdate
from typing import Iterable
from xml.sax.saxutils import escape

from aiohttp import web


class OssError(Exception):
    """An error OSS would answer with: status, Code, Message (+ extra elements such as StringToSign)."""

    def __init__(self, status: int, code: str, message: str, **extra: str):
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message, self.extra = status, code, message, extra


def no_such_bucket(bucket: str) -> OssError:
    return OssError(404, "NoSuchBucket", "The specified bucket does not exist.", BucketName=bucket)


def no_such_key(key: str) -> OssError:
    return OssError(404, "NoSuchKey", "The specified key does not exist.", Key=key)


def no_such_upload(upload_id: str) -> OssError:
    return OssError(
        404, "NoSuchUpload", "The specified upload does not exist. The upload ID may be invalid, "
        "or the upload may have been aborted or completed.", UploadId=upload_id,
    )


def invalid_argument(message: str, name: str = "", value: str = "") -> OssError:
    return OssError(400, "InvalidArgument", message, ArgumentName=name, ArgumentValue=value)


def element(tag: str, value: object) -> str:
    return f"<{tag}>{escape(str(value))}</{tag}>"


def document(root: str, parts: Iterable[str]) -> bytes:
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + f"<{root}>" + "".join(parts) + f"</{root}>").encode()


def iso_time(ts: float) -> str:
    """LastModified inside XML: 2026-11-23T18:13:46.000Z (oss2 only parses ``.000Z``)."""
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(ts))


def http_date(ts: float | None = None) -> str:
    return formatdate(ts, usegmt=True)


def base_headers(request_id: str) -> dict[str, str]:
    return {"x-oss-request-id": request_id, "Server": "AliyunOSS", "Date": http_date()}


def xml_response(root: str, parts: Iterable[str], request_id: str, status: int = 200,
                 headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        status=status, body=document(root, parts), content_type="application/xml",
        headers={**base_headers(request_id), **(headers or {})},
    )


def error_response(err: OssError, request_id: str, method: str, host: str) -> web.Response:
    """The error XML as body; for HEAD (no body possible) base64 in ``x-oss-err``, as OSS does."""
    body = document("Error", [
        element("Code", err.code), element("Message", err.message), element("RequestId", request_id),
        element("HostId", host), *(element(k, v) for k, v in err.extra.items() if v is not None),
    ])
    headers = {**base_headers(request_id), "x-oss-ec": "0000-00000000"}
    if method == "HEAD":
        headers["x-oss-err"] = base64.b64encode(body).decode()
        return web.Response(status=err.status, headers=headers)
    return web.Response(status=err.status, body=body, content_type="application/xml", headers=headers)
