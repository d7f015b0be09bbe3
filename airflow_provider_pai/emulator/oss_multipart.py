"""Emulated OSS multipart upload: initiate, upload part, upload part copy, list parts, complete, abort.

Part data lives under the store's tmp area (``ObjectStore.init_upload`` and friends); complete concatenates
the parts into the object, so the object's CRC64 is that of the whole content.
"""

from __future__ import annotations

import asyncio
from xml.etree import ElementTree

from aiohttp import web

from . import oss_regions as regions
from .oss_io import OssRequest, copy_range_to_temp, copy_source, receive_to_temp, require_bucket
from .oss_store import PartInfo
from .oss_xml import OssError, base_headers, element, invalid_argument, iso_time, no_such_upload, xml_response

MIN_PART_SIZE = 100 * 1024  # every part but the last, as OSS requires
MAX_COMPLETE_BODY = 1 << 20


def _upload(r: OssRequest, ctx) -> dict:
    require_bucket(ctx.store, r.bucket)
    upload_id = r.params.get("uploadId", "")
    upload = ctx.store.upload_info(upload_id)
    if upload is None or upload["bucket"] != r.bucket or upload["key"] != r.key:
        raise no_such_upload(upload_id)
    return upload


def _part_number(r: OssRequest) -> int:
    value = r.params.get("partNumber", "")
    if not value.isdigit() or not 1 <= int(value) <= 10000:
        raise invalid_argument("Part number must be an integer between 1 and 10000, inclusive.", "partNumber", value)
    return int(value)


async def initiate(r: OssRequest, ctx) -> web.Response:
    require_bucket(ctx.store, r.bucket)
    upload_id = ctx.store.init_upload(r.bucket, r.key, r.headers.get("content-type"), r.meta())
    parts = [element("Bucket", r.bucket), element("Key", r.enc(r.object_key)), element("UploadId", upload_id)]
    if r.url_encoded:
        parts.insert(0, element("EncodingType", "url"))
    return xml_response("InitiateMultipartUploadResult", parts, r.request_id)


async def upload_part(r: OssRequest, ctx) -> web.Response:
    _upload(r, ctx)
    number = _part_number(r)
    path, size, md5, crc = await receive_to_temp(r, ctx.store)
    regions.check_size(ctx, size, "part_max_bytes", "A part")
    ctx.store.put_part(r.params["uploadId"], PartInfo(number, size, md5, crc), path)
    return web.Response(headers={**base_headers(r.request_id), "ETag": f'"{md5}"', "x-oss-hash-crc64ecma": crc})


async def upload_part_copy(r: OssRequest, ctx) -> web.Response:
    upload = _upload(r, ctx)
    number = _part_number(r)
    src_bucket, src_key, src = copy_source(r, ctx.store)
    start, end = 0, src.size - 1
    if "x-oss-copy-source-range" in r.headers:
        first, _, last = r.headers["x-oss-copy-source-range"].removeprefix("bytes=").partition("-")
        if not (first.isdigit() and last.isdigit() and int(first) <= int(last) < src.size):
            raise invalid_argument("The x-oss-copy-source-range is not valid for the source object.",
                                   "x-oss-copy-source-range", r.headers["x-oss-copy-source-range"])
        start, end = int(first), int(last)
    regions.check_same_region(ctx, src_bucket, upload["bucket"])  # the request's bucket, as _upload checked
    regions.check_size(ctx, end - start + 1, "part_max_bytes", "A part")
    data_path = ctx.store.data_path(src_bucket, src_key)
    path, size, md5, crc = await asyncio.get_running_loop().run_in_executor(
        None, copy_range_to_temp, ctx.store, data_path, start, end)
    part = ctx.store.put_part(r.params["uploadId"], PartInfo(number, size, md5, crc), path)
    return xml_response("CopyPartResult", [element("LastModified", iso_time(part.last_modified)),
                                           element("ETag", f'"{md5}"')], r.request_id,
                        headers={"ETag": f'"{md5}"', "x-oss-hash-crc64ecma": crc})


