"""OSS through oss2: V4 signing with the connection's credentials, one bucket object per bucket."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from airflow_provider_pai.hooks.base import AlibabaCloudBaseHook

MiB = 1024 * 1024
CRC64_HEADER = "x-oss-hash-crc64ecma"


def _crc64(headers: Any) -> str | None:
    return headers.get(CRC64_HEADER) if headers is not None else None


class _NotFoundIsAnAnswer(logging.Filter):
    """Drop oss2's "Exception: {'status': 404, ...}" line (``oss2/api.py`` logs every non-2xx at INFO).

    A 404 is how OSS says "absent", which head_object/object_exists and the export's checks of its own
    manifest expect on every normal run and retry: in the task log it read as a failure. A 404 the
    provider does not expect is raised as ``PaiApiError`` (code, key, request id), so nothing is lost.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        text = str(record.msg)
        return not (text.startswith("Exception: ") and "'status': 404," in text)


logging.getLogger("oss2.api").addFilter(_NotFoundIsAnAnswer())  # oss2's module logger; no oss2 import


class OssHook(AlibabaCloudBaseHook):
    """OSS objects: head/list/copy (single and multipart)/put/get/delete."""

    service = "oss"
    hook_name = "Alibaba Cloud PAI: OSS"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._buckets: dict[str, Any] = {}

    def _auth(self):
        import oss2

        # Every auth_type goes through the one credentials client; STS tokens are added per request.
        return self._cached_client("oss-auth", lambda: oss2.ProviderAuthV4(self.oss_credentials_provider()))

    def get_bucket(self, bucket: str):
        """An ``oss2.Bucket`` (cached): V4 signing, the region, path style for IP endpoints (oss2's own rule)."""
        if bucket not in self._buckets:
            import oss2

            self._buckets[bucket] = oss2.Bucket(self._auth(), self.endpoint_url("oss"), bucket, region=self.region_id)
        return self._buckets[bucket]

    # ---- reading ------------------------------------------------------------------------------

    def head_object(self, bucket: str, key: str) -> dict | None:
        """{key, size, etag, crc64, content_type, last_modified} or None when the object is absent."""

        def run():
            from oss2.exceptions import NotFound

            try:
                result = self.get_bucket(bucket).head_object(key)
            except NotFound:  # NoSuchKey and a bare 404 both derive from NotFound
                return None
            return {
                "key": key,
                "size": result.content_length,
                "etag": result.etag,
                "crc64": _crc64(result.headers),
                "content_type": result.content_type,
                "last_modified": result.last_modified,
            }

        return self.call("HeadObject", run)

    def object_exists(self, bucket: str, key: str) -> bool:
        return bool(self.call("ObjectExists", lambda: self.get_bucket(bucket).object_exists(key)))

    def list_objects(self, bucket: str, prefix: str = "") -> list[dict]:
        """Every object under ``prefix`` (all pages): [{key, size, etag, last_modified}]."""

        def run():
            import oss2

            return [
                {"key": o.key, "size": o.size, "etag": o.etag, "last_modified": o.last_modified}
                for o in oss2.ObjectIteratorV2(self.get_bucket(bucket), prefix=prefix)
                if not o.is_prefix()
            ]

        return self.call("ListObjectsV2", run)

    def first_objects(self, bucket: str, prefix: str = "", limit: int = 1) -> list[str]:
        """Keys of the first ``limit`` objects under ``prefix`` (one ListObjectsV2 page): is anything there?"""

        def run():
            result = self.get_bucket(bucket).list_objects_v2(prefix=prefix, max_keys=limit)
            return [o.key for o in result.object_list]

        return self.call("ListObjectsV2", run)

    def get_object(self, bucket: str, key: str) -> bytes:
        return self.call("GetObject", lambda: self.get_bucket(bucket).get_object(key).read())

    # ---- writing ------------------------------------------------------------------------------

    def put_object(self, bucket: str, key: str, data: bytes | str, content_type: str | None = None) -> dict:
        headers = {"Content-Type": content_type} if content_type else None

        def run():
            result = self.get_bucket(bucket).put_object(key, data, headers=headers)
            return {"etag": result.etag, "crc64": _crc64(result.headers)}

        return self.call("PutObject", run)

    def copy_object(self, src_bucket: str, src_key: str, dst_bucket: str, dst_key: str) -> dict:
        """Server-side CopyObject (OSS allows up to 1 GB; use multipart_copy above that)."""

        def run():
            result = self.get_bucket(dst_bucket).copy_object(src_bucket, src_key, dst_key)
            return {"etag": result.etag, "crc64": _crc64(result.headers)}

        return self.call("CopyObject", run)

    def multipart_copy(
        self,
        src_bucket: str,
        src_key: str,
        dst_bucket: str,
        dst_key: str,
        *,
        size: int,
        part_size: int = 256 * MiB,
        max_workers: int = 4,
    ) -> dict:
        """Init + UploadPartCopy (``max_workers`` parts at a time) + complete; aborts the upload on failure."""
        import oss2

        if size <= 0:
            raise ValueError(f"size must be the source object's size in bytes (> 0), got {size}")
        if part_size <= 0:
            raise ValueError(f"part_size must be > 0, got {part_size}")
        target = self.get_bucket(dst_bucket)
        upload_id = self.call("InitiateMultipartUpload", lambda: target.init_multipart_upload(dst_key).upload_id)
        ranges = [(start, min(start + part_size, size) - 1) for start in range(0, size, part_size)]

        def copy_part(number: int, byte_range: tuple[int, int]) -> Any:
            result = self.call(
                "UploadPartCopy",
                lambda: target.upload_part_copy(src_bucket, src_key, byte_range, dst_key, upload_id, number),
            )
            return oss2.models.PartInfo(number, result.etag)

        try:
            with ThreadPoolExecutor(max_workers=max(1, max_workers), thread_name_prefix="oss-copy") as pool:
                futures = [pool.submit(copy_part, n, r) for n, r in enumerate(ranges, start=1)]
                parts = [f.result() for f in futures]
            result = self.call("CompleteMultipartUpload",
                               lambda: target.complete_multipart_upload(dst_key, upload_id, parts))
        except BaseException:
            try:
                self.call("AbortMultipartUpload", lambda: target.abort_multipart_upload(dst_key, upload_id))
            except Exception as abort_exc:  # the original failure matters more; say the abort failed
                self.log.warning("Could not abort multipart upload %s of oss://%s/%s: %s",
                                 upload_id, dst_bucket, dst_key, abort_exc)
            raise
        return {"etag": result.etag, "crc64": _crc64(result.headers), "parts": len(parts)}

    def delete_object(self, bucket: str, key: str) -> None:
        self.call("DeleteObject", lambda: self.get_bucket(bucket).delete_object(key))

    def test_connection(self) -> tuple[bool, str]:
        """GetBucketInfo on the extra ``test_bucket`` if set, else ListBuckets."""
        try:
            test_bucket = self.extras.get("test_bucket")
            if test_bucket:
                self.call("GetBucketInfo", lambda: self.get_bucket(test_bucket).get_bucket_info())
                return True, f"OSS bucket {test_bucket} reachable at {self.endpoint_url('oss')}"
            import oss2

            service = oss2.Service(self._auth(), self.endpoint_url("oss"), region=self.region_id)
            result = self.call("ListBuckets", lambda: service.list_buckets())
            return True, f"OSS reachable at {self.endpoint_url('oss')} ({len(result.buckets)} bucket(s) visible)"
        except Exception as exc:
            return False, str(exc)
