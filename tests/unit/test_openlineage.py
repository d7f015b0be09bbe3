"""OpenLineage naming and the lazy import: no OpenLineage module is loaded by importing the operators."""

from __future__ import annotations

import pytest

from airflow_provider_pai.utils.openlineage import eas_dataset_name, oss_dataset_name
from tests.fresh_python import last_line


@pytest.mark.parametrize("uri, expected", [
    ("oss://pai-demo/models/churn/20261120/", ("oss://pai-demo", "models/churn/20261120")),
    ("oss://pai-demo/models/churn/model.pmml", ("oss://pai-demo", "models/churn/model.pmml")),
    ("oss://pai-demo/", ("oss://pai-demo", "/")),
])
def test_oss_datasets_are_named_like_s3_and_gcs(uri, expected):
    assert oss_dataset_name(uri) == expected


def test_an_eas_service_is_named_after_its_region_api_host():
    assert eas_dataset_name("cn-shanghai", "churn_model") == ("eas://pai-eas.cn-shanghai.aliyuncs.com", "churn_model")


def test_not_an_oss_uri_is_refused():
    with pytest.raises(ValueError, match="not an oss:// URI"):
        oss_dataset_name("s3://bucket/key")


def test_importing_the_operators_loads_no_openlineage_module():
    code = (
        "import sys\n"
        "from airflow.providers.common.compat.sdk import BaseOperator  # Airflow itself, as any DAG file\n"
        "before = {m for m in sys.modules if 'openlineage' in m}\n"
        "import airflow_provider_pai.operators.dataworks, airflow_provider_pai.operators.oss\n"
        "import airflow_provider_pai.operators.eas, airflow_provider_pai.operators.eas_canary\n"
        "import airflow_provider_pai.operators.accept\n"
        "print(sorted({m for m in sys.modules if 'openlineage' in m} - before))\n"
    )
    assert last_line(code) == "[]"
