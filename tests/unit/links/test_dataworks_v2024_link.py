"""The Operation Center link of a run on a new-Data-Studio workspace (DataWorks OpenAPI 2024-05-18)."""

from __future__ import annotations

from airflow_provider_pai.links.dataworks import DataWorksInstanceLink
from airflow_provider_pai.version_compat import LINKS_READ_FROM_XCOM


class _TI:
    def __init__(self):
        self.xcom = {}

    def xcom_push(self, key, value):
        self.xcom[key] = value


def test_a_2024_run_links_to_the_new_console_and_a_2020_run_as_before():
    ti = _TI()
    url = DataWorksInstanceLink.persist({"ti": ti}, region_id="cn-shanghai", project_id=20001, instance_id=5,
                                        project_env="PROD", new_console=True)
    assert url == "https://dataworks.data.aliyun.com/cn-shanghai/ops?defaultProjectId=20001&env=prod&instanceId=5"
    if LINKS_READ_FROM_XCOM:  # Airflow 3: the URL itself is stored
        assert ti.xcom[DataWorksInstanceLink().xcom_key] == url
    else:  # Airflow 2: the fields, formatted again by get_link()
        assert DataWorksInstanceLink.format_link(**ti.xcom["dataworks_instance"]) == url
    old = DataWorksInstanceLink.persist({"ti": _TI()}, region_id="cn-shanghai", project_id=1, instance_id=2)
    assert old.startswith("https://workbench2-cn-shanghai.data.aliyun.com/?defaultProjectId=1")


def test_a_link_persisted_with_the_earlier_api_version_field_still_formats():
    # Airflow 2 stores the fields and formats them again when the page is shown: old XComs hold api_version.
    url = DataWorksInstanceLink.format_link(region_id="cn-shanghai", project_id=1, instance_id=2, env="prod",
                                            api_version="2024-05-18")
    assert url.startswith("https://dataworks.data.aliyun.com/cn-shanghai/ops?defaultProjectId=1")
