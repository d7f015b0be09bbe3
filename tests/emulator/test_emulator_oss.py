"""The emulator's OSS, driven over HTTP by the real clients: oss2 2.19.1 (V1, V4, STS) and alibabacloud-oss-v2."""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import urllib.request

import pytest

REGION = "cn-shanghai"
AK, SK = "emulator-ak", "emulator-secret"
STS_AK, STS_SK, STS_TOKEN = "STS.emulator", "sts-secret", "sts-token-value"
BUCKET = "pai-demo"
PART = 128 * 1024  # above OSS's 100 KB minimum part size

SCENARIO = {
    "region_id": REGION,
    "credentials": [
        {"access_key_id": AK, "access_key_secret": SK},
        {"access_key_id": STS_AK, "access_key_secret": STS_SK, "security_token": STS_TOKEN},
    ],
    "oss": {"buckets": [BUCKET]},
}


class Emulator:
    """The emulator app served in-process on 127.0.0.1 (its own loop in a thread), so tests can see its store
    and its log records; test_served_by_the_emulator_process covers the CLI process."""

    def __init__(self, tmp_path):
        from aiohttp import web

        from airflow_provider_pai.emulator.server import make_app
        from airflow_provider_pai.emulator.state import open_ctx

        self.ctx = open_ctx(SCENARIO, tmp_path / "data")  # seeds the scenario's bucket as the CLI does
        self.store = self.ctx.store
        self.loop = asyncio.new_event_loop()
        self.runner = web.AppRunner(make_app(self.ctx))
        self.loop.run_until_complete(self.runner.setup())
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        self.loop.run_until_complete(site.start())
        self.url = f"http://127.0.0.1:{self.runner.addresses[0][1]}"
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@pytest.fixture
def emu(tmp_path, monkeypatch):
    for var in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    e = Emulator(tmp_path)
    yield e
    e.close()


def _oss2_auth(kind: str, secret: str | None = None):
    import oss2

    if kind == "v1":
        return oss2.Auth(AK, secret or SK)
    if kind == "v4":
        return oss2.AuthV4(AK, secret or SK)
    return oss2.StsAuth(STS_AK, secret or STS_SK, STS_TOKEN, auth_version="v4" if kind == "sts-v4" else "v1")


def _bucket(emu, kind="v4", name=BUCKET, secret=None):
    import oss2

    return oss2.Bucket(_oss2_auth(kind, secret), emu.url, name, region=REGION)


def _crc(data: bytes) -> int:
    import oss2

    c = oss2.utils.Crc64()
    c.update(data)
    return c.crc


AUTHS = ["v1", "v4", "sts-v1", "sts-v4"]


# oss2 ----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", AUTHS)
def test_oss2_object_round_trip(emu, kind, tmp_path):
    import oss2

    bucket = _bucket(emu, kind)
    key, data = "models/v1/model weights+ü.bin", os.urandom(300_000)
    put = bucket.put_object(key, data, headers={"Content-Type": "application/x-model", "x-oss-meta-owner": "ml"})
    assert put.crc == _crc(data)  # oss2 also compares it with its own CRC and raises on a mismatch

    bucket.get_object_to_file(key, str(tmp_path / "out"))  # CRC-checked by oss2
    assert (tmp_path / "out").read_bytes() == data
    ranged = bucket.get_object(key, byte_range=(10, 19))
    assert ranged.status == 206 and ranged.read() == data[10:20]
    assert ranged.headers["Content-Range"] == f"bytes 10-19/{len(data)}"

    head = bucket.head_object(key)
    assert (head.content_length, head.content_type, head.etag) == (len(data), "application/x-model", put.etag)
    assert head.headers["x-oss-meta-owner"] == "ml" and int(head.headers["x-oss-hash-crc64ecma"]) == _crc(data)
    assert bucket.object_exists(key) and not bucket.object_exists("models/v1/missing")

    copied = bucket.copy_object(BUCKET, key, "models/v2/copy.bin")
    assert copied.etag == put.etag
    assert bucket.get_object("models/v2/copy.bin").read() == data

    bucket.delete_object(key)
    assert not bucket.object_exists(key)
    with pytest.raises(oss2.exceptions.NoSuchKey):
        bucket.get_object(key)
    with pytest.raises(oss2.exceptions.NotFound) as err:
        bucket.head_object(key)
    assert err.value.code == "NoSuchKey"  # read from the x-oss-err header of the bodiless HEAD reply


