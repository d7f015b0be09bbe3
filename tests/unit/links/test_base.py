"""PaiBaseLink: persist() stores the fields (Airflow 2) or the URL (Airflow 3) at once; get_link() reads it."""

from __future__ import annotations

from unittest import mock

import pytest

from airflow_provider_pai.links import base
from airflow_provider_pai.links.dataworks import DataWorksInstanceLink
from airflow_provider_pai.links.eas import EasServiceLink
from airflow_provider_pai.version_compat import LINKS_READ_FROM_XCOM
from tests.unit.links.conftest import read_back


@pytest.mark.skipif(not LINKS_READ_FROM_XCOM, reason="Airflow 2 webservers call get_link themselves")
def test_url_is_stored_under_the_key_the_airflow3_api_server_reads(ti):
    EasServiceLink.persist({"ti": ti}, region_id="cn-shanghai", service_name="churn_model")
    assert EasServiceLink().xcom_key == "_link_EasServiceLink"
    assert ti.xcom["_link_EasServiceLink"] == read_back(ti, EasServiceLink())


@pytest.mark.parametrize("link", [DataWorksInstanceLink(), EasServiceLink()])
def test_missing_xcom_gives_empty_string(ti, link):
    assert read_back(ti, link) == ""


def test_unreadable_xcom_gives_empty_string():
    with mock.patch.object(base.XCom, "get_value", side_effect=RuntimeError("db down")):
        assert EasServiceLink().get_link(operator=None, ti_key=mock.sentinel.ti_key) == ""


def test_incomplete_fields_give_empty_string(ti):
    base.PaiBaseLink.persist.__func__(EasServiceLink, {"ti": ti}, region_id="cn-shanghai")  # no service_name
    assert read_back(ti, EasServiceLink()) == ""


@pytest.mark.skipif(not LINKS_READ_FROM_XCOM, reason="Airflow 2 webservers format the stored fields")
def test_airflow3_stores_only_the_url(ti):
    """No internal XCom entry beside return_value: only Airflow's own link key."""
    EasServiceLink.persist({"ti": ti}, region_id="cn-shanghai", service_name="churn_model")
    assert list(ti.xcom) == ["_link_EasServiceLink"]


def test_values_are_url_quoted(ti):
    DataWorksInstanceLink.persist({"ti": ti}, region_id="cn-shanghai", project_id="1&x=2", instance_id="a/b#c")
    url = read_back(ti, DataWorksInstanceLink())
    assert "defaultProjectId=1%26x%3D2" in url
    assert "instanceId=a%2Fb%23c" in url


@pytest.mark.parametrize("field", ["access_key_secret", "security_token", "password", "AccessKeySecret"])
def test_persist_refuses_secret_looking_fields(ti, field):
    with pytest.raises(ValueError, match=field):
        EasServiceLink.persist({"ti": ti}, region_id="cn-shanghai", service_name="m", **{field: "x"})
    assert ti.xcom == {}


def test_names_and_keys_are_the_public_contract():
    assert (DataWorksInstanceLink.name, DataWorksInstanceLink.key) == ("DataWorks Operation Center", "dataworks_instance")
    assert (EasServiceLink.name, EasServiceLink.key) == ("EAS service", "eas_service")


LINK_DAG = '''
from airflow.providers.common.compat.sdk import DAG, BaseOperator
from airflow_provider_pai.links.eas import EasServiceLink


class SubmitThenFail(BaseOperator):
    operator_extra_links = (EasServiceLink(),)

    def execute(self, context):
        EasServiceLink.persist(context, region_id="cn-shanghai", service_name="churn_model", workspace_id="77")
        raise RuntimeError("remote job failed after submit")


with DAG("pai_link_persist", schedule=None, catchup=False):
    SubmitThenFail(task_id="deploy", retries=0)
'''


@pytest.mark.slow
def test_link_survives_a_failed_task_in_real_airflow(airflow_env):
    """The worker stores what the Airflow 3 API server shows; a failure after persist() keeps it."""
    (airflow_env.dags_folder / "pai_link_persist.py").write_text(LINK_DAG)
    result = airflow_env.dags_test("pai_link_persist")
    assert airflow_env.task_states("pai_link_persist") == {"deploy": "failed"}, result.stdout + result.stderr
    expected = "https://pai.console.aliyun.com/?regionId=cn-shanghai&workspaceId=77#/eas/serviceDetail/churn_model/detail"
    if LINKS_READ_FROM_XCOM:
        assert airflow_env.xcom("pai_link_persist", "deploy", key="_link_EasServiceLink") == expected
        assert airflow_env.xcom("pai_link_persist", "deploy", key="eas_service") is None  # URL only
    else:  # Airflow 2: the webserver calls get_link, which formats these fields; no URL is stored
        assert airflow_env.xcom("pai_link_persist", "deploy", key="_link_EasServiceLink") is None
        assert EasServiceLink.format_link(**airflow_env.xcom("pai_link_persist", "deploy", key="eas_service")) == expected


@pytest.mark.skipif(not LINKS_READ_FROM_XCOM, reason="Airflow 2 workers never ask links; webservers read no API")
def test_a_link_never_persisted_is_empty_without_a_failed_xcom_read(monkeypatch):
    """Airflow 3 asks every link when a task ends; a missing key must not be read with get_value (whose
    404 the API client logs as "XCom not found" ERROR in the task log)."""
    from types import SimpleNamespace
    from unittest import mock

    from airflow_provider_pai.links import base
    from airflow_provider_pai.links.eas import EasServiceLink

    get_value = mock.Mock(side_effect=AssertionError("get_value of a missing key"))
    get_all = mock.Mock(return_value=None)
    ti_key = SimpleNamespace(dag_id="d", task_id="t", run_id="r", map_index=-1, try_number=1)
    with mock.patch.object(base.XCom, "get_value", get_value), \
            mock.patch.object(base.XCom, "get_all", get_all, create=True):
        assert EasServiceLink().get_link(operator=None, ti_key=ti_key) == ""
    get_all.assert_called_once()
    assert get_all.call_args.kwargs["key"] == EasServiceLink().xcom_key and not get_value.called
