"""The connection type's hook: legacy form methods (Airflow < 3.2) and the registration."""

from __future__ import annotations

from airflow_provider_pai.hooks.connection import PaiConnectionHook


def test_legacy_form_methods(monkeypatch):
    behaviour = PaiConnectionHook.get_ui_field_behaviour()
    assert set(behaviour["hidden_fields"]) == {"host", "schema", "port"}
    assert behaviour["relabeling"] == {"login": "AccessKey ID", "password": "AccessKey Secret"}
    widgets = PaiConnectionHook.get_connection_form_widgets()
    try:
        import wtforms  # noqa: F401
    except ImportError:
        assert widgets == {}  # Airflow 3 core without the FAB UI: no widgets, no crash
    else:
        assert "region_id" in widgets and "security_token" in widgets