def test_oss2_chunked_put_and_large_stream(emu):
    bucket = _bucket(emu)
    chunks = [os.urandom(1 << 20) for _ in range(5)]
    result = bucket.put_object("big/streamed.bin", iter(chunks))  # an iterator goes out chunked
    whole = b"".join(chunks)
    assert result.crc == _crc(whole)
    assert bucket.head_object("big/streamed.bin").content_length == len(whole)
    assert bucket.get_object("big/streamed.bin").read() == whole


def test_oss2_missing_bucket(emu):
    import oss2

    other = _bucket(emu, name="no-such-bucket")
    with pytest.raises(oss2.exceptions.NoSuchBucket):
        other.put_object("k", b"x")
    with pytest.raises(oss2.exceptions.NoSuchBucket):
        other.object_exists("k")  # HEAD ?objectMeta: the code travels in x-oss-err


@pytest.mark.parametrize("kind", ["v1", "v4"])
def test_oss2_listing_pages(emu, kind):
    import oss2

    bucket = _bucket(emu, kind)
    keys = ["a/1", "a/2", "a/sub/3", "b/x y+z.txt", "b/ünï", "c", "d/e/f"]
    for k in keys:
        bucket.put_object(k, k.encode())

    assert [o.key for o in oss2.ObjectIterator(bucket, max_keys=2)] == keys
    assert [o.key for o in oss2.ObjectIteratorV2(bucket, max_keys=2)] == keys
    top = [o.key for o in oss2.ObjectIteratorV2(bucket, delimiter="/", max_keys=2)]
    assert top == ["a/", "b/", "c", "d/"]
    in_a = [o.key for o in oss2.ObjectIterator(bucket, prefix="a/", delimiter="/", max_keys=1)]
    assert in_a == ["a/1", "a/2", "a/sub/"]

    first = bucket.list_objects_v2(max_keys=3)
    assert first.is_truncated and [o.key for o in first.object_list] == keys[:3]
    second = bucket.list_objects_v2(max_keys=3, continuation_token=first.next_continuation_token)
    assert [o.key for o in second.object_list] == keys[3:6]
    assert [o.key for o in bucket.list_objects_v2(start_after="b/ünï").object_list] == ["c", "d/e/f"]
    page = bucket.list_objects(marker="a/sub/3", max_keys=2)
    assert page.is_truncated and [o.key for o in page.object_list] == keys[3:5] and page.next_marker == keys[4]


@pytest.mark.parametrize("kind", ["v1", "v4", "sts-v4"])
def test_oss2_multipart_and_part_copy(emu, kind):
    import oss2

    bucket = _bucket(emu, kind)
    data = os.urandom(2 * PART + 1234)
    upload_id = bucket.init_multipart_upload("mp/whole.bin").upload_id
    parts = []
    for n, start in enumerate(range(0, len(data), PART), 1):
        r = bucket.upload_part("mp/whole.bin", upload_id, n, data[start:start + PART])
        parts.append(oss2.models.PartInfo(n, r.etag))
    listed = bucket.list_parts("mp/whole.bin", upload_id).parts
    assert [(p.part_number, p.size) for p in listed] == [(1, PART), (2, PART), (3, 1234)]
    done = bucket.complete_multipart_upload("mp/whole.bin", upload_id, parts)
    assert done.crc == _crc(data)  # the CRC of the whole content, not of a part
    assert bucket.get_object("mp/whole.bin").read() == data

    # copy it, part by part, as a > 1 GB server-side copy is done
    copy_id = bucket.init_multipart_upload("mp/copy.bin").upload_id
    copy_parts = []
    for n, start in enumerate(range(0, len(data), PART), 1):
        end = min(start + PART, len(data)) - 1
        r = bucket.upload_part_copy(BUCKET, "mp/whole.bin", (start, end), "mp/copy.bin", copy_id, n)
        copy_parts.append(oss2.models.PartInfo(n, r.etag))
    copied = bucket.complete_multipart_upload("mp/copy.bin", copy_id, copy_parts)
    assert copied.crc == _crc(data)
    assert bucket.get_object("mp/copy.bin").read() == data

    aborted = bucket.init_multipart_upload("mp/aborted.bin").upload_id
    bucket.abort_multipart_upload("mp/aborted.bin", aborted)
    with pytest.raises(oss2.exceptions.NoSuchUpload):
        bucket.list_parts("mp/aborted.bin", aborted)


