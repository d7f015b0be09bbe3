"""Emulated OSS, path style, as oss2 2.19.1 and alibabacloud-oss-v2 speak it.

``classify(request)`` names the action (call counting, fault matching); ``handle(request, ctx)`` verifies
the signature and answers. Objects live in ``ctx.store``; data is streamed, never held whole in memory.
"""

from __future__ import annotations

import asyncio
import base64
import logging

from aiohttp import ClientPayloadError, web

from . import oss_multipart
from . import oss_regions as regions
from .common import new_request_id
from .oss_auth import verify
from .oss_io import (
    CHUNK,
    OssRequest,
    copy_source,
    object_headers,
    parse_range,
    receive_to_temp,
    require_bucket,
    split_path,
)
from .oss_store import ObjectInfo
from .oss_xml import (
    OssError,
    base_headers,
    element,
    error_response,
    invalid_argument,
    iso_time,
    no_such_key,
    xml_response,
)

log = logging.getLogger(__name__)


def classify(request: web.Request) -> str:
    bucket, key = split_path(request)
    q, m = request.query, request.method
    if bucket is None:
        return "ListBuckets" if m == "GET" else "Unknown"
    if key is None:
        if m == "GET":
            for param, action in (("bucketInfo", "GetBucketInfo"), ("location", "GetBucketLocation"),
                                  ("uploads", "ListMultipartUploads")):
                if param in q:
                    return action
            return "ListObjectsV2" if q.get("list-type") == "2" else "ListObjects"
        if m == "POST" and "delete" in q:
            return "DeleteMultipleObjects"
        return {"PUT": "PutBucket", "DELETE": "DeleteBucket", "HEAD": "GetBucketInfo"}.get(m, "Unknown")
    copy = "x-oss-copy-source" in request.headers
    if m == "PUT":
        if "uploadId" in q:
            return "UploadPartCopy" if copy else "UploadPart"
        return "CopyObject" if copy else "PutObject"
    if m == "GET":
        return "ListParts" if "uploadId" in q else "GetObject"
    if m == "HEAD":
        return "GetObjectMeta" if "objectMeta" in q else "HeadObject"
    if m == "POST":
        if "uploads" in q:
            return "InitiateMultipartUpload"
        if "uploadId" in q:
            return "CompleteMultipartUpload"
        return "AppendObject" if "append" in q else "Unknown"
    if m == "DELETE":
        return "AbortMultipartUpload" if "uploadId" in q else "DeleteObject"
    return "Unknown"


def _verify(method, headers, params, bucket, key, ctx) -> None:
    """V4 signs with a region: the bucket's own, or the emulator's (its one endpoint serves all)."""
    where = regions.region_of(ctx, bucket) if bucket else ctx.region_id
    try:
        verify(method, headers, params, bucket, key, ctx.credentials(), where)
    except OssError:
        if where == ctx.region_id:
            raise
        verify(method, headers, params, bucket, key, ctx.credentials(), ctx.region_id)


async def handle(request: web.Request, ctx) -> web.StreamResponse:
    request_id = new_request_id()
    try:
        bucket, key = split_path(request)
        params = {k: v for k, v in request.query.items()}
        headers = {k.lower(): v for k, v in request.headers.items()}
        _verify(request.method, headers, params, bucket, key, ctx)
        handler = HANDLERS.get(classify(request))
        if handler is None:
            raise OssError(501, "NotImplemented", "The emulator does not implement this OSS operation.")
        return await handler(OssRequest(request, request_id, bucket, key, params, headers), ctx)
    except OssError as err:
        return error_response(err, request_id, request.method, request.host)
    except (ConnectionError, ClientPayloadError) as exc:  # the client went away mid-body: nobody to answer
        log.debug("OSS %s %s: client went away (%s)", request.method, request.path, exc)
        return web.Response(status=400, headers=base_headers(request_id))
    except Exception:  # a bug here must still look like an OSS error to the client
        log.exception("OSS %s %s failed", request.method, request.path)
        internal = OssError(500, "InternalError", "We encountered an internal error. Please try again.")
        return error_response(internal, request_id, request.method, request.host)


# objects -------------------------------------------------------------------------------------------------

async def put_object(r: OssRequest, ctx) -> web.Response:
    require_bucket(ctx.store, r.bucket)
    path, size, md5, crc = await receive_to_temp(r, ctx.store)
    info = ObjectInfo(key=r.object_key, size=size, etag=md5, crc64=crc, meta=r.meta(),
                      content_type=r.headers.get("content-type") or "application/octet-stream")
    ctx.store.commit_with_info(r.bucket, path, info)
    return web.Response(headers={**base_headers(r.request_id), "ETag": f'"{md5}"', "x-oss-hash-crc64ecma": crc,
                                 "Content-MD5": base64.b64encode(bytes.fromhex(md5)).decode()})


