"""Inputs: the same rule everywhere. A wrong value fails at DAG parse time when it is not templated
(checked with `airflow dags list-import-errors`), else before any mutating call, naming the
parameter, the value and what is expected. http(s) model archives work both ways."""

from __future__ import annotations

import io
import json
import re
import tarfile
import zipfile

import pytest

from airflow_provider_pai.version_compat import AIRFLOW_V_3_0_PLUS
from tests.usage.conftest import calls_of, fresh_dags, run_dag, service_state, states

pytestmark = pytest.mark.slow

HEADER = '''
import pendulum
from airflow.providers.common.compat.sdk import DAG
from airflow_provider_pai.operators.dataworks import TriggerDesignerNodeOperator
from airflow_provider_pai.operators.eas import EasCreateServiceOperator, EasModifyServiceOperator, EasRollbackOperator
from airflow_provider_pai.operators.oss import ExportModelToOSSOperator
from airflow_provider_pai.sensors.dataworks import WaitForInstanceSensor
from airflow_provider_pai.sensors.eas import EasServiceSensor
with DAG(dag_id="{dag_id}", schedule=None, start_date=pendulum.datetime(2026, 11, 1, tz="UTC")):
    {task}
'''
SRC, DST = "oss://pai-demo/models/churn/v2/", "oss://pai-demo/release/x/"

# (case, operator call, regex its parse error must match: parameter, value and the fix)
BAD = [
    ("sensor_lower", 'EasServiceSensor(task_id="t", service_name="churn_model", target_status="running")',
     r"target_status='running'.*Running"),
    ("sensor_typo", 'EasServiceSensor(task_id="t", service_name="churn_model", target_status="Runing")',
     r"target_status='Runing'.*Running"),
    ("include_int", f'ExportModelToOSSOperator(task_id="t", source="{SRC}", destination="{DST}", include=42)',
     r"include=42.*glob"),
    ("max_workers_zero", f'ExportModelToOSSOperator(task_id="t", source="{SRC}", destination="{DST}", max_workers=0)',
     r"max_workers=0(?!.*seconds)"),
    ("poke_zero", 'WaitForInstanceSensor(task_id="t", instance_id=1, poke_interval=0)', r"poke_interval=0"),
    ("poll_zero", 'TriggerDesignerNodeOperator(task_id="t", project_id=1, node_id=2, poll_interval=0)',
     r"poll_interval=0"),
    ("bucket_root", f'ExportModelToOSSOperator(task_id="t", source="{SRC}", destination="oss://pai-demo")',
     r"destination='oss://pai-demo'.*(root|prefix)"),
    ("bucket_root_slash", f'ExportModelToOSSOperator(task_id="t", source="{SRC}", destination="oss://pai-demo/")',
     r"destination='oss://pai-demo/'.*(root|prefix)"),
    ("http_not_archive", 'EasModifyServiceOperator(task_id="t", service_name="churn_model", '
     'model_path="https://example.com/model.txt")', r"model_path='https://example.com/model.txt'.*(tar|zip)"),
    ("http_not_archive_config", 'EasModifyServiceOperator(task_id="t", service_name="churn_model", '
     'service_config={"model_path": "https://example.com/model.txt"})', r"model_path.*https://example.com/model.txt.*(tar|zip)"),
    ("other_service", 'EasModifyServiceOperator(task_id="t", service_name="churn_model", '
     'service_config={"name": "svc_a", "model_path": "oss://pai-demo/m/"})', r"svc_a.*churn_model|churn_model.*svc_a"),
    ("env_lower", 'TriggerDesignerNodeOperator(task_id="t", project_id=1, node_id=2, project_env="prod")',
     r"project_env='prod'.*PROD"),
    ("run_mode", 'TriggerDesignerNodeOperator(task_id="t", project_id=1, node_id=2, run_mode="Manual")',
     r"run_mode='Manual'"),
    ("sensor_env", 'WaitForInstanceSensor(task_id="t", instance_id=1, project_env="dev")', r"project_env='dev'"),
    ("update_type", 'EasModifyServiceOperator(task_id="t", service_name="churn_model", model_path="oss://b-1/m/", '
     'update_type="patch")', r"update_type='patch'"),
    ("if_exists", 'EasCreateServiceOperator(task_id="t", service_config={"name": "x"}, if_exists="replace")',
     r"if_exists='replace'"),
    ("rollback_version", 'EasRollbackOperator(task_id="t", service_name="churn_model", version="latest")',
     r"version='latest'"),
]
GOOD = [
    ("root_allowed", f'ExportModelToOSSOperator(task_id="t", source="{SRC}", destination="oss://pai-demo", '
     'allow_bucket_root=True)'),
    ("http_tar", 'EasModifyServiceOperator(task_id="t", service_name="churn_model", '
     'model_path="https://example.com/models/m.tar.gz")'),
    ("http_zip_config", 'EasModifyServiceOperator(task_id="t", service_name="churn_model", '
     'service_config={"model_path": "http://example.com/m.zip"})'),
    ("templated", 'EasServiceSensor(task_id="t", service_name="churn_model", target_status="{{ params.s }}")'),
]


