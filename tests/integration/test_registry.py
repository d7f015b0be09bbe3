"""PAI's model registry in-process against the emulator (real AI Workspace, EAS and OSS SDKs):
register once per task instance, approve on accept, deploy only what is approved, refuse a model
that is not there (issue 23 item 2) before any call that changes a service."""

from __future__ import annotations

import copy
import json
from collections import defaultdict
from types import SimpleNamespace

import pytest
from airflow.providers.common.compat.sdk import AirflowException

from airflow_provider_pai.emulator.scenario import DEMO_SCENARIO, load_scenario
from airflow_provider_pai.hooks.aiworkspace import AiWorkspaceHook
from airflow_provider_pai.operators.accept import AcceptModelOperator
from airflow_provider_pai.operators.eas import EasCreateServiceOperator, EasModifyServiceOperator
from airflow_provider_pai.operators.eas_canary import EasCanaryStartOperator
from airflow_provider_pai.operators.registry import PaiRegisterModelVersionOperator, PaiSetModelApprovalOperator
from airflow_provider_pai.utils.validation import PaiParameterError
from tests.reliability.conftest import TaskInstanceStub
from tests.scenarios import churn_pmml

WS = "86001"
GOOD, OTHER = "oss://pai-demo/models/churn/good/", "oss://pai-demo/models/churn/other/"
EMPTY = "oss://pai-demo/models/churn/nothing-here/"
WAIT = {"poll_interval": 0.5, "timeout": 60, "deferrable": False}
MUTATING_EAS = ("CreateService", "UpdateService", "ReleaseService", "UpdateServiceVersion")
MUTATING_AIW = ("CreateModel", "CreateModelVersion", "UpdateModelVersion")


@pytest.fixture
def pai_emulator_scenario():
    scenario = copy.deepcopy(load_scenario(DEMO_SCENARIO))
    for uri, note in ((GOOD, "good"), (OTHER, "other")):
        scenario["oss"]["objects"] += [{"uri": uri + "model.pmml", "content": churn_pmml(note)},
                                       {"uri": uri + "_manifest.json", "content": "{}"}]
    scenario["eas"].update(start_seconds=1, traffic_seconds=1)
    return scenario


def ctx(task_id: str, run_id: str = "manual__1") -> dict:
    events = defaultdict(lambda: SimpleNamespace(extra=None))
    return {"ti": TaskInstanceStub(dag_id="train", task_id=task_id, run_id=run_id), "outlet_events": events}


def register(uri: str = GOOD, context: dict | None = None, **kwargs):
    params = {"workspace_id": WS, "model_name": "churn", "model_uri": uri, "create_model_if_missing": True,
              "inference_spec": {"processor": "pmml"}, "metrics": {"auc": 0.91}, "dataworks_instance_id": 42}
    params.update(kwargs)
    return PaiRegisterModelVersionOperator(task_id="register", **params).execute(context or ctx("register"))


def calls(emu, service: str) -> dict:
    return emu.calls()[service]


def mutating(emu) -> dict:
    found = {a: n for a, n in calls(emu, "eas").items() if a in MUTATING_EAS}
    found.update({a: n for a, n in calls(emu, "aiworkspace").items() if a in MUTATING_AIW})
    return found


def test_register_creates_the_model_and_a_pending_version_with_lineage_labels(pai_emulator):
    result = register()
    assert result["version_name"] == "0.1.0" and result["approval_status"] == "Pending"
    assert result["uri"] == "oss://pai-demo.oss-cn-shanghai.aliyuncs.com/models/churn/good/"
    version = AiWorkspaceHook().get_model_version(result["model_id"], "0.1.0")
    assert version["ApprovalStatus"] == "Pending" and version["Uri"] == result["uri"]
    assert version["InferenceSpec"] == {"processor": "pmml"} and version["Metrics"] == {"auc": 0.91}
    labels = {lb["Key"]: lb["Value"] for lb in version["Labels"]}
    assert labels == {"airflow-run": "train/manual__1/register", "airflow-dag": "train", "dataworks-instance": "42"}
    second = register(OTHER, ctx("register", run_id="manual__2"))  # the next run: the next documented number
    assert (second["model_id"], second["version_name"]) == (result["model_id"], "0.2.0")


