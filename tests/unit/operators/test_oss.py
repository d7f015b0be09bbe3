"""ExportModelToOSSOperator with a mocked OssHook: planning, copy choice, checks, manifest, reruns."""

from __future__ import annotations

import json
from unittest import mock

import pytest
from airflow.providers.common.compat.sdk import AirflowException

from airflow_provider_pai.hooks.oss import OssHook
from airflow_provider_pai.operators.oss import ExportModelToOSSOperator
from airflow_provider_pai.utils.validation import PaiParameterError

SRC = {"m/model.json": (10, "111"), "m/weights.bin": (3000, "222"), "m/sub/vocab.txt": (5, "333")}


class FakeOss:
    """An in-memory bucket: objects are (size, crc64); copies keep both, like OSS does."""

    def __init__(self, objects):
        self.objects = {("src", k): v for k, v in objects.items()}
        self.writes = []

    def head_object(self, bucket, key):
        if (bucket, key) not in self.objects:
            return None
        size, crc = self.objects[(bucket, key)]
        return {"key": key, "size": size, "crc64": crc}

    def list_objects(self, bucket, prefix=""):
        return [{"key": k, "size": v[0]} for (b, k), v in sorted(self.objects.items()) if b == bucket and k.startswith(prefix)]

    def copy_object(self, sb, sk, db, dk):
        self.writes.append(("copy", dk))
        self.objects[(db, dk)] = self.objects[(sb, sk)]

    def multipart_copy(self, sb, sk, db, dk, *, size, part_size, max_workers):
        self.writes.append(("multipart", dk))
        self.objects[(db, dk)] = self.objects[(sb, sk)]

    def put_object(self, bucket, key, data, content_type=None):
        self.writes.append(("put", key))
        self.objects[(bucket, key)] = (len(data), "m")
        self.manifest = json.loads(data)

    def get_object(self, bucket, key):
        assert bucket != "src", "the export must never read a source object"
        return json.dumps(self.manifest).encode()

    def delete_object(self, bucket, key):
        self.writes.append(("delete", key))
        del self.objects[(bucket, key)]


def export(fake, **kw):
    kw = {"source": "oss://src/m/", "destination": "oss://dst-bkt/rel/1", "multipart_threshold": 1000, **kw}
    op = ExportModelToOSSOperator(task_id="export", **kw)
    hook = mock.create_autospec(OssHook, instance=True)
    for name in ("head_object", "list_objects", "copy_object", "multipart_copy", "put_object", "get_object",
                 "delete_object"):
        getattr(hook, name).side_effect = getattr(fake, name)
    op.__dict__["hook"] = hook
    return op


def ctx():
    ti = mock.MagicMock(dag_id="d", run_id="r1", task_id="export")
    return {"ti": ti, "outlet_events": mock.MagicMock()}


def test_copies_server_side_and_writes_manifest_last():
    fake = FakeOss(SRC)
    assert export(fake).execute(ctx()) == "oss://dst-bkt/rel/1/"
    assert fake.writes[-1] == ("put", "rel/1/_manifest.json")
    assert ("multipart", "rel/1/weights.bin") in fake.writes  # 3000 > threshold 1000
    assert ("copy", "rel/1/sub/vocab.txt") in fake.writes
    assert fake.manifest["files"] == [
        {"path": "model.json", "size": 10, "crc64": "111"},
        {"path": "sub/vocab.txt", "size": 5, "crc64": "333"},
        {"path": "weights.bin", "size": 3000, "crc64": "222"},
    ]
    assert (fake.manifest["dag_id"], fake.manifest["run_id"], fake.manifest["source"]) == ("d", "r1", "oss://src/m/")


def test_include_patterns_filter_relative_paths():
    fake = FakeOss(SRC)
    export(fake, include=["*.json", "sub/*"]).execute(ctx())
    assert [f["path"] for f in fake.manifest["files"]] == ["model.json", "sub/vocab.txt"]


def test_single_object_source():
    fake = FakeOss(SRC)
    export(fake, source="oss://src/m/model.json").execute(ctx())
    assert [f["path"] for f in fake.manifest["files"]] == ["model.json"]


def test_rerun_onto_identical_destination_is_a_noop():
    fake = FakeOss(SRC)
    export(fake).execute(ctx())
    fake.writes.clear()
    assert export(fake).execute(ctx()) == "oss://dst-bkt/rel/1/"
    assert fake.writes == []


