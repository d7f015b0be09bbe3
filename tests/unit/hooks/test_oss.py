"""OssHook on its own: the bucket it builds, what each method asks oss2 and returns, the multipart
copy's parts and its abort, retries through the one policy. oss2 is replaced by a recording fake
bucket (unit tests); the integration tests run the real oss2 against the emulator."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from airflow_provider_pai.hooks.errors import PaiApiError
from airflow_provider_pai.hooks.oss import CRC64_HEADER, OssHook
from tests.unit.hooks.sdk_errors import SECRET, oss_server_error, set_conn


class FakeBucket:
    """Records every oss2.Bucket call; answers as oss2's result objects do (the attributes read)."""

    def __init__(self, objects=None, fail=None):
        self.calls: list[tuple] = []
        self.objects = dict(objects or {})
        self.fail = fail or {}  # method -> list of exceptions raised on its first calls

    def _record(self, name, *args, **kwargs):
        self.calls.append((name, args, kwargs))
        errors = self.fail.get(name)
        if errors:
            raise errors.pop(0)

    def head_object(self, key):
        self._record("head_object", key)
        if key not in self.objects:
            from oss2.exceptions import NoSuchKey

            raise NoSuchKey(404, {}, b"", {"Code": "NoSuchKey"})
        return SimpleNamespace(content_length=len(self.objects[key]), etag="E1", headers={CRC64_HEADER: "123"},
                               content_type="application/octet-stream", last_modified=1700000000)

    def object_exists(self, key):
        self._record("object_exists", key)
        return key in self.objects

    def list_objects_v2(self, prefix="", continuation_token="", max_keys=100, **kwargs):
        from oss2.models import SimplifiedObjectInfo

        self._record("list_objects_v2", prefix=prefix, continuation_token=continuation_token)
        keys = sorted(k for k in self.objects if k.startswith(prefix))
        start = int(continuation_token or 0)
        page = keys[start:start + 2]  # two per page: paging must be followed
        more = start + 2 < len(keys)
        return SimpleNamespace(
            object_list=[SimplifiedObjectInfo(k, 1700000000, "E", "Normal", len(self.objects[k]), "Standard")
                         for k in page],
            prefix_list=[prefix + "sub/"] if start == 0 else [],  # a "directory" entry is not an object
            is_truncated=more, next_continuation_token=str(start + 2) if more else "")

    def get_object(self, key):
        self._record("get_object", key)
        return SimpleNamespace(read=lambda: self.objects[key])

    def put_object(self, key, data, headers=None):
        self._record("put_object", key, data, headers=headers)
        self.objects[key] = data
        return SimpleNamespace(etag="P1", headers={CRC64_HEADER: "456"})

    def copy_object(self, src_bucket, src_key, dst_key):
        self._record("copy_object", src_bucket, src_key, dst_key)
        return SimpleNamespace(etag="C1", headers={CRC64_HEADER: "789"})

    def init_multipart_upload(self, key):
        self._record("init_multipart_upload", key)
        return SimpleNamespace(upload_id="U1")

    def upload_part_copy(self, src_bucket, src_key, byte_range, key, upload_id, number):
        self._record("upload_part_copy", src_bucket, src_key, byte_range, key, upload_id, number)
        return SimpleNamespace(etag=f"part-{number}")

    def complete_multipart_upload(self, key, upload_id, parts):
        self._record("complete_multipart_upload", key, upload_id, [(p.part_number, p.etag) for p in parts])
        return SimpleNamespace(etag="M1", headers={CRC64_HEADER: "999"})

    def abort_multipart_upload(self, key, upload_id):
        self._record("abort_multipart_upload", key, upload_id)

    def delete_object(self, key):
        self._record("delete_object", key)

    def get_bucket_info(self):
        self._record("get_bucket_info")

    def names(self):
        return [c[0] for c in self.calls]


def oss_hook(monkeypatch, bucket=None, sleeps=None, **extra) -> OssHook:
    hook = OssHook(pai_conn_id=set_conn(monkeypatch, **extra), sleep=(sleeps if sleeps is not None else []).append)
    if bucket is not None:
        hook._buckets["b"] = bucket
    return hook


