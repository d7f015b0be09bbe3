"""Bucket regions, cross-region copies and part-size limits in the emulated OSS (issue 15 item 10),
through oss2. Rows: docs/cloud-fidelity.md F-OSS-1..F-OSS-3."""

from __future__ import annotations

import pytest

AK, SK = "emulator-ak", "emulator-secret"
KB = 1024
SCENARIO = {
    "region_id": "cn-shanghai",
    "credentials": [{"access_key_id": AK, "access_key_secret": SK}],
    "oss": {
        "buckets": ["near", {"name": "near2", "region": "cn-shanghai"}, {"name": "far", "region": "cn-beijing"}],
        "objects": [{"uri": "oss://near/model.bin", "content": "x" * 2000},
                    {"uri": "oss://far/model.bin", "content": "y" * 10}],
        "limits": {"copy_object_max_bytes": 1000, "part_max_bytes": 300 * KB},  # small, so tests reach them
    },
}


@pytest.fixture
def pai_emulator_scenario():
    return SCENARIO


def bucket(emu, name, region="cn-shanghai", v4=True):
    import oss2

    auth = oss2.AuthV4(AK, SK) if v4 else oss2.Auth(AK, SK)
    return oss2.Bucket(auth, emu.url, name, region=region)


def oss_error(call):
    import oss2

    with pytest.raises(oss2.exceptions.OssError) as info:
        call()
    return info.value


def test_buckets_report_their_region(pai_emulator):
    assert bucket(pai_emulator, "near").get_bucket_location().location == "oss-cn-shanghai"
    assert bucket(pai_emulator, "far", "cn-beijing").get_bucket_location().location == "oss-cn-beijing"
    info = bucket(pai_emulator, "far", "cn-beijing").get_bucket_info()
    assert info.location == "oss-cn-beijing"
    # V4 signed for the bucket's region, or for the emulator's (its one endpoint serves every region)
    assert bucket(pai_emulator, "far", "cn-shanghai").get_object("model.bin").read() == b"y" * 10


def test_copy_object_and_upload_part_copy_refuse_another_region(pai_emulator):
    far = bucket(pai_emulator, "far", "cn-beijing")
    err = oss_error(lambda: far.copy_object("near", "model.bin", "copied.bin"))
    assert (err.status, err.code) == (404, "NoSuchBucket") and "cn-beijing" in err.message
    upload = far.init_multipart_upload("copied.bin").upload_id
    err = oss_error(lambda: far.upload_part_copy("near", "model.bin", (0, 99), "copied.bin", upload, 1))
    assert (err.status, err.code) == (404, "NoSuchBucket")
    assert not far.object_exists("copied.bin")


def test_copy_object_within_the_region_and_its_size_limit(pai_emulator):
    near2 = bucket(pai_emulator, "near2")
    err = oss_error(lambda: near2.copy_object("near", "model.bin", "copied.bin"))  # 2000 bytes > 1000
    assert (err.status, err.code) == (400, "EntityTooLarge")
    near = bucket(pai_emulator, "near")
    near.copy_object("near", "model.bin", "same-bucket.bin")  # within one bucket: no size limit
    assert near.get_object("same-bucket.bin").read() == b"x" * 2000
    near.put_object("small.bin", b"z" * 500)
    near2.copy_object("near", "small.bin", "copied.bin")
    assert near2.get_object("copied.bin").read() == b"z" * 500


def test_part_sizes(pai_emulator):
    from oss2.models import PartInfo

    near = bucket(pai_emulator, "near")
    upload = near.init_multipart_upload("big.bin").upload_id
    err = oss_error(lambda: near.upload_part("big.bin", upload, 1, b"a" * (301 * KB)))
    assert (err.status, err.code) == (400, "EntityTooLarge")
    first = near.upload_part("big.bin", upload, 1, b"a" * (50 * KB))
    last = near.upload_part("big.bin", upload, 2, b"b" * 10)
    parts = [PartInfo(1, first.etag), PartInfo(2, last.etag)]
    err = oss_error(lambda: near.complete_multipart_upload("big.bin", upload, parts))
    assert (err.status, err.code) == (400, "EntityTooSmall")  # every part but the last is >= 100 KB
    first = near.upload_part("big.bin", upload, 1, b"a" * (100 * KB))
    near.complete_multipart_upload("big.bin", upload, [PartInfo(1, first.etag), PartInfo(2, last.etag)])
    assert near.head_object("big.bin").content_length == 100 * KB + 10


def test_regions_survive_a_restart(pai_emulator):
    bucket(pai_emulator, "near").create_bucket()  # exists already: answers as before
    pai_emulator.restart()
    assert bucket(pai_emulator, "far", "cn-beijing").get_bucket_location().location == "oss-cn-beijing"
