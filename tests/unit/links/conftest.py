"""What the link tests share: a task instance whose XCom is a dict, and get_link() reading it."""

from __future__ import annotations

from unittest import mock

import pytest

from airflow_provider_pai.links import base


class FakeTI:
    """Stands in for the task instance: XCom pushes land in a dict."""

    def __init__(self) -> None:
        self.xcom: dict[str, object] = {}

    def xcom_push(self, key, value):
        self.xcom[key] = value


@pytest.fixture
def ti():
    return FakeTI()


def read_back(ti: FakeTI, link):
    """get_link() as the worker/webserver calls it, with XCom reading what persist() pushed."""
    from types import SimpleNamespace

    def get_all(*, key, dag_id, task_id, run_id):  # Airflow 3: every map index's value, None if none
        return [ti.xcom[key]] if key in ti.xcom else None

    ti_key = SimpleNamespace(dag_id="d", task_id="t", run_id="r", map_index=-1, try_number=1)
    with mock.patch.object(base.XCom, "get_value", side_effect=lambda *, ti_key, key: ti.xcom.get(key)), \
            mock.patch.object(base.XCom, "get_all", side_effect=get_all, create=True):
        return link.get_link(operator=None, ti_key=ti_key)
