"""Bad input fails early and clearly: each case names the parameter or the cause, happens before any
call that changes remote state (the emulator's call counts), and leaves the account as it was.

The operators run in-process (``execute()`` with the real connection from ``AIRFLOW_CONN_*`` and
the real SDKs against the emulator); two cases also run through ``airflow dags test``.
"""

from __future__ import annotations

import json
import re

import pytest

from airflow_provider_pai.operators.dataworks import TriggerDesignerNodeOperator
from airflow_provider_pai.operators.eas import (
    EasCreateServiceOperator,
    EasModifyServiceOperator,
    EasRollbackOperator,
)
from airflow_provider_pai.operators.oss import ExportModelToOSSOperator
from airflow_provider_pai.sensors.dataworks import WaitForInstanceSensor
from tests.reliability.conftest import (
    DAGS,
    SECRETS,
    assert_no_secrets,
    mutating_calls,
    remote_state,
    task_context,
)

GOOD_MODEL = "oss://pai-demo/models/churn/initial/"


def train(**kw):
    kw = {"project_id": 10001, "node_id": 700001, "bizdate": "2026-11-02", **kw}
    return TriggerDesignerNodeOperator(task_id="train", **kw)


def export(**kw):
    kw = {"source": GOOD_MODEL, "destination": "oss://pai-demo/models/churn/release/", **kw}
    return ExportModelToOSSOperator(task_id="export", **kw)


def deploy(**kw):
    kw = {"service_name": "churn_model", "model_path": GOOD_MODEL, "poll_interval": 1, **kw}
    return EasModifyServiceOperator(task_id="deploy", **kw)


def rollback(**kw):
    kw = {"service_name": "churn_model", "version": 1, "poll_interval": 1, **kw}
    return EasRollbackOperator(task_id="rollback", **kw)


def wait(**kw):
    kw = {"instance_id": 11700000001, "poke_interval": 1, "timeout": 60, **kw}
    return WaitForInstanceSensor(task_id="wait", **kw)


def run(make_op, method: str = "execute"):
    """Build the operator and run it: a check may fire in either step, both count as 'before any call'."""
    op = make_op()
    return getattr(op, method)(task_context(op.task_id))


def conn(emu, **changes) -> str:
    """The emulator's connection with some fields changed (``extra`` keys merged; None removes)."""
    base = json.loads(emu.connection_json())
    extra = {**base["extra"], **changes.pop("extra", {})}
    base.update(changes)
    base["extra"] = {k: v for k, v in extra.items() if v is not None}
    return json.dumps({k: v for k, v in base.items() if v is not None})


