"""The runs TriggerDesignerNodeOperator starts and the inputs of a DataWorks wait: run names,
node parameters, the log cadence, the sensor's target. Pure logic, no I/O and no Airflow imports;
re-exported by ``utils.dataworks``.
"""

from __future__ import annotations

import ast
import hashlib
import re
from typing import Any

from airflow_provider_pai.utils.validation import PaiParameterError, refuse_list

# ---- runs the operator starts ------------------------------------------------------------------

_NAME_MAX = 128
_UNSAFE = r"[^A-Za-z0-9_]+"  # patterns compiled on first use (see utils/validation.py)
_PARAM_KEY = r"^[A-Za-z_][A-Za-z0-9_.]*$"
# Backfill runs are SUPPLY_DATA DAGs (DagType); older answers may leave DagType out.
SUPPLY_DATA = "SUPPLY_DATA"


def is_backfill_dag(instance: dict) -> bool:
    from airflow_provider_pai.utils.status_meanings import enum_name

    dag_type = instance.get("DagType")
    return dag_type is None or enum_name(dag_type) == SUPPLY_DATA


def run_name(dag_id: str, run_id: str, task_id: str, map_index: int | None = None) -> str:
    """The DataWorks run ``Name`` for one Airflow task of one DAG run: the same on every try.

    ``airflow__<dag>__<run>__<task>[__<map index>]__<hash>``: the readable part is sanitised and
    shortened; the hash of the exact ids keeps names distinct when sanitising makes them alike.
    """
    parts = [dag_id, run_id, task_id] + ([str(map_index)] if map_index is not None and map_index >= 0 else [])
    digest = hashlib.sha1("\x1f".join(parts).encode(), usedforsecurity=False).hexdigest()[:10]
    readable = "__".join(re.sub(_UNSAFE, "_", p).strip("_") for p in parts)
    readable = readable[: _NAME_MAX - len("airflow____") - len(digest)]
    return f"airflow__{readable}__{digest}"


# The tightest log cadence accepted: each step costs a GetInstance and a GetInstanceLog call.
MIN_LOG_INTERVAL = 5.0


def validate_log_interval(value: Any, param: str = "log_interval") -> float | None:
    """None (the default cadence) or seconds >= MIN_LOG_INTERVAL; checked at DAG parse time."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < MIN_LOG_INTERVAL:
        raise PaiParameterError(
            f"Invalid {param}={value!r}: give seconds >= {MIN_LOG_INTERVAL:.0f} (each step costs a status and a "
            f"log call while the instance runs), or None for the default cadence of max(60 s, two polls).")
    return float(value)


def rendered_log_interval(value: Any, param: str = "log_interval") -> float | None:
    """``log_interval`` once its template is rendered (``"{{ params.log_interval }}"`` renders text:
    ``"None"`` or ``""`` is the default cadence, ``"15"`` is 15 s), then checked as at parse time."""
    if isinstance(value, str):
        text = value.strip()
        if text in ("", "None", "null"):
            return None
        try:
            value = float(text)
        except ValueError:
            pass  # not a number: validate_log_interval names the parameter and the fix
    return validate_log_interval(value, param)


def validate_node_params(value: Any, param: str = "node_params") -> dict | None:
    """``{name: value}`` for the node's scheduling parameters (DataWorks joins them as ``k=v k2=v2``)."""
    if value is None or value == {}:
        return None
    if not isinstance(value, dict):
        raise PaiParameterError(
            f"Invalid {param}={value!r}: expected a dict of scheduling parameters, e.g. {{'alpha': '0.1'}}."
        )
    for key, val in value.items():
        if not isinstance(key, str) or not re.match(_PARAM_KEY, key):
            raise PaiParameterError(f"Invalid {param} key {key!r}: use a parameter name such as 'alpha'.")
        if not isinstance(val, (str, int, float)) or isinstance(val, bool) or re.search(r"[\s=]", str(val)):
            raise PaiParameterError(
                f"Invalid {param}[{key!r}]={val!r}: DataWorks passes parameters as 'k=v k2=v2', so a "
                "value must be a string or number without spaces or '='."
            )
    return dict(value)


def parse_instance_target(value: Any) -> dict:
    """``instance_id`` as given: an id, or TriggerDesignerNodeOperator's XCom dict (or its str())."""
    refuse_list(value, "instance_id")  # every map index of a mapped trigger, pulled without a map index
    if isinstance(value, str) and value.strip().startswith("{"):
        try:
            value = ast.literal_eval(value.strip())
        except (ValueError, SyntaxError):
            pass
    if isinstance(value, dict):
        if "instance_id" not in value:
            raise ValueError(
                f"Invalid instance_id={value!r}: a dict must be TriggerDesignerNodeOperator's result "
                "with an 'instance_id' key, e.g. \"{{ ti.xcom_pull(task_ids='train') }}\"."
            )
        return dict(value)
    return {"instance_id": value}
