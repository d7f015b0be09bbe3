"""The connection type's hook: legacy form methods (Airflow < 3.2) and the registration."""

from __future__ import annotations

from airflow_provider_pai.hooks.connection import PaiConnectionHook


def test_legacy_form_methods(monkeypatch):
    behaviour = PaiConnectionHook.get_ui_field_behaviour()
    assert behaviour["hidden_fields"] == ["host"]
    assert behaviour["relabeling"]["schema"] == "Region ID" and behaviour["placeholders"]["port"].startswith("443")
    widgets = PaiConnectionHook.get_connection_form_widgets()
    try:
        import wtforms  # noqa: F401
    except ImportError:
        assert widgets == {}  # Airflow 3 core without the FAB UI: no widgets, no crash
    else:
        assert "security_token" in widgets and "region_id" not in widgets  # the region is the relabelled Schema


def test_the_scheme_underscore_warning_is_logged_at_most_once(monkeypatch, caplog):
    """Airflow 2 warns "Connection schemes (type: alibaba_cloud_pai) shall not contain '_'" on every
    connection read; the provider lets it through once per process (Airflow 3's task path has none)."""
    import logging

    import airflow

    from airflow_provider_pai.hooks import base
    from tests.unit.hooks.sdk_errors import set_conn

    monkeypatch.setattr(base._SchemeWarningOnce, "seen", False)
    conn_id = set_conn(monkeypatch)
    with caplog.at_level(logging.WARNING):
        for _ in range(4):
            base.AlibabaCloudBaseHook(pai_conn_id=conn_id).extras
    count = sum("shall not contain" in r.getMessage() for r in caplog.records)
    if airflow.__version__.startswith("2."):
        assert count == 1
    else:
        assert count <= 1
