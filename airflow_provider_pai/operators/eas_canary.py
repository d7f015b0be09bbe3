"""Canary releases on PAI-EAS service groups: start, re-weight, promote, abort (docs/operators/canary.md).

EAS splits a group endpoint's traffic over the group's member services by weight (docs/cloud-fidelity.md
F-TRF-1..8). A canary release here is two members of one group: the production service and a
canary service running the candidate model. ``EasCanaryStartOperator`` deploys the candidate to
the canary service and gives it ``weight`` percent of the group traffic (production gets the
rest); ``EasCanarySetWeightOperator`` moves the split; ``EasCanaryPromoteOperator`` rolls
production onto the candidate model (a normal, rollback-able EAS update) and takes the canary out
of the group traffic; ``EasCanaryAbortOperator`` takes the canary out and gives production all of
it. Every traffic change is read back first (a retry resends nothing that already took effect)
and waited on until DescribeService shows it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Sequence

from airflow.providers.common.compat.sdk import AirflowException, AirflowSkipException

from airflow_provider_pai.operators._model_source import ModelSourceMixin
from airflow_provider_pai.operators.base import pai_template_fields
from airflow_provider_pai.operators.eas import EasBaseOperator, EasModifyServiceOperator
from airflow_provider_pai.utils.eas import (
    config_contains,
    current_config,
    describe_or_none,
    eas_schedule,
    endpoint_of,
    service_progress,
)
from airflow_provider_pai.utils.polling import PollTimeout, wait_until
from airflow_provider_pai.utils.validation import PaiParameterError, parse_oss_uri, validate_eas_service_name
from airflow_provider_pai.version_compat import get_task_state_store

if TYPE_CHECKING:
    from airflow.sdk import Context

CANARY_STATE_KEY = "eas_canary"
GROUPING, STANDALONE = "grouping", "standalone"


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
    return service.get("TrafficState"), service.get("Weight")


class EasCanaryMixin:
    """The production/canary pair, its group, and the one read-back-then-release-then-wait step."""

    def canary_names(self) -> tuple[str, str]:
        prod = validate_eas_service_name(self.service_name)
        canary = validate_eas_service_name(self.canary_service_name or f"{prod}_canary", "canary_service_name")
        if canary == prod:
            raise PaiParameterError(f"Invalid canary_service_name={canary!r}: it must differ from service_name.")
        return prod, canary

    def group_of(self, production: dict) -> str:
        """The production service's group; a service alone in a group of its own has no canary slot."""
        group = production.get("ServiceGroup")
        meta = current_config(production).get("metadata") or {}
        if not group or (group == production.get("ServiceName") and not meta.get("group")):
            raise AirflowException(
                f"EAS service {production.get('ServiceName')} is not in a service group (ServiceGroup={group!r}), so "
                "no traffic can be split between it and a canary. Put it in a group first: update it with "
                '"metadata": {"group": "<group name>"} (EasModifyServiceOperator(service_config=...)).'
            )
        return group

    def check_pair(self, production: dict, canary: dict | None) -> str:
        group = self.group_of(production)
        if canary is not None and canary.get("ServiceGroup") != group:
            raise AirflowException(
                f"EAS service {canary.get('ServiceName')} is in group {canary.get('ServiceGroup')!r}, not in "
                f"{group!r} with {production.get('ServiceName')}: it cannot be this service's canary."
            )
        return group

    def set_traffic(self, targets: dict[str, tuple[str, int]]) -> dict[str, dict]:
        """ReleaseService for each member not already at its target, in order; wait until all show it."""
        for name, (state, weight) in targets.items():
            if traffic_of(self.hook.describe_service(name)) == (state, weight):
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

    def wait_traffic(self, targets: dict[str, tuple[str, int]]) -> dict[str, dict]:
        def poll():
            seen = {name: traffic_of(self.hook.describe_service(name)) for name in targets}
            return all(seen[n] == t for n, t in targets.items()), False, seen

        try:
            seen = wait_until(poll, eas_schedule(min(self.poll_interval, 5.0)), timeout=self.timeout)
        except PollTimeout as exc:
            raise AirflowException(
                f"The traffic change {targets} did not take effect within {self.timeout:.0f} s (timeout); last seen "
                f"{exc.last_value}. Check the services' events; the change may still land."
            ) from None
        self.log.info("Traffic in effect: %s.", ", ".join(f"{n}: {s} weight {w}" for n, (s, w) in seen.items()))
        return {name: {"traffic_state": s, "weight": w} for name, (s, w) in seen.items()}

    def describe_or_none(self, name: str) -> dict | None:
        return describe_or_none(self.hook, name)

    def running_pair(self, refuse: type[Exception], missing: str, replaced: str) -> tuple[str, str, str, Any]:
        """``(prod, canary, group, serving)`` of a started canary: it exists, is in production's group
        and serves ``model_path`` (when given), else ``refuse`` with ``missing`` / ``replaced``, whose
        ``{canary}``, ``{serving}`` and ``{wanted}`` are filled in."""
        prod, canary = self.canary_names()
        production, current = self.hook.describe_service(prod), self.describe_or_none(canary)
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

    def split_targets(self, prod: str, canary: str, weight: int) -> dict[str, tuple[str, int]]:
        # Canary first: while production still has 100, the canary's share stays below its target.
        return {canary: (GROUPING, weight), prod: (GROUPING, 100 - weight)}


