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

from functools import partial
from typing import TYPE_CHECKING, Any, Sequence

from airflow.providers.common.compat.sdk import AirflowException, AirflowSkipException

from airflow_provider_pai.mixins.eas_canary import EasCanaryMixin
from airflow_provider_pai.mixins.model_source import ModelSourceMixin
from airflow_provider_pai.operators.base import pai_template_fields
from airflow_provider_pai.operators.eas import EasBaseOperator, EasModifyServiceOperator
from airflow_provider_pai.utils.eas import config_contains, current_config, endpoint_of, service_progress
from airflow_provider_pai.utils.eas_canary import (  # noqa: F401  (GROUPING, STANDALONE, merged, ...: earlier home)
    CUSTOMIZED,
    GROUPING,
    STANDALONE,
    TRAFFIC_MODE_XCOM_KEY,
    abort_targets,
    group_refusal,
    member_refusal,
    merged,
    mode_record,
    promote_targets,
    split_targets,
    traffic_mode_step,
    traffic_of,
    validate_weight,
)
from airflow_provider_pai.utils.validation import PaiParameterError, parse_oss_uri
from airflow_provider_pai.version_compat import get_task_state_store

if TYPE_CHECKING:
    from airflow.sdk import Context

CANARY_STATE_KEY = "eas_canary"


