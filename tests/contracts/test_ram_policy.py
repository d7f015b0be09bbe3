"""docs/ram-policy.json grants every RAM action the example flow can call, derived from the request
spec (hooks/request_fields.py: entries with ``example_policy: True``)."""

from __future__ import annotations

import fnmatch
import json
from pathlib import Path

from airflow_provider_pai.hooks.request_fields import REQUESTS

POLICY = json.loads((Path(__file__).resolve().parents[2] / "docs" / "ram-policy.json").read_text())


def allowed_actions(policy: dict) -> list[str]:
    """The Action patterns of the policy's Allow statements (``dataworks:*`` stays a pattern)."""
    patterns: list[str] = []
    for statement in policy["Statement"]:
        if statement.get("Effect") == "Allow":
            action = statement["Action"]
            patterns.extend(action if isinstance(action, list) else [action])
    return patterns


def not_granted(policy: dict) -> list[str]:
    needed = {e["ram_action"] for e in REQUESTS.values() if e["example_policy"] is True}
    patterns = allowed_actions(policy)
    # RAM action names are case-insensitive
    return sorted(a for a in needed if not any(fnmatch.fnmatch(a.lower(), p.lower()) for p in patterns))


def test_the_documented_policy_grants_every_action_the_example_flow_calls():
    assert not_granted(POLICY) == [], "add these actions to docs/ram-policy.json (and the table in docs/ram-policy.md)"


def test_the_evidence_call_of_a_failed_rollout_is_among_them():
    needed = {e["ram_action"] for e in REQUESTS.values() if e["example_policy"] is True}
    assert "eas:ListServiceInstances" in needed
    assert "eas:ListServiceInstances" in allowed_actions(POLICY)


def test_a_policy_without_one_action_is_caught():
    policy = json.loads(json.dumps(POLICY))
    for statement in policy["Statement"]:
        if isinstance(statement["Action"], list) and "eas:ListServiceInstances" in statement["Action"]:
            statement["Action"].remove("eas:ListServiceInstances")
    assert not_granted(policy) == ["eas:ListServiceInstances"]
