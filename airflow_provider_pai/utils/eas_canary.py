"""The rules of a canary release on a PAI-EAS service group: pure, no Airflow, no remote calls.

A canary release is two members of one group: production and a canary service. What each rule
reads is a DescribeService or DescribeGroup answer; what it returns is a target, or the text of a
refusal that the operator raises before changing anything (docs/operators/canary.md; rows F-TRF-*
of docs/cloud-fidelity.md).
"""

from __future__ import annotations

from typing import Any

from airflow_provider_pai.utils.eas import current_config
from airflow_provider_pai.utils.validation import PaiParameterError

GROUPING, STANDALONE = "grouping", "standalone"
# Group TrafficMode values (UpdateGroup reference, F-TRF-9): ``auto`` splits the group's traffic by
# each member's share of the instances, ``customized`` by the weights ReleaseService sets.
AUTO, CUSTOMIZED = "auto", "customized"
# XCom key (and task_state_store record) of EasCanaryStartOperator: the group TrafficMode it
# changed, so the end of the canary (abort / promote) can put it back.
TRAFFIC_MODE_XCOM_KEY = "eas_canary_traffic_mode"

Targets = dict[str, tuple[str, int]]


def validate_weight(value: Any, param: str = "weight") -> Any:
    """A canary share in percent, 0..100 (templated values are checked at run time)."""
    if isinstance(value, str) and ("{{" in value or "{%" in value):
        return value
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = None
    if number is None or isinstance(value, bool) or str(number) != str(value).strip() or not 0 <= number <= 100:
        raise PaiParameterError(f"Invalid {param}={value!r}: give the canary's share of the group traffic in percent, "
                                "an integer from 0 to 100 (e.g. 10).")
    return number


def merged(base: dict, patch: dict) -> dict:
    """``patch`` merged into ``base`` key by key (nested dicts too), as UpdateService's merge does."""
    out = dict(base)
    for key, value in patch.items():
        out[key] = merged(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def traffic_of(service: dict) -> tuple[str | None, int | None]:
    """A member's (TrafficState, Weight) in effect, as DescribeService shows them (F-TRF-5)."""
    return service.get("TrafficState"), service.get("Weight")


def split_targets(prod: str, canary: str, weight: int) -> Targets:
    # Canary first: while production still has 100, the canary's share stays below its target.
    return {canary: (GROUPING, weight), prod: (GROUPING, 100 - weight)}


def abort_targets(prod: str, canary: str) -> Targets:
    # Canary out first: production alone serves the group until it gets all of the weight.
    return {canary: (STANDALONE, 0), prod: (GROUPING, 100)}


def promote_targets(prod: str, canary: str) -> Targets:
    # Production (now on the canary's model) takes all of the weight, then the canary leaves.
    return {prod: (GROUPING, 100), canary: (STANDALONE, 0)}


def group_refusal(production: dict) -> str | None:
    """Why production has no canary slot (not in a group, or alone in a group of its own), or None."""
    group = production.get("ServiceGroup")
    meta = current_config(production).get("metadata") or {}
    if not group or (group == production.get("ServiceName") and not meta.get("group")):
        return (
            f"EAS service {production.get('ServiceName')} is not in a service group (ServiceGroup={group!r}), so "
            "no traffic can be split between it and a canary. Put it in a group first: update it with "
            '"metadata": {"group": "<group name>"} (EasModifyServiceOperator(service_config=...)).'
        )
    return None


def member_refusal(service: dict | None, group: str, role: str) -> str | None:
    """Why ``service`` (read just now) is not the member of ``group`` a canary step expects, or None."""
    if service is None or service.get("ServiceGroup") == group:
        return None
    return (
        f"EAS service {service.get('ServiceName')} is in group {service.get('ServiceGroup')!r}, not in {group!r} "
        f"({role}): its ServiceGroup changed or it was never this canary's. Nothing was changed; put it back in "
        f"group {group!r} (metadata.group) or name the right service."
    )


def traffic_mode_step(group: dict, switch: bool, weight: Any = None) -> tuple[str | None, str | None]:
    """``(mode to switch to, refusal)`` for a canary on the group DescribeGroup returned.

    Weights decide the split only in ``customized`` mode; in any other mode the group is switched
    to it when the task was told to (``switch_traffic_mode=True``), else the canary is refused.
    """
    mode = group.get("TrafficMode")
    if mode == CUSTOMIZED:
        return None, None
    if switch:
        return CUSTOMIZED, None
    share = f"weight={weight}" if weight is not None else "the canary's weight"
    how = "by each service's share of the instances" if mode == AUTO else "not by ReleaseService weights"
    return None, (
        f"EAS service group {group.get('Name')} has TrafficMode={mode!r}: EAS splits its traffic {how}, so "
        f"{share} would not decide the canary's share (in 'auto' a one-instance canary beside a one-instance "
        "production gets half). Pass switch_traffic_mode=True to EasCanaryStartOperator to switch the group to "
        "'customized' for the canary (the end of the canary puts the mode back), or set the group's TrafficMode "
        "to 'customized' yourself (UpdateGroup)."
    )


def mode_record(group: str, before: str | None) -> dict:
    """What a canary start changed: ``{group, traffic_mode}`` (the mode before), for the end step."""
    return {"group": group, "traffic_mode": before}