class EasCanaryStartOperator(EasCanaryMixin, ModelSourceMixin, EasBaseOperator):
    """Deploy ``model_path`` to the canary service and give it ``weight`` percent of the group's traffic.

    :param service_name: the production service (a member of a service group).
    :param model_path: ``oss://`` path of the candidate model.
    :param weight: the canary's share of the group traffic in percent (default 10).
    :param canary_service_name: the canary service (default ``<service_name>_canary``); created
        from the production service's config if it does not exist, updated if it does.
    :param canary_config: service JSON merged into the canary's config (e.g. ``{"metadata": {"instance": 1}}``).
    :param switch_traffic_mode: weights decide the split only when the group's ``TrafficMode`` is
        ``customized`` (in ``auto``, EAS splits by instance count). The group is read before any
        traffic change; if it is not ``customized`` the task refuses, naming the mode, unless this
        is True: then it switches the group to ``customized`` (UpdateGroup) just before giving the
        canary its weight, and records the mode it found in XCom ``eas_canary_traffic_mode``;
        ``EasCanaryAbortOperator`` / ``EasCanaryPromoteOperator`` with ``start_task_id=<this task>``
        put it back once the canary has no traffic. Default False.
    Returns ``{service_name, canary_service_name, group, weight, model_path, canary_version,
    canary_endpoint, traffic, traffic_mode_before, region_id}`` (``traffic_mode_before``: the mode
    this task switched from, or None).
    """

    template_fields: Sequence[str] = pai_template_fields(
        "service_name", "canary_service_name", "model_path", "weight", "canary_config")

    def __init__(self, *, service_name: str, model_path: str | None = None, weight: int | str = 10,
                 canary_service_name: str | None = None, canary_config: dict | None = None,
                 switch_traffic_mode: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not isinstance(switch_traffic_mode, bool):
            raise PaiParameterError(f"Invalid switch_traffic_mode={switch_traffic_mode!r}: give True or False.")
        self.service_name = service_name
        self.canary_service_name = canary_service_name
        self.model_path = model_path
        self.weight = validate_weight(weight)
        self.canary_config = canary_config or {}
        self.switch_traffic_mode = switch_traffic_mode

    def execute(self, context: Context) -> dict:
        self.resolve_model_source()  # model_version / the model is there: before anything changes
        prod, canary = self.canary_names()
        weight = validate_weight(self.weight)
        parse_oss_uri(self.model_path, param="model_path")
        production = self.hook.describe_service(prod)
        existing = self.hook.describe_or_none(canary)
        group = self.check_pair(production, existing)
        if service_progress(production)[0] != "success":
            raise AirflowException(f"EAS service {prod} is not Running ({service_progress(production)[1]}): "
                                   "a canary needs a healthy production service to compare with.")
        store = get_task_state_store(context)
        saved = (store.get(CANARY_STATE_KEY) or {}) if store is not None else {}
        ours = saved.get("model_path") == self.model_path
        # Read before anything changes: weights split the traffic only in a customized group.
        before = self.traffic_mode_before(group, self.switch_traffic_mode, weight)
        if before is None and ours and (saved.get("traffic_mode") or {}).get("group") == group:
            # An earlier try of this task switched it (XCom is cleared before a retry; the
            # task_state_store of Airflow 3.3+ is not). Below 3.3 a retry cannot tell its own switch
            # from a group that was customized already: the mode then stays customized.
            before = saved["traffic_mode"]["traffic_mode"]
        record = mode_record(group, before)
        context["ti"].xcom_push(key=TRAFFIC_MODE_XCOM_KEY, value=record)
        wanted = {**self.canary_config, "model_path": self.model_path}
        result = {"service_name": prod, "canary_service_name": canary, "group": group, "weight": weight,
                  "model_path": self.model_path, "traffic_mode_before": before, "region_id": self.hook.region_id}
        if existing is None:
            config = {**merged(current_config(production), self.canary_config), "name": canary,
                      "model_path": self.model_path}
            self.log.info("Creating canary service %s in group %s with %s.", canary, group, self.model_path)
            if store is not None:
                store.set(CANARY_STATE_KEY, {"model_path": self.model_path, "traffic_mode": record})
            self.hook.create_service(config, is_done=partial(self.hook.describe_or_none, canary))
        elif config_contains(current_config(existing), wanted):
            self.log.info("Canary service %s already has this model (version %s); reattaching.", canary,
                          existing.get("CurrentVersion"))
            if store is not None and ours:
                store.set(CANARY_STATE_KEY, {"model_path": self.model_path, "traffic_mode": record})
        else:
            state, share = traffic_of(existing)
            if state == GROUPING and share and not ours:
                raise AirflowException(
                    f"Another canary release is in progress in group {group}: {canary} serves "
                    f"{current_config(existing).get('model_path')} with weight {share}. Promote or abort it first "
                    "(one canary per group at a time)."
                )
            self.set_traffic({canary: (STANDALONE, 0)}, group)  # no live traffic (either mode) while it changes
            if store is not None:
                store.set(CANARY_STATE_KEY, {"model_path": self.model_path, "traffic_mode": record})
            latest = existing.get("LatestVersion") or 0
            self.log.info("Updating canary service %s with %s.", canary, self.model_path)
            self.hook.update_service(canary, wanted, is_done=partial(self.hook.update_landed, canary, wanted, latest))
        self.persist_link(context, canary)
        after = self.hook.describe_service(canary)
        result["canary_version"] = after.get("LatestVersion") or after.get("CurrentVersion")
        return self.finish_or_wait(context, canary, result["canary_version"], result, newest=True)

    def on_running(self, result: dict, service: dict) -> dict:
        service = self.hook.describe_service(result["canary_service_name"])  # a trigger event carries less
        refusal = member_refusal(service, result["group"], "the canary, now Running")
        if refusal:  # e.g. canary_config replaced metadata.group
            raise AirflowException(f"{refusal} It would get none of the group's traffic. Check canary_config.")
        result["canary_version"] = service.get("CurrentVersion") or result.get("canary_version")
        result["canary_endpoint"] = endpoint_of(service)
        self.log.info("Canary %s is Running on version %s; giving it %s%% of group %s.", result["canary_service_name"],
                      result["canary_version"], result["weight"], result["group"])
        if result.get("traffic_mode_before"):  # switch_traffic_mode: only now, right before the weights
            self.set_traffic_mode(result["group"], CUSTOMIZED)
        result["traffic"] = self.set_traffic(
            split_targets(result["service_name"], result["canary_service_name"], result["weight"]), result["group"])
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
        # Weights decide the split only in a customized group: read it before any ReleaseService.
        self.traffic_mode_before(group, False, weight)
        self.persist_link(context, canary)
        traffic = self.set_traffic(split_targets(prod, canary, weight), group)
        return {"service_name": prod, "canary_service_name": canary, "group": group, "weight": weight,
                "traffic": traffic, "region_id": self.hook.region_id}


class EasCanaryAbortOperator(EasCanaryMixin, EasBaseOperator):
    """Take the canary out of the group traffic (standalone, weight 0): production gets all of it.

    :param model_path: if given and the canary now serves another model, another run's canary is
        left alone (the task skips).
    :param stop_canary: also stop the canary service (it keeps its config; StartService brings it back).
    :param start_task_id: the EasCanaryStartOperator task of this release: the group TrafficMode it
        switched (``switch_traffic_mode=True``) is put back once the canary is standalone.
    Returns ``{service_name, canary_service_name, group, traffic, traffic_mode_restored, region_id}``.
    """

    template_fields: Sequence[str] = pai_template_fields("service_name", "canary_service_name", "model_path")

    def __init__(self, *, service_name: str, canary_service_name: str | None = None, model_path: str | None = None,
                 stop_canary: bool = False, start_task_id: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.service_name = service_name
        self.canary_service_name = canary_service_name
        self.model_path = model_path
        self.stop_canary = stop_canary
        self.start_task_id = start_task_id

    def execute(self, context: Context) -> dict:
        prod, canary, group, serving = self.running_pair(
            AirflowSkipException, "Nothing to abort: canary service {canary} does not exist.",
            "Nothing to abort: canary service {canary} serves {serving}, not {wanted} (another run's canary); "
            "leaving it alone.")
        self.persist_link(context, prod)
        self.log.info("Aborting the canary release of %s: %s leaves group %s's traffic.", serving, canary, group)
        traffic = self.set_traffic(abort_targets(prod, canary), group)
        self.retire_canary(canary)
        restored = self.restore_traffic_mode(context, group)  # the canary is standalone: no traffic in any mode
        return {"service_name": prod, "canary_service_name": canary, "group": group, "traffic": traffic,
                "traffic_mode_restored": restored, "region_id": self.hook.region_id}


class EasCanaryPromoteOperator(EasCanaryMixin, EasModifyServiceOperator):
    """Roll production onto the canary's model, then give production all of the group traffic.

    The production update is ``EasModifyServiceOperator``'s (reattach on retry, roll back on
    failure, refuse a concurrent deploy), so ``EasRollbackOperator(deploy_task_id=<this task>)``
    can undo a promotion. While production rolls, the canary keeps its share.

    :param model_path: the model to promote; default: what the canary serves. If given, the canary
        must serve it (another run's canary is refused).
    :param stop_canary: stop the canary service once production has all the traffic.
    :param start_task_id: the EasCanaryStartOperator task of this release: the group TrafficMode it
        switched (``switch_traffic_mode=True``) is put back once the canary is standalone.
    Returns EasModifyService's dict plus ``canary_service_name``, ``group``, ``traffic`` and
    ``traffic_mode_restored``.
    """

    template_fields: Sequence[str] = pai_template_fields("service_name", "canary_service_name", "model_path")

    def __init__(self, *, service_name: str, canary_service_name: str | None = None, model_path: str | None = None,
                 stop_canary: bool = False, start_task_id: str | None = None, **kwargs: Any) -> None:
        super().__init__(service_name=service_name, service_config={}, **kwargs)
        self.canary_service_name = canary_service_name
        self.model_path = model_path
        self.stop_canary = stop_canary
        self.start_task_id = start_task_id

    def execute(self, context: Context) -> dict:
        _, canary, _, serving = self.running_pair(
            AirflowException, "Canary service {canary} does not exist: nothing to promote.",
            "Canary service {canary} serves {serving}, not {wanted}: another canary release replaced this one; "
            "not promoting.")
        if not serving:
            raise AirflowException(f"Canary service {canary} has no model_path in its config: nothing to promote.")
        self.model_path, self.service_config = serving, None
        return self.after_promote(context, super().execute(context))

    def execute_complete(self, context: Context, event: dict[str, Any], result: dict | None = None) -> dict:
        return self.after_promote(context, super().execute_complete(context, event, result))

    def get_openlineage_facets_on_complete(self, task_instance):
        """The promoted model (OSS) -> the production service (EAS); see docs/lineage.md."""
        from airflow_provider_pai.utils.openlineage import model_to_service

        result = getattr(self, "_lineage_result", None) or {}
        region = result.get("region_id") or self.hook.region_id
        return model_to_service(result.get("model_path") or self.model_path, region, self.canary_names()[0],
                                result.get("version"))

    def after_promote(self, context: Context, result: dict) -> dict:
        prod, canary = self.canary_names()
        result["canary_service_name"] = canary
        result["group"] = self.group_of(self.hook.describe_service(prod))
        result["traffic"] = self.set_traffic(promote_targets(prod, canary), result["group"])
        self.retire_canary(canary)
        result["traffic_mode_restored"] = self.restore_traffic_mode(context, result["group"])
        self._lineage_result = result
        return result