# ---- the bucket ---------------------------------------------------------------------------------

def test_get_bucket_builds_one_v4_signed_bucket_for_the_region_and_endpoint(monkeypatch):
    import oss2

    hook = oss_hook(monkeypatch, oss_endpoint="http://127.0.0.1:9000")
    bucket = hook.get_bucket("pai-demo")
    assert isinstance(bucket, oss2.Bucket) and isinstance(bucket.auth, oss2.ProviderAuthV4)
    assert bucket.bucket_name == "pai-demo" and bucket.region == "cn-shanghai"
    assert bucket.endpoint == "http://127.0.0.1:9000"
    assert hook.get_bucket("pai-demo") is bucket  # cached
    assert SECRET not in repr(bucket.__dict__.get("auth"))


def test_the_default_endpoint_is_the_regions_public_oss_host(monkeypatch):
    assert oss_hook(monkeypatch).get_bucket("pai-demo").endpoint.endswith("oss-cn-shanghai.aliyuncs.com")


# ---- reading ------------------------------------------------------------------------------------

def test_head_object_maps_the_result_and_a_missing_object_is_none(monkeypatch):
    hook = oss_hook(monkeypatch, FakeBucket({"m/a.pmml": b"12345"}))
    assert hook.head_object("b", "m/a.pmml") == {"key": "m/a.pmml", "size": 5, "etag": "E1", "crc64": "123",
                                                 "content_type": "application/octet-stream",
                                                 "last_modified": 1700000000}
    assert hook.head_object("b", "m/none") is None


def test_object_exists(monkeypatch):
    hook = oss_hook(monkeypatch, FakeBucket({"k": b""}))
    assert hook.object_exists("b", "k") is True and hook.object_exists("b", "other") is False


def test_list_objects_follows_every_page_and_leaves_out_directory_entries(monkeypatch):
    objects = {f"p/{i}": b"x" * i for i in range(5)} | {"q/else": b""}
    bucket = FakeBucket(objects)
    listed = oss_hook(monkeypatch, bucket).list_objects("b", "p/")
    assert [o["key"] for o in listed] == [f"p/{i}" for i in range(5)]
    assert [o["size"] for o in listed] == [0, 1, 2, 3, 4]
    assert set(listed[0]) == {"key", "size", "etag", "last_modified"}
    assert [c[2]["continuation_token"] for c in bucket.calls] == ["", "2", "4"]


def test_get_object_returns_the_bytes(monkeypatch):
    assert oss_hook(monkeypatch, FakeBucket({"k": b"data"})).get_object("b", "k") == b"data"


# ---- writing ------------------------------------------------------------------------------------

@pytest.mark.parametrize("content_type, headers", [(None, None), ("application/json", {"Content-Type": "application/json"})])
def test_put_object_sends_a_content_type_only_when_given(monkeypatch, content_type, headers):
    bucket = FakeBucket()
    assert oss_hook(monkeypatch, bucket).put_object("b", "k", b"{}", content_type=content_type) == \
        {"etag": "P1", "crc64": "456"}
    assert bucket.calls == [("put_object", ("k", b"{}"), {"headers": headers})]


def test_copy_object_is_asked_of_the_destination_bucket(monkeypatch):
    dst = FakeBucket()
    hook = oss_hook(monkeypatch)
    hook._buckets["dst"] = dst
    assert hook.copy_object("src", "a/model", "dst", "b/model") == {"etag": "C1", "crc64": "789"}
    assert dst.calls == [("copy_object", ("src", "a/model", "b/model"), {})]


def test_multipart_copy_splits_into_ranges_numbers_parts_and_completes(monkeypatch):
    bucket = FakeBucket()
    result = oss_hook(monkeypatch, bucket).multipart_copy("src", "big", "b", "dst", size=10, part_size=4,
                                                          max_workers=2)
    assert result == {"etag": "M1", "crc64": "999", "parts": 3}
    parts = sorted(c[1] for c in bucket.calls if c[0] == "upload_part_copy")
    assert parts == [("src", "big", (0, 3), "dst", "U1", 1), ("src", "big", (4, 7), "dst", "U1", 2),
                     ("src", "big", (8, 9), "dst", "U1", 3)]
    complete = [c for c in bucket.calls if c[0] == "complete_multipart_upload"]
    assert complete == [("complete_multipart_upload", ("dst", "U1", [(1, "part-1"), (2, "part-2"), (3, "part-3")]), {})]
    assert "abort_multipart_upload" not in bucket.names()