async def list_parts(r: OssRequest, ctx) -> web.Response:
    _upload(r, ctx)
    marker = r.params.get("part-number-marker") or "0"
    max_parts = r.params.get("max-parts") or "1000"
    if not marker.isdigit() or not max_parts.isdigit() or not 1 <= int(max_parts) <= 1000:
        raise invalid_argument("part-number-marker and max-parts must be integers, max-parts 1..1000.")
    parts = [p for p in ctx.store.list_parts(r.params["uploadId"]) if p.number > int(marker)]
    page, truncated = parts[:int(max_parts)], len(parts) > int(max_parts)
    body = [element("Bucket", r.bucket), element("Key", r.enc(r.object_key)), element("UploadId", r.params["uploadId"]),
            element("PartNumberMarker", marker), element("NextPartNumberMarker", page[-1].number if page else marker),
            element("MaxParts", max_parts), element("IsTruncated", str(truncated).lower())]
    body += ["<Part>" + element("PartNumber", p.number) + element("LastModified", iso_time(p.last_modified))
             + element("ETag", f'"{p.etag}"') + element("HashCrc64ecma", p.crc64) + element("Size", p.size)
             + "</Part>" for p in page]
    return xml_response("ListPartsResult", body, r.request_id)


def _requested_parts(body: bytes) -> list[tuple[int, str]]:
    try:
        root = ElementTree.fromstring(body)
        return [(int(p.findtext("PartNumber", "")), p.findtext("ETag", "").strip('"').upper())
                for p in root.findall("Part")]
    except (ElementTree.ParseError, ValueError):
        raise OssError(400, "MalformedXML", "The XML you provided was not well-formed.") from None


async def complete(r: OssRequest, ctx) -> web.Response:
    _upload(r, ctx)
    upload_id = r.params["uploadId"]
    uploaded = {p.number: p for p in ctx.store.list_parts(upload_id)}
    if r.headers.get("x-oss-complete-all", "").lower() == "yes":
        numbers = sorted(uploaded)
    else:
        body = await r.request.content.read(MAX_COMPLETE_BODY)
        requested = _requested_parts(body)
        numbers = [n for n, _ in requested]
        if numbers != sorted(set(numbers)):
            raise OssError(400, "InvalidPartOrder", "The list of parts was not in ascending order.")
        for n, etag in requested:
            if n not in uploaded or uploaded[n].etag != etag:
                raise OssError(400, "InvalidPart", "One or more of the specified parts could not be found "
                               "or the specified entity tag might not have matched the part's entity tag.",
                               PartNumber=str(n), ETag=etag)
    if not numbers:
        raise OssError(400, "InvalidArgument", "The complete request names no parts.")
    for n in numbers[:-1]:
        if uploaded[n].size < MIN_PART_SIZE:
            raise OssError(400, "EntityTooSmall", "Your proposed upload is smaller than the minimum allowed size.",
                           PartNumber=str(n))
    info = await asyncio.get_running_loop().run_in_executor(None, ctx.store.complete_upload, upload_id, numbers)
    body_parts = [element("Location", f"http://{r.request.host}/{r.bucket}/{r.enc(r.object_key)}"),
                  element("Bucket", r.bucket), element("Key", r.enc(r.object_key)), element("ETag", f'"{info.etag}"')]
    if r.url_encoded:
        body_parts.insert(0, element("EncodingType", "url"))
    return xml_response("CompleteMultipartUploadResult", body_parts, r.request_id,
                        headers={"ETag": f'"{info.etag}"', "x-oss-hash-crc64ecma": info.crc64})


async def abort(r: OssRequest, ctx) -> web.Response:
    _upload(r, ctx)
    ctx.store.abort_upload(r.params["uploadId"])
    return web.Response(status=204, headers=base_headers(r.request_id))


HANDLERS = {
    "InitiateMultipartUpload": initiate, "UploadPart": upload_part, "UploadPartCopy": upload_part_copy,
    "ListParts": list_parts, "CompleteMultipartUpload": complete, "AbortMultipartUpload": abort,
}
