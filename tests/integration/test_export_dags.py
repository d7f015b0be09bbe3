"""ExportModelToOSS through `airflow dags test` against the emulator, with the real oss2 SDK."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from airflow_provider_pai.emulator.crc64 import crc64
from airflow_provider_pai.emulator.oss_store import ObjectStore

DAGS = Path(__file__).parent / "dags"
MiB = 1024 * 1024
SRC = "designer/churn/20261101/model/"
DST = "models/churn/20261101/"
FILES = {
    "model.json": b'{"weights": [0.4, -1.2], "bias": 0.1}',
    "weights.bin": os.urandom(3 * MiB + 12345),  # over the 1 MiB threshold: multipart, 4 parts
    "assets/vocab.txt": b"churn\nstay\n" * 100,
}

pytestmark = pytest.mark.slow


@pytest.fixture
def oss_hook(pai_emulator):
    from airflow_provider_pai.hooks.oss import OssHook

    hook = OssHook()
    for path, data in FILES.items():
        hook.put_object("pai-demo", SRC + path, data)
    return hook


def run_export(airflow_env, pai_emulator):
    airflow_env.add_dag_file(DAGS / "export_dags.py")
    conf = {"source": f"oss://pai-demo/{SRC}", "destination": f"oss://pai-demo/{DST}"}
    return airflow_env.dags_test("export_model_test", conf=conf, env=pai_emulator.airflow_env())


def test_export_copies_server_side_verifies_and_writes_manifest_last(airflow_env, pai_emulator, oss_hook):
    pai_emulator.reset_calls()
    result = run_export(airflow_env, pai_emulator)
    assert airflow_env.task_states("export_model_test") == {"export": "success"}, result.stdout[-3000:] + result.stderr[-3000:]
    assert airflow_env.xcom("export_model_test", "export") == f"oss://pai-demo/{DST}"

    calls = pai_emulator.calls()["oss"]
    assert calls.get("GetObject", 0) == 0  # no model byte read by the worker
    assert calls.get("UploadPartCopy", 0) == 4 and calls.get("CopyObject", 0) == 2

    store = ObjectStore(pai_emulator.data_dir / "oss")
    for path, data in FILES.items():
        info = store.head("pai-demo", DST + path)
        assert (info.size, info.crc64) == (len(data), str(crc64(data)))
        assert store.get("pai-demo", DST + path) == data
    manifest_info = store.head("pai-demo", DST + "_manifest.json")
    assert all(manifest_info.last_modified >= store.head("pai-demo", DST + p).last_modified for p in FILES)
    manifest = json.loads(store.get("pai-demo", DST + "_manifest.json"))
    assert manifest["files"] == [
        {"path": p, "size": len(FILES[p]), "crc64": str(crc64(FILES[p]))} for p in sorted(FILES)
    ]
    assert manifest["dag_id"] == "export_model_test" and manifest["run_id"]


def test_export_rerun_is_a_noop_and_changed_source_is_refused(airflow_env, pai_emulator, oss_hook):
    assert run_export(airflow_env, pai_emulator).returncode == 0
    pai_emulator.reset_calls()
    run_export(airflow_env, pai_emulator)
    assert airflow_env.task_states("export_model_test") == {"export": "success"}
    calls = pai_emulator.calls()["oss"]
    assert not any(calls.get(a) for a in ("CopyObject", "UploadPartCopy", "PutObject"))

    oss_hook.put_object("pai-demo", SRC + "model.json", b'{"weights": [9, 9], "bias": 9}')
    result = run_export(airflow_env, pai_emulator)
    assert airflow_env.task_states("export_model_test") == {"export": "failed"}
    assert "overwrite=True" in result.stdout + result.stderr
