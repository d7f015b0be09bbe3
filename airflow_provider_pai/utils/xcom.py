"""The one way an operator reads what another task recorded in XCom, mapping-aware.

A plain ``ti.xcom_pull(task_ids=...)`` returns every map index's value when the other task is
mapped, so an operator expecting one record would get a list. ``upstream_records`` pulls what
belongs to the calling task instance: the same map index when both are mapped (in one mapped task
group, or expanded side by side), the one value of an unmapped task, or every map index's value
when only the other task is mapped. What it cannot establish it reports with ``UpstreamError``,
naming the task and what was found.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

from airflow.providers.common.compat.sdk import AirflowException


def _airflow_3() -> bool:
    from airflow_provider_pai.version_compat import AIRFLOW_V_3_0_PLUS  # utils import nothing above them

    return AIRFLOW_V_3_0_PLUS


RETURN_KEY = "return_value"
# States of a task instance that establish it never ran its execute (so recorded nothing).
NEVER_RAN = ("skipped", "upstream_failed", "removed")


class UpstreamError(AirflowException):
    """What another task recorded is missing, ambiguous or of the wrong shape."""


class Upstream(NamedTuple):
    """What ``task_id`` recorded for the calling task instance."""

    task_id: str
    mapped: bool  # the other task is mapped
    per_index: bool  # ``values`` holds one entry per map index of the other task (we are unmapped)
    values: list[Any]  # one value, or every map index's value (``per_index``)
    map_index: int  # the map index pulled (-1: unmapped, or all of them when ``per_index``)


def _task(context: Any, task_id: str) -> Any:
    task = context.get("task")
    dag = getattr(task, "dag", None) or context.get("dag")
    try:
        return dag.get_task(task_id)
    except Exception:  # unknown task id (TaskNotFound differs between Airflow versions)
        known = sorted(getattr(dag, "task_ids", []) or [])
        raise UpstreamError(
            f"Task {task_id!r} is not in DAG {getattr(dag, 'dag_id', '?')!r}; tasks there: {known[:20]}. "
            "Give the task_id of the task whose result this task reads (with its task group prefix, e.g. "
            "'release.deploy')."
        ) from None


def is_mapped(task: Any) -> bool:
    """The task is expanded (``.expand``/``.expand_kwargs``) or sits in a mapped task group."""
    if type(task).__name__ == "MappedOperator" or getattr(task, "is_mapped", False) is True:
        return True
    closest = getattr(task, "get_closest_mapped_task_group", None)
    return bool(closest and closest() is not None)


def upstream_records(context: Any, task_id: str, key: str = RETURN_KEY) -> Upstream:
    """Pull ``key`` of ``task_id`` for the calling task instance (see the module docstring)."""
    ti = context["ti"]
    other = _task(context, task_id)
    mapped = is_mapped(other)
    own_index = getattr(ti, "map_index", -1)
    own_index = -1 if own_index is None else own_index
    if not mapped:
        return Upstream(task_id, False, False, [ti.xcom_pull(task_ids=task_id, key=key, map_indexes=-1)], -1)
    if own_index >= 0:
        value = ti.xcom_pull(task_ids=task_id, key=key, map_indexes=own_index)
        return Upstream(task_id, True, False, [value], own_index)
    # Every map index of the other task: Airflow 3 when map_indexes is left out, Airflow 2 when None.
    pulled = ti.xcom_pull(task_ids=task_id, key=key) if _airflow_3() else ti.xcom_pull(
        task_ids=task_id, key=key, map_indexes=None
    )
    if pulled is None:
        values: list[Any] = []
    elif isinstance(pulled, Sequence) and not isinstance(pulled, (str, bytes)):
        values = list(pulled)
    else:  # Airflow 3 returns the value itself when only one map index recorded one
        values = [pulled]
    return Upstream(task_id, True, True, [v for v in values if v is not None], -1)


def upstream_state(context: Any, task_id: str, map_index: int = -1) -> str | None:
    """The state of ``task_id``'s task instance in this DAG run (None when Airflow cannot say)."""
    ti = context["ti"]
    try:
        if _airflow_3():
            states = ti.get_task_states(dag_id=ti.dag_id, task_ids=[task_id], run_ids=[ti.run_id],
                                        map_index=map_index if map_index >= 0 else None)
            found = (states or {}).get(ti.run_id) or {}
            value = found.get(task_id, found.get(f"{task_id}_{map_index}"))
        else:
            other = context["dag_run"].get_task_instance(task_id, map_index=map_index)
            value = other.state if other is not None else None
    except Exception:  # the state only sharpens an error message; never fail on it
        return None
    return None if value is None else str(getattr(value, "value", value))


def describe(value: Any, limit: int = 200) -> str:
    """A short repr of a value found in XCom, for error messages."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."
