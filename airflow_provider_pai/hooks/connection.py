"""The ``alibaba_cloud_pai`` connection type: its form and its Test button (all three services).

Registered in ``get_provider_info`` as the connection type's hook, so the base hook never imports
the service hooks (they import the base hook).
"""

from __future__ import annotations

import re
from typing import Any

from airflow_provider_pai.hooks.base import AlibabaCloudBaseHook


class PaiConnectionHook(AlibabaCloudBaseHook):
    """The connection type's hook: form fields for the Airflow UI and a three-service connection test."""

    conn_type = "alibaba_cloud_pai"
    hook_name = "Alibaba Cloud PAI"

    @classmethod
    def get_connection_form_widgets(cls) -> dict[str, Any]:
        """Extra fields for Airflow < 3.2 (wtforms/flask_appbuilder may be absent on Airflow 3 core)."""
        try:
            from flask_appbuilder.fieldwidgets import BS3PasswordFieldWidget, BS3TextFieldWidget
            from flask_babel import lazy_gettext
            from wtforms import BooleanField, PasswordField, StringField
        except ImportError:
            return {}
        from airflow_provider_pai.get_provider_info import FORM_FIELDS

        widgets: dict[str, Any] = {}
        for name, spec in FORM_FIELDS.items():
            label = lazy_gettext(spec["label"])
            types = spec["schema"]["type"]
            if "boolean" in (types if isinstance(types, list) else [types]):
                widgets[name] = BooleanField(label, description=spec.get("description"))
            elif spec["schema"].get("format") == "password":
                widgets[name] = PasswordField(label, widget=BS3PasswordFieldWidget(), description=spec.get("description"))
            else:
                widgets[name] = StringField(label, widget=BS3TextFieldWidget(), description=spec.get("description"))
        return widgets

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        from airflow_provider_pai.get_provider_info import UI_FIELD_BEHAVIOUR

        return {
            "hidden_fields": list(UI_FIELD_BEHAVIOUR["hidden-fields"]),
            "relabeling": dict(UI_FIELD_BEHAVIOUR["relabeling"]),
            "placeholders": dict(UI_FIELD_BEHAVIOUR["placeholders"]),
        }

    def test_connection(self) -> tuple[bool, str]:
        """The UI's Test button: one cheap read call per service, each reported on its own.

        A failure leads with what to fix, once for the services that share it: the UI shows the
        message in a toast, and the API server tests a copy named with a random id, so "connection
        '<id>'" in a hint is said as "this connection".
        """
        from airflow_provider_pai.hooks.dataworks import DataWorksHook
        from airflow_provider_pai.hooks.eas import EasHook
        from airflow_provider_pai.hooks.oss import OssHook

        results = {}
        for name, hook_class in (("DataWorks", DataWorksHook), ("PAI-EAS", EasHook), ("OSS", OssHook)):
            hook = hook_class(pai_conn_id=self.pai_conn_id, region_id=self._region_id, retry_max_attempts=2)
            results[name] = hook.test_connection()
        if all(ok for ok, _ in results.values()):
            return True, "; ".join(message for _, message in results.values())
        return False, failure_summary(self.pai_conn_id, results)


def failure_summary(conn_id: str, results: dict[str, tuple[bool, str]]) -> str:
    """``DataWorks, PAI-EAS and OSS failed: <code>: <next step>. Details: ...`` for the Test button."""
    failed = {name: message.replace(f"connection '{conn_id}'", "this connection")
              for name, (ok, message) in results.items() if not ok}
    reasons = dict.fromkeys(_reason(message) for message in failed.values())
    names = list(failed)
    who = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    details = "; ".join(f"{name}: {message}" for name, message in failed.items())
    passed = [message for ok, message in results.values() if ok]
    return (f"{who} failed: {' / '.join(reasons)}. Details: {details}"
            + (f". Working: {'; '.join(passed)}" if passed else ""))


_REASON = re.compile(r"failed(?: \(HTTP \d+\))?: (?P<code>[\w.]+):.*?Next: (?P<next>.*)$", re.S)


def _reason(message: str) -> str:
    """``<error code>: <next step>`` from a hook's error message, else its first sentence."""
    match = _REASON.search(message)
    if match:
        return f"{match['code']}: {match['next'].rstrip('.')}"
    return message.split(". ")[0][:300]