def _head_info(r: OssRequest, ctx) -> ObjectInfo:
    require_bucket(ctx.store, r.bucket)
    info = ctx.store.head(r.bucket, r.key)
    if info is None:
        raise no_such_key(r.object_key)
    return info


async def head_object(r: OssRequest, ctx) -> web.Response:
    info = _head_info(r, ctx)
    headers = object_headers(info, r.request_id)
    headers["Content-Length"] = str(info.size)
    return web.Response(headers=headers)


async def get_object(r: OssRequest, ctx) -> web.StreamResponse:
    info = _head_info(r, ctx)
    headers, status, start, end = object_headers(info, r.request_id), 200, 0, info.size - 1
    if "range" in r.headers:
        span = parse_range(r.headers["range"], info.size)
        if span is not None:
            (start, end), status = span, 206
            headers["Content-Range"] = f"bytes {start}-{end}/{info.size}"
        elif r.headers.get("x-oss-range-behavior") == "standard":
            raise OssError(416, "InvalidRange", "The requested range cannot be satisfied.")
    response = web.StreamResponse(status=status, headers=headers)
    response.content_length = end - start + 1
    try:
        await response.prepare(r.request)
        with ctx.store.open(r.bucket, r.key) as f:
            f.seek(start)
            remaining = end - start + 1
            while remaining > 0 and (chunk := f.read(min(CHUNK, remaining))):
                await response.write(chunk)
                remaining -= len(chunk)
        await response.write_eof()
    except ConnectionError:
        log.debug("client went away during GetObject %s/%s", r.bucket, r.key)  # clients may stop reading early
    return response


async def copy_object(r: OssRequest, ctx) -> web.Response:
    bucket = require_bucket(ctx.store, r.bucket)
    src_bucket, src_key, src = copy_source(r, ctx.store)
    regions.check_same_region(ctx, src_bucket, bucket)
    if src_bucket != r.bucket:
        regions.check_size(ctx, src.size, "copy_object_max_bytes", "CopyObject between buckets")
    replace = r.headers.get("x-oss-metadata-directive", "COPY").upper() == "REPLACE"
    content_type = (r.headers.get("content-type") or "application/octet-stream") if replace else None
    loop = asyncio.get_running_loop()
    info = await loop.run_in_executor(None, lambda: ctx.store.copy(
        src_bucket, src_key, r.bucket, r.key, content_type=content_type, meta=r.meta() if replace else None))
    return xml_response("CopyObjectResult", [element("LastModified", iso_time(info.last_modified)),
                                             element("ETag", f'"{info.etag}"')], r.request_id,
                        headers={"ETag": f'"{info.etag}"', "x-oss-hash-crc64ecma": info.crc64})


async def delete_object(r: OssRequest, ctx) -> web.Response:
    require_bucket(ctx.store, r.bucket)
    ctx.store.delete(r.bucket, r.key)  # OSS answers 204 whether or not the key existed
    return web.Response(status=204, headers=base_headers(r.request_id))


# buckets -------------------------------------------------------------------------------------------------

def _max(r: OssRequest, name: str, default: int = 100, limit: int = 1000) -> int:
    value = r.params.get(name) or str(default)
    if not value.isdigit() or not 0 < int(value) <= limit:
        raise invalid_argument(f"Argument {name} must be an integer between 1 and {limit}.", name, value)
    return int(value)


def _page(ctx, r: OssRequest, prefix: str, delimiter: str, after: str, max_keys: int):
    """One page of keys and common prefixes after ``after``: (objects, prefixes, truncated, last item)."""
    objects: list[ObjectInfo] = []
    prefixes: list[str] = []
    last: str | None = None
    for info in ctx.store.list(r.bucket, prefix):
        item, is_prefix = info.key, False
        if delimiter:
            cut = info.key.find(delimiter, len(prefix))
            if cut >= 0:
                item, is_prefix = info.key[:cut + len(delimiter)], True
        if item <= after or item == last:
            continue
        if len(objects) + len(prefixes) == max_keys:
            return objects, prefixes, True, last
        (prefixes.append(item) if is_prefix else objects.append(info))
        last = item
    return objects, prefixes, False, last


