"""Parameter checks: good values pass through, bad ones fail naming the parameter, value and fix."""

from __future__ import annotations

import datetime

import pytest

from airflow_provider_pai.utils.validation import (
    PaiParameterError,
    parse_oss_uri,
    validate_bizdate,
    validate_bucket_name,
    validate_eas_service_name,
    validate_int_id,
    validate_positive,
    validate_project_env,
    validate_run_mode,
)

# (check, bad value, the hint the message must contain)
BAD = [
    (parse_oss_uri, "s3://bucket/key", "oss://"),
    (parse_oss_uri, "/local/path", "oss://"),
    (parse_oss_uri, "OSS://pai-demo/key", "oss://"),
    (parse_oss_uri, "oss://", "no bucket"),
    (parse_oss_uri, "oss:///key", "no bucket"),
    (parse_oss_uri, "oss://Pai-Demo/key", "not a valid OSS bucket name"),
    (parse_oss_uri, "oss://pai_demo/key", "not a valid OSS bucket name"),
    (parse_oss_uri, "oss://ab/key", "not a valid OSS bucket name"),
    (parse_oss_uri, "oss://pai-demo//double", "must not start with '/'"),
    (parse_oss_uri, "oss://pai-demo/" + "k" * 1024, "1023 bytes"),
    (parse_oss_uri, None, "oss://"),
    (validate_bucket_name, "-pai-demo", "3-63 characters"),
    (validate_bucket_name, "pai-demo-", "3-63 characters"),
    (validate_bucket_name, "a" * 64, "3-63 characters"),
    (validate_bucket_name, "pai.demo", "3-63 characters"),
    (validate_bucket_name, "pai-demo\n", "3-63 characters"),
    (validate_eas_service_name, "churn-model", "lowercase"),
    (validate_eas_service_name, "1churn", "lowercase"),
    (validate_eas_service_name, "_churn", "lowercase"),
    (validate_eas_service_name, "Churn_Model", "lowercase"),
    (validate_eas_service_name, "churn model", "lowercase"),
    (validate_eas_service_name, "c" * 65, "at most 64"),
    (validate_eas_service_name, "", "lowercase"),
    (validate_eas_service_name, "churn_model\n", "lowercase"),
    (validate_eas_service_name, None, "lowercase"),
    (validate_bizdate, "2026-02-30", "real calendar date"),
    (validate_bizdate, "20261301", "real calendar date"),
    (validate_bizdate, "2026/01/31", "YYYY-MM-DD"),
    (validate_bizdate, "31-01-2026", "YYYY-MM-DD"),
    (validate_bizdate, "2026-1-31", "YYYY-MM-DD"),
    (validate_bizdate, "2026-01-31 00:00:00", "YYYY-MM-DD"),
    (validate_bizdate, "{{ ds }}", "YYYY-MM-DD"),  # a template that was never rendered
    (validate_bizdate, 20260131, "YYYY-MM-DD"),
    (validate_bizdate, "", "YYYY-MM-DD"),
    (validate_project_env, "prod", "'PROD'"),
    (validate_project_env, "PRODUCTION", "'PROD'"),
    (validate_project_env, None, "'PROD'"),
    (validate_run_mode, "Backfill", "'backfill'"),
    (validate_run_mode, "smoke_test", "'manual'"),
    (validate_int_id, 0, "positive integer"),
    (validate_int_id, -5, "positive integer"),
    (validate_int_id, "12a", "positive integer"),
    (validate_int_id, "-12", "positive integer"),
    (validate_int_id, 12.0, "positive integer"),
    (validate_int_id, True, "positive integer"),
    (validate_int_id, "", "positive integer"),
    (validate_int_id, None, "positive integer"),
    (validate_positive, 0, "greater than 0"),
    (validate_positive, -1.5, "greater than 0"),
    (validate_positive, "60", "greater than 0"),
    (validate_positive, True, "greater than 0"),
    (validate_positive, float("nan"), "greater than 0"),
    (validate_positive, float("inf"), "greater than 0"),
    (validate_positive, None, "greater than 0"),
]


@pytest.mark.parametrize(("check", "value", "hint"), BAD, ids=[f"{c.__name__}-{v!r}"[:60] for c, v, _ in BAD])
def test_bad_input_names_parameter_value_and_fix(check, value, hint):
    with pytest.raises(PaiParameterError) as err:
        check(value, "my_param")
    message = str(err.value)
    assert "my_param" in message
    assert repr(value)[:40] in message
    assert hint in message
    assert isinstance(err.value, ValueError)


def test_there_are_at_least_25_bad_inputs():
    assert len(BAD) >= 25


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("oss://pai-demo/models/churn/model.json", ("pai-demo", "models/churn/model.json")),
        ("oss://pai-demo/models/churn/", ("pai-demo", "models/churn/")),
        ("oss://pai-demo/", ("pai-demo", "")),
        ("oss://pai-demo", ("pai-demo", "")),
        ("oss://123/模型/a b.json", ("123", "模型/a b.json")),
    ],
)
def test_parse_oss_uri(uri, expected):
    assert parse_oss_uri(uri) == expected


def test_parse_oss_uri_names_source_by_default():
    with pytest.raises(PaiParameterError, match="Invalid source="):
        parse_oss_uri("s3://x/y")


@pytest.mark.parametrize("name", ["churn_model", "a", "m1_v2", "a" * 64])
def test_good_eas_service_names(name):
    assert validate_eas_service_name(name) == name


def test_eas_default_param_name():
    with pytest.raises(PaiParameterError, match="Invalid service_name="):
        validate_eas_service_name("bad-name")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-01-31", "2026-01-31"),
        ("20260131", "2026-01-31"),
        ("2024-02-29", "2024-02-29"),
        (datetime.date(2026, 1, 31), "2026-01-31"),
        (datetime.datetime(2026, 1, 31, 8, 0), "2026-01-31"),
    ],
)
def test_good_bizdates_are_normalised(value, expected):
    assert validate_bizdate(value) == expected


def test_good_ids_and_numbers():
    assert validate_int_id("700001", "node_id") == 700001
    assert validate_int_id(700001, "node_id") == 700001
    assert validate_positive(0.5, "poll_interval") == 0.5
    assert validate_positive(3600, "timeout") == 3600
    assert validate_project_env("DEV") == "DEV"
    assert validate_run_mode("manual") == "manual"
    assert validate_bucket_name("pai-demo-2") == "pai-demo-2"