def test_a_retry_finds_its_version_and_never_registers_twice(pai_emulator):
    context = ctx("register")
    first = register(context=context)
    again = register(context=context)  # the same task instance tried again
    assert again == first
    assert calls(pai_emulator, "aiworkspace")["CreateModelVersion"] == 1
    assert calls(pai_emulator, "aiworkspace")["CreateModel"] == 1


def test_register_refuses_bad_input_before_changing_anything(pai_emulator):
    with pytest.raises(AirflowException, match="Invalid workspace_id='99999'"):
        register(workspace_id="99999")
    with pytest.raises(AirflowException, match="no model named 'churn'.*create_model_if_missing=True"):
        register(create_model_if_missing=False)
    with pytest.raises(PaiParameterError, match="Invalid metrics: 9.* bytes once serialized, above the 8192"):
        register(metrics={"curve": "x" * 9000})
    with pytest.raises(PaiParameterError, match="Invalid model_name"):
        register(model_name="x" * 128)
    with pytest.raises(PaiParameterError, match="Invalid model_uri"):
        register(uri="s3://elsewhere/model/")
    assert mutating(pai_emulator) == {}


def test_accept_approves_the_registered_version_and_the_asset_names_it(pai_emulator):
    registered = register()
    context = ctx("accept")
    asset = "oss://pai-demo/models/churn/"
    AcceptModelOperator(task_id="accept", model_uri=GOOD, asset=asset, model_version=registered).execute(context)
    version = AiWorkspaceHook().get_model_version(registered["model_id"], "0.1.0")
    assert version["ApprovalStatus"] == "Approved"
    (event,) = [e for e in context["outlet_events"].values()]
    assert event.extra["model_id"] == registered["model_id"] and event.extra["version_name"] == "0.1.0"
    assert event.extra["summary"] == f"model {registered['model_id']} version 0.1.0 (Approved) at {GOOD}"


def test_accept_refuses_a_version_of_another_model_and_writes_nothing(pai_emulator):
    registered = register(OTHER)
    with pytest.raises(AirflowException, match="registers oss://pai-demo/models/churn/other/, not"):
        AcceptModelOperator(task_id="accept", model_uri=GOOD, asset="oss://pai-demo/models/churn/",
                            model_version=registered).execute(ctx("accept"))
    assert AiWorkspaceHook().get_model_version(registered["model_id"], "0.1.0")["ApprovalStatus"] == "Pending"
    assert "models/churn/good/_accepted.json" not in {o["key"] for o in pai_emulator.state()["oss"]["pai-demo"]}


def test_deploy_latest_approved_and_refuse_what_is_not_approved(pai_emulator):
    good = register(GOOD, ctx("register", "manual__1"))
    bad = register(OTHER, ctx("register", "manual__2"))
    PaiSetModelApprovalOperator(task_id="approve", model_version=good, approval_status="Approved").execute(ctx("a"))
    PaiSetModelApprovalOperator(task_id="reject", model_version=bad).execute(ctx("r"))
    assert AiWorkspaceHook().get_model_version(bad["model_id"], "0.2.0")["ApprovalStatus"] == "Rejected"
    pai_emulator.reset_calls()
    with pytest.raises(PaiParameterError, match="version 0.2.0 is Rejected, not Approved.*allow_unapproved=True"):
        EasModifyServiceOperator(task_id="deploy", service_name="churn_model", model_version=bad,
                                 **WAIT).execute(ctx("deploy"))
    assert mutating(pai_emulator) == {}
    latest = {"model_id": good["model_id"], "version_name": "latest_approved"}
    result = EasModifyServiceOperator(task_id="deploy", service_name="churn_model", model_version=latest,
                                      **WAIT).execute(ctx("deploy"))
    assert result["model_path"] == GOOD
    config = pai_emulator.state()["eas"]["services"]["churn_model"]["versions"][-1]["config"]
    assert config["model_path"] == GOOD and config["processor"] == "pmml"


def test_allow_unapproved_deploys_a_pending_version(pai_emulator):
    pending = register(OTHER)
    result = EasModifyServiceOperator(task_id="deploy", service_name="churn_model", model_version=pending,
                                      allow_unapproved=True, **WAIT).execute(ctx("deploy"))
    assert result["model_path"] == OTHER