def test_oss2_resumable_upload(emu, tmp_path):
    import oss2

    bucket = _bucket(emu)
    src = tmp_path / "model.bin"
    src.write_bytes(os.urandom(3 * PART + 7))
    oss2.resumable_upload(bucket, "mp/resumable.bin", str(src), store=oss2.ResumableStore(root=str(tmp_path)),
                          multipart_threshold=PART, part_size=PART, num_threads=2)
    assert bucket.get_object("mp/resumable.bin").read() == src.read_bytes()
    assert bucket.head_object("mp/resumable.bin").headers["x-oss-object-type"] == "Multipart"


def test_oss2_complete_rejects_wrong_etag(emu):
    import oss2

    bucket = _bucket(emu)
    upload_id = bucket.init_multipart_upload("mp/bad.bin").upload_id
    bucket.upload_part("mp/bad.bin", upload_id, 1, b"x" * 10)
    with pytest.raises(oss2.exceptions.ServerError) as err:
        bucket.complete_multipart_upload("mp/bad.bin", upload_id, [oss2.models.PartInfo(1, "0" * 32)])
    assert (err.value.status, err.value.code) == (400, "InvalidPart")


@pytest.mark.parametrize("kind", ["v1", "v4"])
def test_oss2_presigned_url(emu, kind):
    bucket = _bucket(emu, kind)
    bucket.put_object("shared/file name.txt", b"presigned")
    with urllib.request.urlopen(bucket.sign_url("GET", "shared/file name.txt", 60)) as resp:
        assert resp.read() == b"presigned"


@pytest.mark.parametrize("kind", AUTHS)
def test_oss2_wrong_secret_refused(emu, kind):
    import oss2

    with pytest.raises(oss2.exceptions.SignatureDoesNotMatch):
        _bucket(emu, kind, secret="not-the-secret").put_object("k", b"x")
    assert emu.store.head(BUCKET, "k") is None


def test_oss2_unknown_key_and_wrong_token(emu):
    import oss2

    with pytest.raises(oss2.exceptions.ServerError) as err:
        oss2.Bucket(oss2.AuthV4("nobody", SK), emu.url, BUCKET, region=REGION).get_object("k")
    assert (err.value.status, err.value.code) == (403, "InvalidAccessKeyId")
    bad_token = oss2.Bucket(oss2.StsAuth(STS_AK, STS_SK, "forged"), emu.url, BUCKET)
    with pytest.raises(oss2.exceptions.ServerError) as err:
        bad_token.put_object("k", b"x")
    assert (err.value.status, err.value.code) == (403, "InvalidAccessKeyId")


def test_unread_copy_responses_log_no_errors(emu, caplog):
    bucket = _bucket(emu)
    bucket.put_object("src", b"x" * 1000)
    with caplog.at_level(logging.WARNING):
        for i in range(5):
            bucket.copy_object(BUCKET, "src", f"dst/{i}")  # oss2 does not read these replies
        bucket.get_object("src").read(10)  # nor the rest of this one
        assert bucket.get_object("dst/4").read() == b"x" * 1000
    ours = [f"{r.name}: {r.getMessage()}" for r in caplog.records
            if r.thread == emu.thread.ident and r.levelno >= logging.WARNING]
    assert ours == []  # records of this emulator's thread only: other tests' servers may still be winding down


# alibabacloud-oss-v2 -------------------------------------------------------------------------------------

def _v2_client(emu, ak=AK, sk=SK, token=None, signature_version="v4"):
    import alibabacloud_oss_v2 as oss

    cfg = oss.config.load_default()
    cfg.credentials_provider = oss.credentials.StaticCredentialsProvider(ak, sk, token)
    # get_object_to_file makes retry_max_attempts - 1 attempts: 1 would make none
    cfg.region, cfg.endpoint, cfg.retry_max_attempts = REGION, emu.url, 2
    cfg.signature_version = signature_version
    return oss.Client(cfg)


