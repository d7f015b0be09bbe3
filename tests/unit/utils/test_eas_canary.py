"""utils.eas_canary: the pure rules of a canary release (targets, group membership, traffic mode)."""

from __future__ import annotations

import json

from airflow_provider_pai.utils.eas_canary import (
    abort_targets,
    group_refusal,
    member_refusal,
    promote_targets,
    split_targets,
    traffic_mode_step,
)


def test_targets_order_keeps_the_canary_below_its_share_while_changing():
    assert list(split_targets("p", "c", 10).items()) == [("c", ("grouping", 10)), ("p", ("grouping", 90))]
    assert list(abort_targets("p", "c").items()) == [("c", ("standalone", 0)), ("p", ("grouping", 100))]
    assert list(promote_targets("p", "c").items()) == [("p", ("grouping", 100)), ("c", ("standalone", 0))]


def test_traffic_mode_step_customized_passes_auto_switches_or_is_refused():
    assert traffic_mode_step({"Name": "g", "TrafficMode": "customized"}, False) == (None, None)
    assert traffic_mode_step({"Name": "g", "TrafficMode": "auto"}, True) == ("customized", None)
    switch, refusal = traffic_mode_step({"Name": "g", "TrafficMode": "auto"}, False, 10)
    assert switch is None
    assert "TrafficMode='auto'" in refusal and "switch_traffic_mode=True" in refusal and "weight=10" in refusal
    # A mode EAS may add later is not assumed to split by weight either.
    assert "TrafficMode='other'" in traffic_mode_step({"Name": "g", "TrafficMode": "other"}, False)[1]


def test_member_and_group_refusals_name_the_cause():
    assert member_refusal(None, "g", "the canary") is None
    assert member_refusal({"ServiceName": "c", "ServiceGroup": "g"}, "g", "the canary") is None
    text = member_refusal({"ServiceName": "c", "ServiceGroup": "h"}, "g", "the canary")
    assert "c is in group 'h', not in 'g'" in text and "ServiceGroup" in text
    alone = {"ServiceName": "p", "ServiceGroup": "p", "ServiceConfig": json.dumps({"name": "p"})}
    assert "not in a service group" in group_refusal(alone)
    grouped = {"ServiceName": "p", "ServiceGroup": "g", "ServiceConfig": json.dumps({"metadata": {"group": "g"}})}
    assert group_refusal(grouped) is None
