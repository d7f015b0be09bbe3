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
    with mock.patch.object(base.XCom, "get_value", side_effect=lambda *, ti_key, key: ti.xcom.get(key)):
        return link.get_link(operator=None, ti_key=mock.sentinel.ti_key)
