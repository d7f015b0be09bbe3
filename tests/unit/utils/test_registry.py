"""The model registry's pure rules (utils/registry.py): URIs both ways, names, metrics size, references."""

from __future__ import annotations

import json

import pytest

from airflow_provider_pai.hooks.endpoints import default_endpoint
from airflow_provider_pai.utils.registry import (
    from_registry_uri,
    parse_metrics,
    parse_model_version,
    run_label,
    to_registry_uri,
    validate_model_name,
    validate_version_name,
)
from airflow_provider_pai.utils.validation import PaiParameterError


def test_oss_uri_goes_to_the_documented_form_and_back():
    uri = to_registry_uri("oss://pai-demo/models/churn/20261120/", "oss-cn-shanghai.aliyuncs.com")
    assert uri == "oss://pai-demo.oss-cn-shanghai.aliyuncs.com/models/churn/20261120/"
    assert from_registry_uri(uri) == "oss://pai-demo/models/churn/20261120/"
    assert to_registry_uri("https://example.com/m.tar.gz", "unused") == "https://example.com/m.tar.gz"
    assert from_registry_uri("https://example.com/m.tar.gz") == "https://example.com/m.tar.gz"


@pytest.mark.parametrize("bad", ["", None, "s3://b/k", "nas://x/"])
def test_a_version_uri_that_eas_cannot_take_is_refused(bad):
    with pytest.raises(PaiParameterError, match="Uri"):
        from_registry_uri(bad)


def test_metrics_up_to_8192_bytes_pass_and_larger_are_refused_naming_metrics():
    small = {"auc": 0.91, "note": "x" * 8000}
    assert parse_metrics(small) == small
    assert parse_metrics(json.dumps(small)) == small
    assert parse_metrics("{'auc': 0.9}") == {"auc": 0.9}  # a rendered template (Python repr)
    with pytest.raises(PaiParameterError, match=r"Invalid metrics: 8\d{3} bytes once serialized, above the 8192"):
        parse_metrics({"note": "x" * 8190})
    with pytest.raises(PaiParameterError, match="Invalid metrics"):
        parse_metrics([1, 2])


@pytest.mark.parametrize("name", ["", "x" * 128, " churn", 5])
def test_model_names_outside_the_documented_rule_are_refused(name):
    with pytest.raises(PaiParameterError, match="model_name"):
        validate_model_name(name)
    assert validate_model_name("x" * 127) == "x" * 127


@pytest.mark.parametrize(("name", "ok"), [("0.1.0", True), ("2.3.4_beta", True), ("1.1", False), ("v1.0.0", False),
                                          ("1.a.0", False)])
def test_version_names(name, ok):
    if ok:
        assert validate_version_name(name) == name
    else:
        with pytest.raises(PaiParameterError, match="version_name"):
            validate_version_name(name)


@pytest.mark.parametrize("value", [
    {"model_id": "model-1", "version_name": "0.2.0", "uri": "ignored"},
    "{'model_id': 'model-1', 'version_name': '0.2.0'}",
    '{"model_id": "model-1", "version_name": "0.2.0"}',
    "model-1:0.2.0",
])
def test_a_model_version_reference_in_each_accepted_form(value):
    assert parse_model_version(value) == {"model_id": "model-1", "version_name": "0.2.0"}


def test_latest_approved_is_the_default_and_bad_references_are_refused():
    assert parse_model_version({"model_id": "m"})["version_name"] == "latest_approved"
    for bad in (None, {}, {"version_name": "0.1.0"}, "nonsense", {"model_id": "m", "version_name": "v2"}):
        with pytest.raises(PaiParameterError, match="model_version"):
            parse_model_version(bad)


def test_run_label_is_one_per_task_instance():
    assert run_label("d", "r", "t") == "d/r/t" == run_label("d", "r", "t", -1)
    assert run_label("d", "r", "t", 3) == "d/r/t/3"


def test_aiworkspace_endpoints_follow_the_sdk_rule():
    assert default_endpoint("aiworkspace", "cn-shanghai") == ("aiworkspace.cn-shanghai.aliyuncs.com", None)
    assert default_endpoint("aiworkspace", "cn-qingdao") == ("aiworkspace.aliyuncs.com", None)  # a listed exception
    assert default_endpoint("aiworkspace", "cn-guangzhou")[0] == "aiworkspace.cn-guangzhou.aliyuncs.com"  # tab gone
    assert default_endpoint("aiworkspace", "cn-shanghai", "vpc")[0] == "aiworkspace-vpc.cn-shanghai.aliyuncs.com"


def test_registration_lineage_names_the_model_files_and_the_registry_model():
    from airflow_provider_pai.utils.registry import registry_lineage

    lineage = registry_lineage("oss://pai-demo/models/churn/20261120/", "cn-shanghai", "86001", "churn", "0.2.0")
    (source,), (target,) = lineage.inputs, lineage.outputs
    assert (source.namespace, source.name) == ("oss://pai-demo", "models/churn/20261120")
    assert (target.namespace, target.name) == ("aiworkspace://aiworkspace.cn-shanghai.aliyuncs.com", "86001/churn")
    facet = lineage.run_facets["externalQuery"]
    assert (facet.source, facet.externalQueryId) == ("pai-aiworkspace", "86001/churn@0.2.0")