# (id, connection changes or None, operator factory, method, regex the message must match)
CASES = [
    # the connection
    ("no-region", {"extra": {"region_id": None}}, lambda: deploy(pai_conn_id="bad"), "execute", r"region_id"),
    ("unknown-region", {"extra": {"region_id": "xx-atlantis-9", "eas_endpoint": None}},
     lambda: deploy(pai_conn_id="bad"), "execute", r"region_id 'xx-atlantis-9'.* is not an Alibaba Cloud region"),
    ("unknown-auth-type", {"extra": {"auth_type": "password"}}, lambda: deploy(pai_conn_id="bad"), "execute",
     r"auth_type"),
    ("sts-without-token", {"extra": {"security_token": None}}, lambda: deploy(pai_conn_id="bad"), "execute",
     r"auth_type 'sts' is missing: security_token"),
    ("access-key-without-secret", {"password": None, "extra": {"auth_type": "access_key", "security_token": None}},
     lambda: deploy(pai_conn_id="bad"), "execute", r"missing: password \(AccessKey Secret\)"),
    ("ram-role-without-arn", {"extra": {"auth_type": "ram_role_arn"}}, lambda: deploy(pai_conn_id="bad"),
     "execute", r"role_arn"),
    ("missing-connection", None, lambda: deploy(pai_conn_id="no_such_conn"), "execute", r"no_such_conn"),
    ("wrong-secret", {"password": "not-the-secret"}, lambda: train(pai_conn_id="bad"), "execute",
     r"SignatureDoesNotMatch.*AccessKey secret"),
    ("wrong-sts-token", {"extra": {"security_token": "CAIS-stale-token"}}, lambda: export(pai_conn_id="bad"),
     "execute", r"security token you provided is invalid"),
    # DataWorks
    ("bizdate-not-a-date", None, lambda: train(bizdate="yesterday"), "execute", r"bizdate"),
    ("bizdate-feb-30", None, lambda: train(bizdate="2026-02-30"), "execute", r"bizdate"),
    ("node-id-not-a-number", None, lambda: train(node_id="abc"), "execute", r"node_id"),
    ("project-env-lowercase", None, lambda: train(project_env="prod"), "execute", r"project_env"),
    ("poll-interval-zero", None, lambda: train(poll_interval=0, wait_for_completion=True), "execute",
     r"poll_interval"),
    ("timeout-negative", None, lambda: train(timeout=-60, wait_for_completion=True), "execute", r"timeout"),
    ("not-a-designer-node", None, lambda: train(node_id=700003), "execute", r"700003.*not a PAI Designer node"),
    ("nonexistent-node", None, lambda: train(node_id=799999), "execute", r"NodeNotExists.*799999"),
    ("nonexistent-instance", None, lambda: wait(instance_id=99999999), "poke", r"InstanceNotExists.*99999999"),
    # OSS
    ("source-not-oss-uri", None, lambda: export(source="s3://pai-demo/model/"), "execute", r"source"),
    ("source-bad-bucket", None, lambda: export(source="oss://Pai_Demo/model/"), "execute", r"source.*bucket"),
    ("destination-short-bucket", None, lambda: export(destination="oss://ab/models/"), "execute",
     r"destination"),
    ("destination-double-slash", None, lambda: export(destination="oss://pai-demo//models/"), "execute",
     r"destination"),
    ("destination-no-bucket", None, lambda: export(destination="oss:///models/"), "execute", r"destination"),
    ("nonexistent-object", None, lambda: export(source="oss://pai-demo/designer/nothing-here/"), "execute",
     r"nothing-here"),
    ("nonexistent-bucket", None, lambda: export(source="oss://no-such-bucket-x/model/"), "execute",
     r"NoSuchBucket"),
    # EAS
    ("service-name-uppercase-hyphen", None, lambda: deploy(service_name="Churn-Model"), "execute",
     r"service_name"),
    ("service-name-leading-digit", None, lambda: deploy(service_name="1churn"), "execute", r"service_name"),
    ("create-config-bad-name", None,
     lambda: EasCreateServiceOperator(task_id="create", service_config={"name": "churn model", "model_path": GOOD_MODEL}),
     "execute", r"service_config\['name'\]"),
    ("model-path-malformed", None, lambda: deploy(model_path="oss:/pai-demo/model/"), "execute", r"model_path"),
    ("deploy-poll-interval-zero", None, lambda: deploy(poll_interval=0), "execute", r"poll_interval"),
    ("deploy-timeout-negative", None, lambda: deploy(timeout=-1), "execute", r"timeout"),
    ("nonexistent-service", None, lambda: deploy(service_name="no_such_service"), "execute",
     r"NotFound.*no_such_service"),
    ("rollback-version-zero", None, lambda: rollback(version=0), "execute", r"version=0"),
    ("rollback-past-latest", None, lambda: rollback(version=7), "execute", r"version=7.*1\.\.1"),
    ("rollback-nonexistent-service", None, lambda: rollback(service_name="no_such_service"), "execute",
     r"NotFound.*no_such_service"),
]


@pytest.mark.parametrize(("conn_changes", "make_op", "method", "pattern"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_bad_input_fails_before_any_change(shared_emulator, monkeypatch, conn_changes, make_op, method, pattern):
    emu = shared_emulator
    if conn_changes is not None:
        monkeypatch.setenv("AIRFLOW_CONN_BAD", conn(emu, **conn_changes))
    emu.reset_calls()
    before = remote_state(emu)

    with pytest.raises(Exception) as raised:
        run(make_op, method)

    message = str(raised.value)
    assert re.search(pattern, message, re.S), message
    assert_no_secrets("the exception text", message + repr(raised.value))
    assert mutating_calls(emu.calls()) == {}, message
    assert remote_state(emu) == before


def test_the_table_is_big_enough():
    assert len(CASES) >= 25


@pytest.mark.slow
def test_bad_input_through_airflow_dags_test(airflow_env, pai_emulator):
    """The same checks under a real `airflow dags test`: the task fails, the log says why, nothing changed."""
    airflow_env.add_dag_file(DAGS / "bad_input_dags.py")
    before = remote_state(pai_emulator)

    result = airflow_env.dags_test("reliability_bad_input", env=pai_emulator.airflow_env(), logical_date="2026-11-02")
    out = result.stdout + result.stderr

    assert airflow_env.task_states("reliability_bad_input") == {
        "not_designer": "failed", "rollback_past_latest": "failed"
    }, out[-5000:]
    assert "700003 (sql_prepare) is not a PAI Designer node" in out
    assert "Invalid version=9: service churn_model has versions 1..1" in out
    assert mutating_calls(pai_emulator.calls()) == {}
    assert remote_state(pai_emulator) == before
    for secret in SECRETS:
        assert secret not in out
