"""Request parsing and body streaming shared by the OSS handlers (oss.py, oss_multipart.py)."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, unquote

from aiohttp import web

from .crc64 import crc64
from .oss_store import ObjectInfo
from .oss_xml import OssError, base_headers, http_date, invalid_argument, no_such_bucket

CHUNK = 1 << 20


@dataclass
class OssRequest:
    request: web.Request
    request_id: str
    bucket: str | None
    key: str | None
    params: dict[str, str]
    headers: dict[str, str]  # lower-case names

    @property
    def url_encoded(self) -> bool:
        return self.params.get("encoding-type") == "url"

    @property
    def object_key(self) -> str:
        """The key of an object operation: classify() routes only paths with a key to those."""
        assert self.key is not None, "an object operation was routed for a path without a key"
        return self.key

    def enc(self, text: str) -> str:
        """A key or prefix as it goes into XML: URL-encoded (``/`` too) when the client asked for it."""
        return quote(text, safe="") if self.url_encoded else text

    def meta(self) -> dict[str, str]:
        return {k[len("x-oss-meta-"):]: v for k, v in self.headers.items() if k.startswith("x-oss-meta-")}


def split_path(request: web.Request) -> tuple[str | None, str | None]:
    """(bucket, key) from a path-style URL. oss2 encodes ``/`` in keys and the v2 SDK does not, so split
    the raw path once after the bucket and only then decode."""
    path = request.raw_path.split("?", 1)[0].lstrip("/")
    if not path:
        return None, None
    bucket, _, key = path.partition("/")
    return unquote(bucket), (unquote(key) or None)


def require_bucket(store, bucket: str | None) -> str:
    if not bucket or not store.bucket_exists(bucket):
        raise no_such_bucket(bucket or "")
    return bucket


def object_headers(info: ObjectInfo, request_id: str) -> dict[str, str]:
    headers = {
        **base_headers(request_id),
        "ETag": f'"{info.etag}"', "x-oss-hash-crc64ecma": info.crc64, "Last-Modified": http_date(info.last_modified),
        "Content-Type": info.content_type, "x-oss-object-type": info.object_type, "x-oss-storage-class": "Standard",
        "Accept-Ranges": "bytes",
    }
    headers.update({f"x-oss-meta-{k}": v for k, v in info.meta.items()})
    return headers


async def receive_to_temp(r: OssRequest, store) -> tuple[Path, int, str, str]:
    """Stream the body (chunked or not) to a temporary file: (path, size, MD5 hex upper, CRC64 str)."""
    f, path = store.new_temp_file()
    md5, crc, size = hashlib.md5(), 0, 0
    try:
        with f:
            async for chunk in r.request.content.iter_chunked(CHUNK):
                md5.update(chunk)
                crc = crc64(chunk, crc)
                size += len(chunk)
                f.write(chunk)
        expected_md5 = r.headers.get("content-md5")
        if expected_md5 and expected_md5 != base64.b64encode(md5.digest()).decode():
            raise OssError(400, "InvalidDigest", "The Content-MD5 you specified was invalid.")
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path, size, md5.hexdigest().upper(), str(crc)


def copy_source(r: OssRequest, store) -> tuple[str, str, ObjectInfo]:
    """(bucket, key, info) named by ``x-oss-copy-source: /bucket/<url-encoded key>``."""
    source = r.headers["x-oss-copy-source"].split("?", 1)[0].lstrip("/")
    src_bucket, _, src_key = source.partition("/")
    src_bucket, src_key = unquote(src_bucket), unquote(src_key)
    if not src_key:
        raise invalid_argument("Copy Source must mention the source bucket and key: /sourcebucket/sourcekey.",
                               "x-oss-copy-source", r.headers["x-oss-copy-source"])
    require_bucket(store, src_bucket)
    info = store.head(src_bucket, src_key)
    if info is None:
        raise OssError(404, "NoSuchKey", "The specified key does not exist.", Key=src_key)
    return src_bucket, src_key, info


def parse_range(value: str, size: int) -> tuple[int, int] | None:
    """Inclusive (start, end) of ``bytes=a-b`` / ``bytes=a-`` / ``bytes=-n``; None when not satisfiable."""
    if not value.startswith("bytes=") or "," in value:
        return None
    first, _, last = value[len("bytes="):].strip().partition("-")
    try:
        if first == "":
            n = int(last)
            start, end = max(size - n, 0), size - 1
        else:
            start = int(first)
            end = int(last) if last else size - 1
    except ValueError:
        return None
    end = min(end, size - 1)
    if start < 0 or start > end:
        return None
    return start, end


def copy_range_to_temp(store, data_path: Path, start: int, end: int) -> tuple[Path, int, str, str]:
    """Blocking (run it in an executor): bytes start..end of a file into a temp file, with MD5/CRC64."""
    f, path = store.new_temp_file()
    md5, crc, remaining = hashlib.md5(), 0, end - start + 1
    with f, open(data_path, "rb") as src:
        src.seek(start)
        while remaining > 0 and (chunk := src.read(min(CHUNK, remaining))):
            md5.update(chunk)
            crc = crc64(chunk, crc)
            remaining -= len(chunk)
            f.write(chunk)
    return path, end - start + 1, md5.hexdigest().upper(), str(crc)