def test_different_content_at_destination_fails_unless_overwrite():
    fake = FakeOss(SRC)
    export(fake).execute(ctx())
    fake.objects[("src", "m/model.json")] = (11, "999")  # a new training run
    fake.writes.clear()
    with pytest.raises(AirflowException, match="overwrite=True"):
        export(fake).execute(ctx())
    assert fake.writes == []
    export(fake, overwrite=True).execute(ctx())
    assert fake.writes[0] == ("delete", "rel/1/_manifest.json")  # the old manifest goes first
    assert fake.writes[-1] == ("put", "rel/1/_manifest.json")
    assert fake.manifest["files"][0]["crc64"] == "999"


def test_resume_of_a_half_done_export_copies_only_the_rest():
    fake = FakeOss(SRC)
    fake.objects[("dst-bkt", "rel/1/model.json")] = SRC["m/model.json"]  # copied by a crashed try
    export(fake).execute(ctx())
    assert ("copy", "rel/1/model.json") not in fake.writes


def test_copy_check_catches_a_wrong_copy():
    fake = FakeOss(SRC)
    real_copy = fake.copy_object

    def corrupt(sb, sk, db, dk):
        real_copy(sb, sk, db, dk)
        fake.objects[(db, dk)] = (fake.objects[(db, dk)][0], "bad")

    fake.copy_object = corrupt
    with pytest.raises(AirflowException, match="Copy check failed"):
        export(fake).execute(ctx())
    assert ("put", "rel/1/_manifest.json") not in fake.writes


def test_empty_source_fails_clearly():
    with pytest.raises(AirflowException, match="Nothing to export.*source"):
        export(FakeOss(SRC), source="oss://src/nothing/").execute(ctx())


@pytest.mark.parametrize(
    ("kwargs", "param"),
    [({"source": "s3://src/m/"}, "source"), ({"destination": "oss://B/x/"}, "destination"),
     ({"include": [""]}, "include")],
)
def test_bad_uris_fail_naming_the_parameter(kwargs, param):
    fake = FakeOss(SRC)
    with pytest.raises(PaiParameterError, match=param):
        export(fake, **kwargs).execute(ctx())
    assert fake.writes == []


def test_threshold_above_one_gib_rejected():
    with pytest.raises(PaiParameterError, match="multipart_threshold"):
        ExportModelToOSSOperator(task_id="e", source="oss://src/m/", destination="oss://dst-bkt/x/",
                                 multipart_threshold=2 * 1024**3)


def test_destination_is_declared_as_asset_or_alias():
    from airflow.providers.common.compat.sdk import DAG, Asset, AssetAlias

    with DAG("d"):
        static = ExportModelToOSSOperator(task_id="a", source="oss://src/m/", destination="oss://dst-bkt/rel/")
        templated = ExportModelToOSSOperator(task_id="b", source="oss://src/m/",
                                             destination="oss://dst-bkt/rel/{{ ds_nodash }}/")
    from airflow_provider_pai.version_compat import AIRFLOW_V_3_0_PLUS

    assert static.outlets == [Asset("oss://dst-bkt/rel/")]
    # Below Airflow 3 no alias: it would make `airflow dags test` need `airflow dags reserialize` first.
    assert templated.outlets == ([AssetAlias(name="d.b")] if AIRFLOW_V_3_0_PLUS else [])
    fake = FakeOss(SRC)
    op = export(fake, destination="oss://dst-bkt/rel/2/")
    op.outlets = [AssetAlias(name=op.alias_name)]
    context = ctx()
    op.execute(context)
    context["outlet_events"].__getitem__.return_value.add.assert_called_once_with(Asset("oss://dst-bkt/rel/2/"))


def test_persists_the_destination_console_link_before_copying():
    from airflow_provider_pai.version_compat import LINKS_READ_FROM_XCOM

    op = export(FakeOss(SRC))
    op.hook.region_id = "cn-shanghai"
    context = ctx()
    op.execute(context)
    pushed = {c.kwargs["key"]: c.kwargs["value"] for c in context["ti"].xcom_push.call_args_list}
    if LINKS_READ_FROM_XCOM:
        assert pushed["_link_OssObjectLink"] == (
            "https://oss.console.aliyun.com/bucket/oss-cn-shanghai/dst-bkt/object?path=rel%2F1%2F")
    else:
        assert pushed["oss_destination"] == {"region_id": "cn-shanghai", "bucket": "dst-bkt", "prefix": "rel/1/"}
