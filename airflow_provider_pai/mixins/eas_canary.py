"""The production/canary pair of a canary release, its group, its traffic and the group's traffic
mode: what the canary operators (operators/eas_canary.py) read before acting and how they change
the traffic. The rules are ``utils.eas_canary``'s (pure); the traffic wait is ``mixins.eas``'s.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import AirflowException

from airflow_provider_pai.utils.eas import current_config
from airflow_provider_pai.utils.eas_canary import (
    TRAFFIC_MODE_XCOM_KEY,
    group_refusal,
    member_refusal,
    traffic_mode_step,
    traffic_of,
)
from airflow_provider_pai.utils.validation import PaiParameterError, validate_eas_service_name

if TYPE_CHECKING:
    from airflow.sdk import Context
    from airflow.sdk.types import Logger

    from airflow_provider_pai.hooks.eas import EasHook


class EasCanaryMixin:
    """The production/canary pair, its group, and the one read-back-then-release-then-wait step.

    The rules (which group, which targets, which traffic mode) are ``utils.eas_canary``'s; this
    reads what they judge and raises their refusals before anything is changed.
    """

    if TYPE_CHECKING:
        hook: EasHook
        service_name: str
        canary_service_name: str | None
        model_path: str | None
        stop_canary: bool

        @property
        def log(self) -> Logger: ...

        def wait_traffic(self, targets: dict[str, tuple[str, int]]) -> dict[str, dict]: ...

    def canary_names(self) -> tuple[str, str]:
        prod = validate_eas_service_name(self.service_name)
        canary = validate_eas_service_name(self.canary_service_name or f"{prod}_canary", "canary_service_name")
        if canary == prod:
            raise PaiParameterError(f"Invalid canary_service_name={canary!r}: it must differ from service_name.")
        return prod, canary

    def group_of(self, production: dict) -> str:
        """The production service's group; a service alone in a group of its own has no canary slot."""
        refusal = group_refusal(production)
        if refusal:
            raise AirflowException(refusal)
        return production["ServiceGroup"]

    def check_pair(self, production: dict, canary: dict | None) -> str:
        group = self.group_of(production)
        refusal = member_refusal(canary, group, "the canary")
        if refusal:
            raise AirflowException(f"{refusal} It cannot be {production.get('ServiceName')}'s canary.")
        return group

    def set_traffic(self, targets: dict[str, tuple[str, int]], group: str) -> dict[str, dict]:
        """ReleaseService for each member not already at its target, in order; wait until all show it.

        Every member is read first and must still be in ``group``: a service that left it is refused
        before any ReleaseService is sent."""
        seen = {name: self.hook.describe_service(name) for name in targets}
        for service in seen.values():
            refusal = member_refusal(service, group, "a member of this canary release")
            if refusal:
                raise AirflowException(refusal)
        for name, (state, weight) in targets.items():
            if traffic_of(seen[name]) == (state, weight):
                self.log.info("EAS service %s already has TrafficState=%s, Weight=%s.", name, state, weight)
                continue
            self.log.info("ReleaseService %s: TrafficState=%s, Weight=%s.", name, state, weight)
            answer = self.hook.release_service(
                name, weight=weight, traffic_state=state,
                is_done=lambda n=name, t=(state, weight): t == traffic_of(self.hook.describe_service(n)) or None,
            )
            if answer.get("Message"):
                self.log.info("ReleaseService: %s", answer["Message"])
        return self.wait_traffic(targets)

    def traffic_mode_before(self, group: str, switch: bool, weight: Any = None) -> str | None:
        """DescribeGroup before any ReleaseService: the mode to put back later if the group must be
        switched to ``customized`` (None: it is already), or raise the refusal naming the mode."""
        info = self.hook.describe_group(group)
        switch_to, refusal = traffic_mode_step(info, switch, weight)
        if refusal:
            raise AirflowException(refusal)
        return info.get("TrafficMode") if switch_to else None

    def set_traffic_mode(self, group: str, mode: str) -> None:
        """UpdateGroup to ``mode`` unless the group is in it already (a retry never switches twice)."""

        def in_mode() -> dict | None:
            found = self.hook.describe_group(group).get("TrafficMode")
            return {"Message": f"group {group} is {mode}"} if found == mode else None

        if in_mode():
            return
        self.log.info("Switching EAS service group %s to TrafficMode=%s.", group, mode)
        self.hook.update_group_traffic_mode(group, mode, is_done=in_mode)

    def restore_traffic_mode(self, context: Context, group: str) -> str | None:
        """After the canary left the group traffic: put back the mode the start task changed."""
        start_task_id = getattr(self, "start_task_id", None)
        if not start_task_id:
            return None
        record = context["ti"].xcom_pull(task_ids=start_task_id, key=TRAFFIC_MODE_XCOM_KEY)
        if not isinstance(record, dict) or record.get("group") != group or not record.get("traffic_mode"):
            return None
        self.set_traffic_mode(group, record["traffic_mode"])
        return record["traffic_mode"]

    def running_pair(self, refuse: type[Exception], missing: str, replaced: str) -> tuple[str, str, str, Any]:
        """``(prod, canary, group, serving)`` of a started canary: it exists, is in production's group
        and serves ``model_path`` (when given), else ``refuse`` with ``missing`` / ``replaced``, whose
        ``{canary}``, ``{serving}`` and ``{wanted}`` are filled in."""
        prod, canary = self.canary_names()
        production, current = self.hook.describe_service(prod), self.hook.describe_or_none(canary)
        if current is None:
            raise refuse(missing.format(canary=canary))
        group = self.check_pair(production, current)
        serving = current_config(current).get("model_path")
        if self.model_path and serving != self.model_path:
            raise refuse(replaced.format(canary=canary, serving=serving, wanted=self.model_path))
        return prod, canary, group, serving

    def retire_canary(self, canary: str) -> None:
        """After production took all the traffic: stop the canary service if ``stop_canary``."""
        if self.stop_canary:
            self.hook.stop_service(canary)
            self.log.info("Stopped canary service %s.", canary)

    def get_openlineage_facets_on_complete(self, task_instance):
        """A traffic change moves no data (Start and Promote report their model -> service)."""
        return None
