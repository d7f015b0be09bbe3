"""EasServiceLink: the PAI console's service page from the fields persisted for a service."""

from __future__ import annotations

from airflow_provider_pai.links.eas import EasServiceLink
from tests.unit.links.conftest import read_back


def test_eas_link_persist_then_get_link(ti):
    url = EasServiceLink.persist({"ti": ti}, region_id="cn-shanghai", service_name="churn_model", workspace_id="1234")
    expected = (
        "https://pai.console.aliyun.com/?regionId=cn-shanghai&workspaceId=1234"
        "#/eas/serviceDetail/churn_model/detail"
    )
    assert url == expected
    assert read_back(ti, EasServiceLink()) == expected


def test_eas_link_without_workspace_leaves_the_parameter_out(ti):
    EasServiceLink.persist({"ti": ti}, region_id="cn-shanghai", service_name="churn_model")
    assert read_back(ti, EasServiceLink()) == (
        "https://pai.console.aliyun.com/?regionId=cn-shanghai#/eas/serviceDetail/churn_model/detail"
    )
