"""DataWorksInstanceLink: the Operation Center URL from the fields persisted for an instance."""

from __future__ import annotations

from airflow_provider_pai.links.dataworks import DataWorksInstanceLink
from airflow_provider_pai.version_compat import LINKS_READ_FROM_XCOM
from tests.unit.links.conftest import read_back


DW_URL = "https://workbench2-cn-shanghai.data.aliyun.com/?defaultProjectId=10001&env=prod&instanceId=42"


def test_dataworks_link_persist_then_get_link(ti):
    url = DataWorksInstanceLink.persist(
        {"ti": ti}, region_id="cn-shanghai", project_id=10001, instance_id=42, project_env="PROD"
    )
    assert url == DW_URL
    if not LINKS_READ_FROM_XCOM:  # Airflow 2: the fields, for the webserver's get_link()
        assert ti.xcom["dataworks_instance"] == {
            "region_id": "cn-shanghai", "project_id": 10001, "instance_id": 42, "env": "prod"
        }
    assert read_back(ti, DataWorksInstanceLink()) == DW_URL


def test_dataworks_dev_environment(ti):
    DataWorksInstanceLink.persist({"ti": ti}, region_id="cn-beijing", project_id=7, instance_id=8, project_env="DEV")
    assert "env=dev" in read_back(ti, DataWorksInstanceLink())
