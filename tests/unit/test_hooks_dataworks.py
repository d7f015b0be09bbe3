"""DataWorksHook parameter shaping (no network): bizdates and node parameters as DataWorks wants them."""

from __future__ import annotations

import datetime
import json

import pytest

from airflow_provider_pai.hooks.dataworks import bizdate_to_wire, node_params_to_wire


@pytest.mark.parametrize("value", ["20261122", "2026-11-22", "2026-11-22 00:00:00", datetime.date(2026, 11, 22)])
def test_bizdate_forms(value):
    assert bizdate_to_wire(value) == "2026-11-22 00:00:00"


def test_bad_bizdate_names_the_parameter():
    with pytest.raises(ValueError, match="bizdate"):
        bizdate_to_wire("22/11/2026")


def test_node_params_forms():
    assert node_params_to_wire(None) is None
    assert node_params_to_wire('{"1": "a=b"}') == '{"1": "a=b"}'
    assert json.loads(node_params_to_wire({"lr": 0.1, "epochs": 3}, 700001)) == {"700001": "lr=0.1 epochs=3"}
    assert json.loads(node_params_to_wire({"700001": {"lr": 0.1}, "700002": "x=1"})) == {
        "700001": "lr=0.1", "700002": "x=1"}
    with pytest.raises(ValueError, match="node_id"):
        node_params_to_wire({"lr": 0.1})