@pytest.mark.parametrize("sts", [False, True])
def test_v2_sdk_objects_listing_and_multipart(emu, sts, tmp_path):
    import alibabacloud_oss_v2 as oss

    client = _v2_client(emu, STS_AK, STS_SK, STS_TOKEN) if sts else _v2_client(emu)
    data = os.urandom(2 * PART + 99)
    put = client.put_object(oss.PutObjectRequest(bucket=BUCKET, key="v2/a b/ü.bin", body=data))
    assert int(put.hash_crc64) == _crc(data)  # the SDK checks it too
    client.get_object_to_file(oss.GetObjectRequest(bucket=BUCKET, key="v2/a b/ü.bin"), str(tmp_path / "o"))
    assert (tmp_path / "o").read_bytes() == data
    ranged = client.get_object(oss.GetObjectRequest(bucket=BUCKET, key="v2/a b/ü.bin", range_header="bytes=5-9"))
    assert ranged.content_range == f"bytes 5-9/{len(data)}" and ranged.body.read() == data[5:10]
    head = client.head_object(oss.HeadObjectRequest(bucket=BUCKET, key="v2/a b/ü.bin"))
    assert head.content_length == len(data) and head.etag == put.etag
    assert client.is_object_exist(BUCKET, "v2/a b/ü.bin") and not client.is_object_exist(BUCKET, "v2/none")

    client.copy_object(oss.CopyObjectRequest(bucket=BUCKET, key="v2/copy", source_bucket=BUCKET,
                                             source_key="v2/a b/ü.bin"))
    assert client.get_object(oss.GetObjectRequest(bucket=BUCKET, key="v2/copy")).body.read() == data

    # an object larger than one part, copied part by part
    init = client.initiate_multipart_upload(oss.InitiateMultipartUploadRequest(bucket=BUCKET, key="v2/mp"))
    parts = []
    for n, start in enumerate(range(0, len(data), PART), 1):
        end = min(start + PART, len(data)) - 1
        r = client.upload_part_copy(oss.UploadPartCopyRequest(
            bucket=BUCKET, key="v2/mp", upload_id=init.upload_id, part_number=n, source_bucket=BUCKET,
            source_key="v2/copy", source_range=f"bytes={start}-{end}"))
        parts.append(oss.UploadPart(part_number=n, etag=r.etag))
    listed = client.list_parts(oss.ListPartsRequest(bucket=BUCKET, key="v2/mp", upload_id=init.upload_id))
    assert [p.part_number for p in listed.parts] == [1, 2, 3]
    done = client.complete_multipart_upload(oss.CompleteMultipartUploadRequest(
        bucket=BUCKET, key="v2/mp", upload_id=init.upload_id,
        complete_multipart_upload=oss.CompleteMultipartUpload(parts=parts)))
    assert int(done.hash_crc64) == _crc(data)

    # uploaded parts (the SDK checks each part's CRC)
    up = client.initiate_multipart_upload(oss.InitiateMultipartUploadRequest(bucket=BUCKET, key="v2/up"))
    up_parts = []
    for n, start in enumerate(range(0, len(data), PART), 1):
        r = client.upload_part(oss.UploadPartRequest(bucket=BUCKET, key="v2/up", upload_id=up.upload_id,
                                                     part_number=n, body=data[start:start + PART]))
        up_parts.append(oss.UploadPart(part_number=n, etag=r.etag))
    client.complete_multipart_upload(oss.CompleteMultipartUploadRequest(
        bucket=BUCKET, key="v2/up", upload_id=up.upload_id,
        complete_multipart_upload=oss.CompleteMultipartUpload(parts=up_parts)))
    assert client.get_object(oss.GetObjectRequest(bucket=BUCKET, key="v2/up")).body.read() == data

    v1_keys = [o.key for page in client.list_objects_paginator(limit=2).iter_page(
        oss.ListObjectsRequest(bucket=BUCKET, prefix="v2/", max_keys=2)) for o in page.contents or []]
    v2_pages = list(client.list_objects_v2_paginator(limit=2).iter_page(
        oss.ListObjectsV2Request(bucket=BUCKET, prefix="v2/", max_keys=2)))
    v2_keys = [o.key for page in v2_pages for o in page.contents or []]
    assert v1_keys == v2_keys == ["v2/a b/ü.bin", "v2/copy", "v2/mp", "v2/up"] and len(v2_pages) == 2
    dirs = client.list_objects_v2(oss.ListObjectsV2Request(bucket=BUCKET, delimiter="/", prefix="v2/"))
    assert [p.prefix for p in dirs.common_prefixes] == ["v2/a b/"]

    client.delete_object(oss.DeleteObjectRequest(bucket=BUCKET, key="v2/copy"))
    with pytest.raises(oss.exceptions.OperationError) as err:
        client.get_object(oss.GetObjectRequest(bucket=BUCKET, key="v2/copy"))
    assert err.value.unwrap().code == "NoSuchKey"