@pytest.fixture(scope="module")
def import_errors(_airflow_home, tmp_path_factory) -> dict[str, str]:
    """{case: error text} for one DAG file per case, parsed by Airflow in one command."""
    env = _airflow_home
    for path in env.dags_folder.glob("*.py"):
        path.unlink()
    for case, task, *_ in BAD + GOOD:
        (env.dags_folder / f"usage_parse_{case}.py").write_text(HEADER.format(dag_id=f"usage_parse_{case}", task=task))
    args = ["dags", "list-import-errors", "-o", "json"] + (["--local"] if AIRFLOW_V_3_0_PLUS else [])
    result = env.airflow(*args, timeout=300)
    lines = [line for line in result.stdout.splitlines() if line.startswith(("[{", "[]"))]
    assert lines, result.stdout[-3000:] + result.stderr[-3000:]
    errors = json.loads(lines[-1])
    out = {}
    for row in errors:
        name = row["filepath"].rsplit("/", 1)[-1][len("usage_parse_"):-3]
        out[name] = row["error"]
    return out


@pytest.fixture(scope="module")
def parsed_dags(_airflow_home, import_errors) -> set[str]:
    """The dag_ids Airflow built from the same files (a file with no import error may also never have been parsed)."""
    env = _airflow_home
    args = ["dags", "list", "-o", "json"] + (["--local"] if AIRFLOW_V_3_0_PLUS else [])
    result = env.airflow(*args, timeout=300)
    lines = [line for line in result.stdout.splitlines() if line.startswith(("[{", "[]"))]
    assert lines, result.stdout[-3000:] + result.stderr[-3000:]
    return {row["dag_id"] for row in json.loads(lines[-1])}


@pytest.mark.parametrize("case, task, pattern", BAD, ids=[c[0] for c in BAD])
def test_bad_value_is_refused_at_parse_time_naming_it(import_errors, case, task, pattern):
    assert case in import_errors, f"{task} parsed without error"
    last = import_errors[case].strip().splitlines()[-1]
    assert "PaiParameterError" in last or "ValueError" in last, import_errors[case][-2000:]
    assert re.search(pattern, last), last


@pytest.mark.parametrize("case", [c[0] for c in GOOD])
def test_good_value_parses(import_errors, parsed_dags, case):
    assert case not in import_errors, import_errors.get(case, "")[-2000:]
    assert f"usage_parse_{case}" in parsed_dags, sorted(parsed_dags)  # built, with its task


@pytest.mark.parametrize("case", [c[0] for c in BAD])
def test_bad_value_yields_no_dag(parsed_dags, case):
    assert f"usage_parse_{case}" not in parsed_dags


@pytest.fixture(scope="module")
def runtime_inputs(_airflow_home, usage_emulator):
    emu = usage_emulator
    emu.reset_calls()
    env = fresh_dags(_airflow_home, "usage_inputs.py")
    out = run_dag(env, emu, "usage_inputs_runtime", logical_date="2026-11-02")
    return env, emu, out


def test_templated_bad_values_fail_before_any_change_naming_them(runtime_inputs):
    env, emu, out = runtime_inputs
    got = states(env, "usage_inputs_runtime")
    assert got == {"sensor_lower": "failed", "deploy_other_name": "failed", "export_root": "failed",
                   "train_env": "failed"}, out[-6000:]
    # In the provider's error line, not anywhere in the output (Airflow's own lines name the values too).
    for pattern in (r"target_status='running'", r"svc_a.*churn_model|churn_model.*svc_a",
                    r"destination='oss://pai-demo'", r"project_env='prod'"):
        assert re.search(rf"PaiParameterError: .*(?:{pattern})", out), (pattern, out[-6000:])
    assert calls_of(emu, "eas", "UpdateService") == 0 and calls_of(emu, "dataworks", "RunCycleDagNodes") == 0
    oss = emu.calls()["oss"]
    assert not any(oss.get(a) for a in ("CopyObject", "PutObject", "UploadPartCopy")), oss


def _archive(kind: str, model: dict) -> bytes:
    data = json.dumps(model).encode()
    buf = io.BytesIO()
    if kind == "zip":
        with zipfile.ZipFile(buf, "w") as z:
            z.writestr("model.json", data)
    else:
        with tarfile.open(fileobj=buf, mode="w:gz") as t:
            info = tarfile.TarInfo("model.json")
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def test_http_model_archives_deploy_and_serve_both_ways(_airflow_home, usage_emulator):
    from airflow_provider_pai.hooks.eas import EasHook
    from airflow_provider_pai.hooks.oss import OssHook

    emu = usage_emulator
    oss = OssHook()
    oss.put_object("pai-demo", "archives/model.tar.gz", _archive("tar", {"weights": [0.9, 0.1], "bias": 0.0}))
    oss.put_object("pai-demo", "archives/model.zip", _archive("zip", {"weights": [0.2, 0.2], "bias": 0.0}))
    tar_url, zip_url = f"{emu.url}/pai-demo/archives/model.tar.gz", f"{emu.url}/pai-demo/archives/model.zip"
    env = fresh_dags(_airflow_home, "usage_inputs.py")
    out = run_dag(env, emu, "usage_inputs_http", logical_date="2026-11-02", USAGE_TAR_URL=tar_url, USAGE_ZIP_URL=zip_url)
    assert states(env, "usage_inputs_http") == {"by_path": "success", "by_config": "success"}, out[-6000:]
    assert service_state(emu, "svc_in") == (3, 3)
    answer = EasHook().predict("svc_in", {"instances": [[1.0, 0.0]]})
    assert answer["version"] == 3 and answer["model_path"] == zip_url