def _contents(r: OssRequest, info: ObjectInfo) -> str:
    return "<Contents>" + "".join([
        element("Key", r.enc(info.key)), element("LastModified", iso_time(info.last_modified)),
        element("ETag", f'"{info.etag}"'), element("Type", info.object_type), element("Size", info.size),
        element("StorageClass", "Standard"),
    ]) + "</Contents>"


async def list_objects(r: OssRequest, ctx) -> web.Response:
    require_bucket(ctx.store, r.bucket)
    v2 = r.params.get("list-type") == "2"
    prefix, delimiter = r.params.get("prefix", ""), r.params.get("delimiter", "")
    max_keys = _max(r, "max-keys")
    if v2:
        token = r.params.get("continuation-token", "")
        try:
            after = base64.urlsafe_b64decode(token.encode()).decode() if token else r.params.get("start-after", "")
        except ValueError:
            raise invalid_argument("Invalid continuation-token.", "continuation-token", token) from None
    else:
        after = r.params.get("marker", "")
    objects, prefixes, truncated, last = _page(ctx, r, prefix, delimiter, after, max_keys)
    parts = [element("Name", r.bucket), element("Prefix", r.enc(prefix)), element("MaxKeys", max_keys),
             element("Delimiter", r.enc(delimiter))]
    if r.url_encoded:
        parts.append(element("EncodingType", "url"))
    if v2:
        if token:
            parts.append(element("ContinuationToken", r.enc(token)))
        if r.params.get("start-after"):
            parts.append(element("StartAfter", r.enc(r.params["start-after"])))
        parts.append(element("KeyCount", len(objects) + len(prefixes)))
    else:
        parts.append(element("Marker", r.enc(after)))
    parts.append(element("IsTruncated", str(truncated).lower()))
    if truncated:
        parts.append(element("NextContinuationToken", r.enc(base64.urlsafe_b64encode(last.encode()).decode()))
                     if v2 else element("NextMarker", r.enc(last)))
    parts += [_contents(r, info) for info in objects]
    parts += [f"<CommonPrefixes>{element('Prefix', r.enc(p))}</CommonPrefixes>" for p in prefixes]
    return xml_response("ListBucketResult", parts, r.request_id)


async def put_bucket(r: OssRequest, ctx) -> web.Response:
    ctx.store.create_bucket(r.bucket)
    with ctx.lock:
        ctx.state.setdefault("oss_regions", {}).setdefault(r.bucket, ctx.region_id)
        ctx.save()
    return web.Response(headers={**base_headers(r.request_id), "Location": f"/{r.bucket}"})


def _bucket_fields(r: OssRequest, ctx, name: str) -> str:
    host = r.request.host
    return "".join([
        element("Name", name), element("Location", f"oss-{regions.region_of(ctx, name)}"),
        element("Region", regions.region_of(ctx, name)),
        element("CreationDate", iso_time(0)), element("StorageClass", "Standard"),
        element("ExtranetEndpoint", host), element("IntranetEndpoint", host),
    ])


_OWNER = "<Owner><ID>emulator</ID><DisplayName>emulator</DisplayName></Owner>"


async def list_buckets(r: OssRequest, ctx) -> web.Response:
    buckets = "".join(f"<Bucket>{_bucket_fields(r, ctx, b)}</Bucket>" for b in ctx.store.buckets())
    return xml_response("ListAllMyBucketsResult", [_OWNER, f"<Buckets>{buckets}</Buckets>"], r.request_id)


async def get_bucket_info(r: OssRequest, ctx) -> web.Response:
    bucket = require_bucket(ctx.store, r.bucket)
    acl = "<AccessControlList><Grant>private</Grant></AccessControlList>"
    return xml_response("BucketInfo", [f"<Bucket>{_bucket_fields(r, ctx, bucket)}{_OWNER}{acl}</Bucket>"],
                        r.request_id)


async def get_bucket_location(r: OssRequest, ctx) -> web.Response:
    bucket = require_bucket(ctx.store, r.bucket)
    return web.Response(body=f'<?xml version="1.0" encoding="UTF-8"?>\n<LocationConstraint>oss-'
                             f'{regions.region_of(ctx, bucket)}</LocationConstraint>'.encode(),
                        content_type="application/xml", headers=base_headers(r.request_id))


HANDLERS = {
    "PutObject": put_object, "GetObject": get_object, "HeadObject": head_object, "GetObjectMeta": head_object,
    "CopyObject": copy_object, "DeleteObject": delete_object, "ListObjects": list_objects,
    "ListObjectsV2": list_objects, "PutBucket": put_bucket, "ListBuckets": list_buckets,
    "GetBucketInfo": get_bucket_info, "GetBucketLocation": get_bucket_location,
    **oss_multipart.HANDLERS,
}
