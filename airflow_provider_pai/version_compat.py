"""What differs between the Airflow versions we support (2.11 to 3.3), in one place.

Like the official providers' private ``version_compat.py``: flags computed from the installed
Airflow, so modules branch on a constant instead of probing imports.
"""

from __future__ import annotations

from typing import Any


def get_base_airflow_version_tuple() -> tuple[int, int, int]:
    from airflow import __version__
    from packaging.version import Version

    version = Version(__version__)
    return version.major, version.minor, version.micro


AIRFLOW_V_3_0_PLUS: bool = get_base_airflow_version_tuple() >= (3, 0, 0)
AIRFLOW_V_3_1_PLUS: bool = get_base_airflow_version_tuple() >= (3, 1, 0)
AIRFLOW_V_3_2_PLUS: bool = get_base_airflow_version_tuple() >= (3, 2, 0)
AIRFLOW_V_3_3_PLUS: bool = get_base_airflow_version_tuple() >= (3, 3, 0)

# On Airflow 3 the API server runs no provider code: it shows the URL the worker stored in XCom
# under the link's ``xcom_key``. On Airflow 2 the webserver calls ``get_link`` itself.
LINKS_READ_FROM_XCOM: bool = AIRFLOW_V_3_0_PLUS


def get_task_state_store(context: Any) -> Any | None:
    """The task's ``task_state_store`` (Airflow 3.3+, survives retries), else None.

    Airflow 3 clears XCom before a retry, so a remote job id that must survive to the next try
    (to reconnect instead of resubmitting) lives here; below 3.3 there is nowhere to keep it.
    """
    if not AIRFLOW_V_3_3_PLUS or context is None:
        return None
    try:
        return context["task_state_store"]
    except (KeyError, TypeError):
        return None


__all__ = [
    "AIRFLOW_V_3_0_PLUS",
    "AIRFLOW_V_3_1_PLUS",
    "AIRFLOW_V_3_2_PLUS",
    "AIRFLOW_V_3_3_PLUS",
    "LINKS_READ_FROM_XCOM",
    "get_task_state_store",
]