def test_v2_sdk_refusals(emu):
    import alibabacloud_oss_v2 as oss

    cases = [(_v2_client(emu, sk="wrong"), BUCKET, "SignatureDoesNotMatch"),
             (_v2_client(emu, ak="nobody"), BUCKET, "InvalidAccessKeyId"),
             (_v2_client(emu), "no-such-bucket", "NoSuchBucket")]
    for client, bucket, code in cases:
        with pytest.raises(oss.exceptions.OperationError) as err:
            client.put_object(oss.PutObjectRequest(bucket=bucket, key="k", body=b"x"))
        assert err.value.unwrap().code == code
    assert emu.store.head(BUCKET, "k") is None


def test_oss2_list_buckets_and_bucket_info(emu):
    import oss2

    buckets = oss2.Service(_oss2_auth("v4"), emu.url, region=REGION).list_buckets().buckets
    assert [b.name for b in buckets] == [BUCKET]
    info = _bucket(emu).get_bucket_info()
    assert (info.name, info.location) == (BUCKET, f"oss-{REGION}")
    with pytest.raises(oss2.exceptions.NoSuchBucket):
        _bucket(emu, name="no-such-bucket").get_bucket_info()


def test_upload_cut_off_mid_body_leaves_nothing(emu):
    import socket
    import time

    import oss2

    req = oss2.http.Request("PUT", f"{emu.url}/{BUCKET}/cut", headers={"Content-Length": "1000000"})
    oss2.Auth(AK, SK)._sign_request(req, BUCKET, "cut")
    head = "".join(f"{k}: {v}\r\n" for k, v in req.headers.items() if v is not None)
    with socket.create_connection(("127.0.0.1", int(emu.url.rsplit(":", 1)[1]))) as sock:
        sock.sendall(f"PUT /{BUCKET}/cut HTTP/1.1\r\nHost: emu\r\n{head}\r\n".encode() + b"x" * 1000)
    # a later request is served after the cut one has started; then the cut one's temp file must go
    _bucket(emu).put_object("after", b"1")
    deadline = time.monotonic() + 10
    while any(p.is_file() for p in emu.store.tmp.iterdir()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(p.is_file() for p in emu.store.tmp.iterdir())
    assert emu.store.head(BUCKET, "cut") is None


@pytest.fixture
def pai_emulator_scenario():
    return SCENARIO


def test_served_by_the_emulator_process(pai_emulator):
    """The CLI process: actions are counted under the names classify() gives, and OSS faults reach oss2."""
    import oss2

    bucket = oss2.Bucket(oss2.AuthV4(AK, SK), pai_emulator.url, BUCKET, region=REGION)
    bucket.put_object("p/k", b"data")
    assert bucket.object_exists("p/k") and bucket.get_object("p/k").read() == b"data"
    bucket.copy_object(BUCKET, "p/k", "p/k2")
    assert [o.key for o in oss2.ObjectIteratorV2(bucket, prefix="p/")] == ["p/k", "p/k2"]
    calls = pai_emulator.calls()["oss"]
    assert {a: calls.get(a) for a in ("PutObject", "GetObjectMeta", "GetObject", "CopyObject", "ListObjectsV2")} == {
        "PutObject": 1, "GetObjectMeta": 1, "GetObject": 1, "CopyObject": 1, "ListObjectsV2": 1}

    pai_emulator.fault(service="oss", action="GetObject", kind="error", count=1)
    with pytest.raises(oss2.exceptions.ServerError) as err:
        bucket.get_object("p/k")
    assert err.value.status == 500
    assert bucket.get_object("p/k").read() == b"data"


@pytest.mark.parametrize("version", ["v1", "v4"])
def test_v2_sdk_signature_versions_and_presign(emu, version):
    import alibabacloud_oss_v2 as oss

    client = _v2_client(emu, signature_version=version)
    client.put_object(oss.PutObjectRequest(bucket=BUCKET, key="shared/a b.txt", body=b"hi"))
    assert client.get_object(oss.GetObjectRequest(bucket=BUCKET, key="shared/a b.txt")).body.read() == b"hi"
    url = client.presign(oss.GetObjectRequest(bucket=BUCKET, key="shared/a b.txt")).url
    with urllib.request.urlopen(url) as resp:
        assert resp.read() == b"hi"