def test_a_failed_part_aborts_the_upload_and_raises_the_part_failure(monkeypatch):
    bucket = FakeBucket(fail={"upload_part_copy": [oss_server_error(403, "AccessDenied")]})
    with pytest.raises(PaiApiError) as failure:
        oss_hook(monkeypatch, bucket).multipart_copy("src", "big", "b", "dst", size=4, part_size=4)
    assert failure.value.code == "AccessDenied" and failure.value.action == "UploadPartCopy"
    assert bucket.names()[-1] == "abort_multipart_upload"
    assert "complete_multipart_upload" not in bucket.names()


def test_an_abort_that_fails_too_is_logged_and_the_first_failure_still_raised(monkeypatch, caplog, capsys):
    bucket = FakeBucket(fail={"complete_multipart_upload": [oss_server_error(400, "InvalidPart")],
                              "abort_multipart_upload": [oss_server_error(403, "AccessDenied")]})
    with pytest.raises(PaiApiError) as failure:
        oss_hook(monkeypatch, bucket).multipart_copy("src", "big", "b", "dst", size=4, part_size=4)
    assert failure.value.code == "InvalidPart"
    seen = capsys.readouterr()  # Airflow 3 logs through structlog (stdout), Airflow 2 through logging
    assert "Could not abort multipart upload U1 of oss://b/dst" in caplog.text + seen.out + seen.err


@pytest.mark.parametrize("size, part_size, match", [(0, 4, "size must be"), (4, 0, "part_size must be")])
def test_multipart_copy_refuses_bad_sizes_before_any_call(monkeypatch, size, part_size, match):
    bucket = FakeBucket()
    with pytest.raises(ValueError, match=match):
        oss_hook(monkeypatch, bucket).multipart_copy("src", "big", "b", "dst", size=size, part_size=part_size)
    assert bucket.calls == []


def test_delete_object(monkeypatch):
    bucket = FakeBucket({"k": b""})
    oss_hook(monkeypatch, bucket).delete_object("b", "k")
    assert bucket.calls == [("delete_object", ("k",), {})]


# ---- the retry policy and the connection test ---------------------------------------------------

def test_a_transient_oss_answer_is_retried_through_the_one_policy(monkeypatch):
    sleeps: list[float] = []
    bucket = FakeBucket({"k": b"x"}, fail={"get_object": [oss_server_error(503, "ServiceUnavailable")]})
    assert oss_hook(monkeypatch, bucket, sleeps=sleeps).get_object("b", "k") == b"x"
    assert bucket.names() == ["get_object", "get_object"] and len(sleeps) == 1


def test_a_refusal_is_raised_at_once_naming_the_action(monkeypatch):
    bucket = FakeBucket(fail={"delete_object": [oss_server_error(403, "AccessDenied")]})
    with pytest.raises(PaiApiError) as failure:
        oss_hook(monkeypatch, bucket).delete_object("b", "k")
    assert (failure.value.action, failure.value.code) == ("DeleteObject", "AccessDenied")
    assert bucket.names() == ["delete_object"]


def test_test_connection_reads_the_test_bucket_and_reports_a_failure_without_the_secret(monkeypatch):
    ok = oss_hook(monkeypatch, test_bucket="b")
    ok._buckets["b"] = FakeBucket()
    assert ok.test_connection()[0] is True and ok._buckets["b"].names() == ["get_bucket_info"]
    bad = oss_hook(monkeypatch, test_bucket="b")
    bad._buckets["b"] = FakeBucket(fail={"get_bucket_info": [oss_server_error(403, "AccessDenied")]})
    passed, message = bad.test_connection()
    assert passed is False and "AccessDenied" in message and SECRET not in message
