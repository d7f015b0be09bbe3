"""version_compat: the flags follow the installed Airflow; task_state_store only on 3.3+."""

from __future__ import annotations

from unittest import mock


def test_version_flags_follow_installed_airflow():
    from airflow import __version__
    from packaging.version import Version

    from airflow_provider_pai import version_compat as vc

    installed = Version(__version__).release[:2]
    assert vc.AIRFLOW_V_3_0_PLUS == (installed >= (3, 0))
    assert vc.AIRFLOW_V_3_2_PLUS == (installed >= (3, 2))
    assert vc.AIRFLOW_V_3_3_PLUS == (installed >= (3, 3))


def test_task_state_store_is_read_from_context_on_3_3_only():
    from airflow_provider_pai import version_compat as vc

    store = object()
    with mock.patch.object(vc, "AIRFLOW_V_3_3_PLUS", True):
        assert vc.get_task_state_store({"task_state_store": store}) is store
        assert vc.get_task_state_store({}) is None
        assert vc.get_task_state_store(None) is None
    with mock.patch.object(vc, "AIRFLOW_V_3_3_PLUS", False):
        assert vc.get_task_state_store({"task_state_store": store}) is None
