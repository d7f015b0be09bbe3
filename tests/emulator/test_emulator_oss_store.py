"""The object store's multipart assembly and server-side copy, and the CRC64 combine they rely on."""

from __future__ import annotations

import os

import pytest

from airflow_provider_pai.emulator.crc64 import crc64, crc64_combine
from airflow_provider_pai.emulator.oss_store import ObjectStore, PartInfo


@pytest.mark.parametrize("len_a,len_b", [(0, 5), (5, 0), (1, 1), (100, 1000), (131072, 131072), (3, (1 << 20) + 7)])
def test_crc64_combine_equals_crc_of_concatenation(len_a, len_b):
    a, b = os.urandom(len_a), os.urandom(len_b)
    assert crc64_combine(crc64(a), crc64(b), len_b) == crc64(a + b)


def _part(store: ObjectStore, upload_id: str, number: int, data: bytes) -> None:
    f, path = store.new_temp_file()
    with f:
        f.write(data)
    import hashlib

    store.put_part(upload_id, PartInfo(number, len(data), hashlib.md5(data).hexdigest().upper(), str(crc64(data))),
                   path)


def test_complete_upload_assembles_parts_in_order(tmp_path):
    store = ObjectStore(tmp_path)
    store.create_bucket("b")
    upload_id = store.init_upload("b", "k", "application/x-model", {"owner": "ml"})
    chunks = [os.urandom(200_000), os.urandom(150_001), os.urandom(10)]
    for n in (3, 1, 2):  # upload order does not matter
        _part(store, upload_id, n, chunks[n - 1])
    assert [p.number for p in store.list_parts(upload_id)] == [1, 2, 3]
    info = store.complete_upload(upload_id, [1, 2, 3])
    whole = b"".join(chunks)
    assert store.get("b", "k") == whole
    assert (info.size, info.crc64, info.object_type) == (len(whole), str(crc64(whole)), "Multipart")
    assert info.etag.endswith("-3") and (info.content_type, info.meta) == ("application/x-model", {"owner": "ml"})
    assert store.upload_info(upload_id) is None  # the upload is gone once completed


def test_copy_is_independent_of_later_writes_to_the_source(tmp_path):
    store = ObjectStore(tmp_path)
    store.put("b", "src", b"first")
    store.copy("b", "src", "b", "dst", content_type="text/plain", meta={"m": "1"})
    store.put("b", "src", b"second")
    store.delete("b", "src")
    assert store.get("b", "dst") == b"first"
    info = store.head("b", "dst")
    assert (info.content_type, info.meta, info.crc64) == ("text/plain", {"m": "1"}, str(crc64(b"first")))
