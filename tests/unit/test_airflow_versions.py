"""What the README promises per Airflow version (2.11 to 3.3), checked against the installed Airflow."""

from __future__ import annotations

from airflow_provider_pai.get_provider_info import FORM_FIELDS
from airflow_provider_pai.version_compat import AIRFLOW_V_3_3_PLUS


def test_airflow_builds_the_full_connection_form():
    """3.2+ reads the declarative conn-fields; older Airflow the hook's legacy methods: same fields either way."""
    from airflow.providers_manager import ProvidersManager

    manager = ProvidersManager()
    widgets = manager.connection_form_widgets
    for field in FORM_FIELDS:
        assert f"extra__alibaba_cloud_pai__{field}" in widgets, field
    assert widgets["extra__alibaba_cloud_pai__security_token"].is_sensitive
    assert not widgets["extra__alibaba_cloud_pai__auth_type"].is_sensitive
    behaviour = manager.field_behaviours["alibaba_cloud_pai"]
    # The region is the Schema field beside the keys; Port is shown for Airflow 3.3.2's Test button.
    assert behaviour["relabeling"] == {"login": "AccessKey ID", "password": "AccessKey Secret", "schema": "Region ID",
                                       "port": "Port (any, for the Test button)"}


def test_triggerer_calls_on_kill_from_3_3_only():
    """Below 3.3 BaseTrigger has no on_kill, so a killed deferred task leaves the remote run going."""
    from airflow.triggers.base import BaseTrigger

    from airflow_provider_pai.triggers.dataworks import DataWorksInstanceTrigger

    assert hasattr(BaseTrigger, "on_kill") is AIRFLOW_V_3_3_PLUS
    assert callable(DataWorksInstanceTrigger.on_kill)  # ours is there for 3.3, harmless below