class EasCanaryStartOperator(EasCanaryMixin, ModelSourceMixin, EasBaseOperator):
    """Deploy ``model_path`` to the canary service and give it ``weight`` percent of the group's traffic.

    :param service_name: the production service (a member of a service group).
    :param model_path: ``oss://`` path of the candidate model.
    :param weight: the canary's share of the group traffic in percent (default 10).
    :param canary_service_name: the canary service (default ``<service_name>_canary``); created
        from the production service's config if it does not exist, updated if it does.
    :param canary_config: service JSON merged into the canary's config (e.g. ``{"metadata": {"instance": 1}}``).
    Returns ``{service_name, canary_service_name, group, weight, model_path, canary_version,
    canary_endpoint, traffic, region_id}``.
    """

    template_fields: Sequence[str] = pai_template_fields(
        "service_name", "canary_service_name", "model_path", "weight", "canary_config")

    def __init__(self, *, service_name: str, model_path: str | None = None, weight: int | str = 10,
                 canary_service_name: str | None = None, canary_config: dict | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.service_name = service_name
        self.canary_service_name = canary_service_name
        self.model_path = model_path
        self.weight = validate_weight(weight)
        self.canary_config = canary_config or {}

    def execute(self, context: Context) -> dict:
        self.resolve_model_source()  # model_version / the model is there: before anything changes
        prod, canary = self.canary_names()
        weight = validate_weight(self.weight)
        parse_oss_uri(self.model_path, param="model_path")
        production = self.hook.describe_service(prod)
        existing = self.describe_or_none(canary)
        group = self.check_pair(production, existing)
        if service_progress(production)[0] != "success":
            raise AirflowException(f"EAS service {prod} is not Running ({service_progress(production)[1]}): "
                                   "a canary needs a healthy production service to compare with.")
        store = get_task_state_store(context)
        ours = store is not None and (store.get(CANARY_STATE_KEY) or {}).get("model_path") == self.model_path
        wanted = {**self.canary_config, "model_path": self.model_path}
        result = {"service_name": prod, "canary_service_name": canary, "group": group, "weight": weight,
                  "model_path": self.model_path, "region_id": self.hook.region_id}
        if existing is None:
            config = {**merged(current_config(production), self.canary_config), "name": canary,
                      "model_path": self.model_path}
            self.log.info("Creating canary service %s in group %s with %s.", canary, group, self.model_path)
            if store is not None:
                store.set(CANARY_STATE_KEY, {"model_path": self.model_path})
            self.hook.create_service(config, is_done=lambda: self.describe_or_none(canary))
        elif config_contains(current_config(existing), wanted):
            self.log.info("Canary service %s already has this model (version %s); reattaching.", canary,
                          existing.get("CurrentVersion"))
        else:
            state, share = traffic_of(existing)
            if state == GROUPING and share and not ours:
                raise AirflowException(
                    f"Another canary release is in progress in group {group}: {canary} serves "
                    f"{current_config(existing).get('model_path')} with weight {share}. Promote or abort it first "
                    "(one canary per group at a time)."
                )
            self.set_traffic({canary: (STANDALONE, 0)})  # no live traffic while its model changes
            if store is not None:
                store.set(CANARY_STATE_KEY, {"model_path": self.model_path})
            latest = existing.get("LatestVersion") or 0
            self.log.info("Updating canary service %s with %s.", canary, self.model_path)
            self.hook.update_service(canary, wanted, is_done=lambda: self._update_landed(canary, wanted, latest))
        self.persist_link(context, canary)
        after = self.hook.describe_service(canary)
        result["canary_version"] = after.get("LatestVersion") or after.get("CurrentVersion")
        return self.finish_or_wait(context, canary, result["canary_version"], result, newest=True)

    def on_running(self, result: dict, service: dict) -> dict:
        service = self.hook.describe_service(result["canary_service_name"])  # a trigger event carries less
        if service.get("ServiceGroup") != result["group"]:  # e.g. canary_config replaced metadata.group
            raise AirflowException(
                f"Canary service {result['canary_service_name']} is Running in group {service.get('ServiceGroup')!r}, "
                f"not in {result['group']!r}: it would get none of the group's traffic. Check canary_config."
            )
        result["canary_version"] = service.get("CurrentVersion") or result.get("canary_version")
        result["canary_endpoint"] = endpoint_of(service)
        self.log.info("Canary %s is Running on version %s; giving it %s%% of group %s.", result["canary_service_name"],
                      result["canary_version"], result["weight"], result["group"])
        result["traffic"] = self.set_traffic(
            self.split_targets(result["service_name"], result["canary_service_name"], result["weight"]))
        self._lineage_result = result  # OpenLineage reads it after the task
        return result

    def on_failed(self, context: Context, result: dict, message: str) -> dict:
        raise AirflowException(f"{message}\nThe canary got no traffic: production {result['service_name']} "
                               "keeps all of the group's traffic.")

    def get_openlineage_facets_on_complete(self, task_instance):
        """The candidate model (OSS) -> the canary service (EAS); see docs/lineage.md."""
        from airflow_provider_pai.utils.openlineage import model_to_service

        result = getattr(self, "_lineage_result", None) or {}
        region = result.get("region_id") or self.hook.region_id
        return model_to_service(result.get("model_path", self.model_path), region,
                                result.get("canary_service_name") or self.canary_names()[1], result.get("canary_version"))


class EasCanarySetWeightOperator(EasCanaryMixin, EasBaseOperator):
    """Move the canary's share of the group traffic to ``weight`` percent (production gets the rest).

    :param model_path: if given, the canary must still serve this model (another run's canary is refused).
    Returns ``{service_name, canary_service_name, group, weight, traffic, region_id}``.
    """

    template_fields: Sequence[str] = pai_template_fields("service_name", "canary_service_name", "weight", "model_path")

    def __init__(self, *, service_name: str, weight: int | str, canary_service_name: str | None = None,
                 model_path: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.service_name = service_name
        self.canary_service_name = canary_service_name
        self.weight = validate_weight(weight)
        self.model_path = model_path

    def execute(self, context: Context) -> dict:
        weight = validate_weight(self.weight)
        prod, canary, group, _ = self.running_pair(
            AirflowException, "Canary service {canary} does not exist: start the canary first.",
            "Canary service {canary} serves {serving}, not {wanted}: another canary release replaced this one; "
            "not changing its traffic.")
        self.persist_link(context, canary)
        traffic = self.set_traffic(self.split_targets(prod, canary, weight))
        return {"service_name": prod, "canary_service_name": canary, "group": group, "weight": weight,
                "traffic": traffic, "region_id": self.hook.region_id}


class EasCanaryAbortOperator(EasCanaryMixin, EasBaseOperator):
    """Take the canary out of the group traffic (standalone, weight 0): production gets all of it.

    :param model_path: if given and the canary now serves another model, another run's canary is
        left alone (the task skips).
    :param stop_canary: also stop the canary service (it keeps its config; StartService brings it back).
    Returns ``{service_name, canary_service_name, group, traffic, region_id}``.
    """

    template_fields: Sequence[str] = pai_template_fields("service_name", "canary_service_name", "model_path")

    def __init__(self, *, service_name: str, canary_service_name: str | None = None, model_path: str | None = None,
                 stop_canary: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.service_name = service_name
        self.canary_service_name = canary_service_name
        self.model_path = model_path
        self.stop_canary = stop_canary

    def execute(self, context: Context) -> dict:
        prod, canary, group, serving = self.running_pair(
            AirflowSkipException, "Nothing to abort: canary service {canary} does not exist.",
            "Nothing to abort: canary service {canary} serves {serving}, not {wanted} (another run's canary); "
            "leaving it alone.")
        self.persist_link(context, prod)
        self.log.info("Aborting the canary release of %s: %s leaves group %s's traffic.", serving, canary, group)
        traffic = self.set_traffic({canary: (STANDALONE, 0), prod: (GROUPING, 100)})
        self.retire_canary(canary)
        return {"service_name": prod, "canary_service_name": canary, "group": group, "traffic": traffic,
                "region_id": self.hook.region_id}


class EasCanaryPromoteOperator(EasCanaryMixin, EasModifyServiceOperator):
    """Roll production onto the canary's model, then give production all of the group traffic.

    The production update is ``EasModifyServiceOperator``'s (reattach on retry, roll back on
    failure, refuse a concurrent deploy), so ``EasRollbackOperator(deploy_task_id=<this task>)``
    can undo a promotion. While production rolls, the canary keeps its share.

    :param model_path: the model to promote; default: what the canary serves. If given, the canary
        must serve it (another run's canary is refused).
    :param stop_canary: stop the canary service once production has all the traffic.
    Returns EasModifyService's dict plus ``canary_service_name``, ``group`` and ``traffic``.
    """

    template_fields: Sequence[str] = pai_template_fields("service_name", "canary_service_name", "model_path")

    def __init__(self, *, service_name: str, canary_service_name: str | None = None, model_path: str | None = None,
                 stop_canary: bool = False, **kwargs: Any) -> None:
        super().__init__(service_name=service_name, service_config={}, **kwargs)
        self.canary_service_name = canary_service_name
        self.model_path = model_path
        self.stop_canary = stop_canary

    def execute(self, context: Context) -> dict:
        _, canary, _, serving = self.running_pair(
            AirflowException, "Canary service {canary} does not exist: nothing to promote.",
            "Canary service {canary} serves {serving}, not {wanted}: another canary release replaced this one; "
            "not promoting.")
        if not serving:
            raise AirflowException(f"Canary service {canary} has no model_path in its config: nothing to promote.")
        self.model_path, self.service_config = serving, None
        return self.after_promote(super().execute(context))

    def execute_complete(self, context: Context, event: dict[str, Any], result: dict | None = None) -> dict:
        return self.after_promote(super().execute_complete(context, event, result))

    def get_openlineage_facets_on_complete(self, task_instance):
        """The promoted model (OSS) -> the production service (EAS); see docs/lineage.md."""
        from airflow_provider_pai.utils.openlineage import model_to_service

        result = getattr(self, "_lineage_result", None) or {}
        region = result.get("region_id") or self.hook.region_id
        return model_to_service(result.get("model_path") or self.model_path, region, self.canary_names()[0],
                                result.get("version"))

    def after_promote(self, result: dict) -> dict:
        prod, canary = self.canary_names()
        result["canary_service_name"] = canary
        result["group"] = self.hook.describe_service(prod).get("ServiceGroup")
        result["traffic"] = self.set_traffic({prod: (GROUPING, 100), canary: (STANDALONE, 0)})
        self.retire_canary(canary)
        self._lineage_result = result
        return result
