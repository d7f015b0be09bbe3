"""PaiBaseOperator / PaiBaseSensorOperator: connection, region, deferrable and the one hook property."""

from __future__ import annotations

import os
from unittest import mock

import pytest

from airflow_provider_pai.operators.base import PaiBaseOperator, pai_template_fields
from airflow_provider_pai.operators.dataworks import TriggerDesignerNodeOperator
from airflow_provider_pai.operators.eas import EasCreateServiceOperator, EasModifyServiceOperator, EasRollbackOperator
from airflow_provider_pai.operators.oss import ExportModelToOSSOperator
from airflow_provider_pai.sensors.base import PaiBaseSensorOperator
from airflow_provider_pai.sensors.dataworks import WaitForInstanceSensor
from airflow_provider_pai.sensors.eas import EasServiceSensor
from airflow_provider_pai.utils.validation import PaiParameterError

REQUIRED = {
    TriggerDesignerNodeOperator: {"project_id": 1, "node_id": 2},
    ExportModelToOSSOperator: {"source": "oss://bkt/a/", "destination": "oss://bkt/c/"},
    EasCreateServiceOperator: {"service_config": {"name": "svc"}},
    EasModifyServiceOperator: {"service_name": "svc", "model_path": "oss://bkt/m/"},
    EasRollbackOperator: {"service_name": "svc", "version": 1},
    WaitForInstanceSensor: {"instance_id": 3},
    EasServiceSensor: {"service_name": "svc"},
}


def make(cls, **kwargs):
    return cls(task_id=f"t_{cls.__name__}", **{**REQUIRED[cls], **kwargs})


def test_template_fields_helper_adds_connection_and_region_once():
    assert pai_template_fields("a", "b") == ("a", "b", "pai_conn_id", "region_id")
    assert pai_template_fields("region_id", "a") == ("region_id", "a", "pai_conn_id")


@pytest.mark.parametrize("cls", list(REQUIRED), ids=lambda c: c.__name__)
def test_every_task_has_one_base_and_the_hook_default_connection(cls):
    assert issubclass(cls, (PaiBaseOperator, PaiBaseSensorOperator))
    assert {"pai_conn_id", "region_id"} <= set(cls.template_fields)
    task = make(cls)
    assert task.pai_conn_id == cls.hook_class().default_conn_name
    assert task.region_id is None


@pytest.mark.parametrize("cls", list(REQUIRED), ids=lambda c: c.__name__)
def test_hook_gets_connection_and_region_and_is_built_once(cls):
    task = make(cls, pai_conn_id="other", region_id="cn-beijing")
    hook = task.hook
    assert isinstance(hook, cls.hook_class()) and hook is task.hook
    assert hook.pai_conn_id == "other" and hook.region_id == "cn-beijing"  # an explicit region needs no connection


@pytest.mark.parametrize("cls", [c for c in REQUIRED if c is not ExportModelToOSSOperator], ids=lambda c: c.__name__)
def test_deferrable_defaults_to_the_airflow_setting(cls):
    with mock.patch.dict(os.environ, {"AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE": "true"}):
        assert make(cls).deferrable is True
    with mock.patch.dict(os.environ, {"AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE": "false"}):
        assert make(cls).deferrable is False
        assert make(cls, deferrable=True).deferrable is True


def test_an_operator_without_a_wait_refuses_deferrable_but_ignores_the_global_default():
    with pytest.raises(PaiParameterError, match="deferrable=True.*no deferrable mode"):
        make(ExportModelToOSSOperator, deferrable=True)
    with mock.patch.dict(os.environ, {"AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE": "true"}):
        assert make(ExportModelToOSSOperator).deferrable is False


def test_the_dataworks_wait_passes_the_region_to_the_trigger():
    from airflow_provider_pai.utils.dataworks import InstanceWatch

    op = make(TriggerDesignerNodeOperator, region_id="cn-beijing", pai_conn_id="c")
    deferred = {}
    op.defer = lambda **kw: deferred.update(kw)
    op._defer_wait({}, InstanceWatch(5), timeout=60)
    _, kwargs = deferred["trigger"].serialize()
    assert kwargs["region_id"] == "cn-beijing" and kwargs["pai_conn_id"] == "c" and kwargs["end_time"]


@pytest.mark.parametrize(
    ("cls", "kwargs", "param"),
    [
        (TriggerDesignerNodeOperator, {"run_mode": "sometimes"}, "run_mode"),
        (TriggerDesignerNodeOperator, {"poll_interval": 0}, "poll_interval"),
        (TriggerDesignerNodeOperator, {"timeout": -1}, "timeout"),
        (EasModifyServiceOperator, {"poll_interval": -5}, "poll_interval"),
        (EasModifyServiceOperator, {"update_type": "patch"}, "update_type"),
        (ExportModelToOSSOperator, {"max_workers": 0}, "max_workers"),
        (WaitForInstanceSensor, {"poke_interval": 0}, "poke_interval"),
    ],
)
def test_values_that_are_not_templated_are_checked_when_the_dag_is_parsed(cls, kwargs, param):
    with pytest.raises(PaiParameterError, match=param):
        make(cls, **kwargs)