def test_latest_approved_with_none_approved_is_refused(pai_emulator):
    pending = register()
    pai_emulator.reset_calls()
    with pytest.raises(PaiParameterError, match="has no Approved version yet"):
        EasCreateServiceOperator(task_id="create", service_config={"name": "churn_new"},
                                 model_version={"model_id": pending["model_id"], "version_name": "latest_approved"},
                                 **WAIT).execute(ctx("create"))
    assert mutating(pai_emulator) == {}


# ---- issue 23 item 2: a model that is not there ---------------------------------------------------


def test_modify_with_an_empty_prefix_is_refused_before_update_service(pai_emulator):
    with pytest.raises(PaiParameterError, match=f"Invalid model_path='{EMPTY}': OSS bucket 'pai-demo' holds no"):
        EasModifyServiceOperator(task_id="deploy", service_name="churn_model", model_path=EMPTY,
                                 **WAIT).execute(ctx("deploy"))
    assert mutating(pai_emulator) == {}


def test_create_with_an_empty_prefix_is_refused_before_create_service(pai_emulator):
    config = {"name": "churn_new", "processor": "pmml", "model_path": EMPTY}
    with pytest.raises(PaiParameterError, match=r"Invalid service_config\['model_path'\]=.*holds no object"):
        EasCreateServiceOperator(task_id="create", service_config=json.dumps(config), **WAIT).execute(ctx("create"))
    assert mutating(pai_emulator) == {}


def test_canary_start_with_an_empty_prefix_is_refused_before_any_service_change(pai_emulator):
    with pytest.raises(PaiParameterError, match=f"Invalid model_path='{EMPTY}'"):
        EasCanaryStartOperator(task_id="start", service_name="churn_model", model_path=EMPTY,
                               **WAIT).execute(ctx("start"))
    assert mutating(pai_emulator) == {}


def test_a_bucket_that_does_not_exist_is_refused_naming_model_path(pai_emulator):
    with pytest.raises(PaiParameterError, match="Invalid model_path='oss://no-such-bucket/m/': OSS bucket 'no-such"):
        EasModifyServiceOperator(task_id="deploy", service_name="churn_model", model_path="oss://no-such-bucket/m/",
                                 **WAIT).execute(ctx("deploy"))
    assert mutating(pai_emulator) == {}


def test_a_check_that_cannot_list_warns_and_deploys(pai_emulator, caplog, capsys):
    pai_emulator.fault(service="oss", action="ListObjectsV2", kind="error", status=403, code="AccessDenied")
    result = EasModifyServiceOperator(task_id="deploy", service_name="churn_model", model_path=GOOD,
                                      **WAIT).execute(ctx("deploy"))
    assert result["model_path"] == GOOD and calls(pai_emulator, "eas")["UpdateService"] == 1
    logged = caplog.text + capsys.readouterr().out  # Airflow 3 task loggers write through structlog (stdout)
    assert "Could not check model_path=" in logged and "AccessDenied" in logged


def test_an_existing_model_file_path_passes_the_check(pai_emulator):
    result = EasModifyServiceOperator(task_id="deploy", service_name="churn_model", model_path=GOOD + "model.pmml",
                                      **WAIT).execute(ctx("deploy"))
    assert result["model_path"] == GOOD + "model.pmml"
    assert calls(pai_emulator, "eas")["UpdateService"] == 1


def test_canary_start_takes_an_approved_version(pai_emulator):
    good = register()
    PaiSetModelApprovalOperator(task_id="approve", model_version=good, approval_status="Approved").execute(ctx("a"))
    result = EasCanaryStartOperator(task_id="start", service_name="churn_model", weight=10,
                                    model_version={"model_id": good["model_id"], "version_name": "0.1.0"},
                                    **WAIT).execute(ctx("start"))
    assert result["model_path"] == GOOD
    canary = pai_emulator.state()["eas"]["services"]["churn_model_canary"]["versions"][-1]["config"]
    assert (canary["model_path"], canary["processor"]) == (GOOD, "pmml")
