"""Put an EAS service back on an earlier version (``eascmd version``): ``EasRollbackOperator``.

Importable from ``airflow_provider_pai.operators.eas`` as DESIGN.md names it; its own module only
to keep that one readable, and it imports nothing of that one: the wait is ``mixins.eas``'s, the
deploy record's XCom key ``utils.eas``'s. What a deploy recorded is read mapping-aware (``utils/xcom.py``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NoReturn, Sequence

from airflow.providers.common.compat.sdk import AirflowException, AirflowSkipException

from airflow_provider_pai.mixins.eas import EasDeployWaitMixin
from airflow_provider_pai.operators.base import PaiBaseOperator, pai_template_fields
from airflow_provider_pai.utils.validation import (
    PaiParameterError,
    is_runtime_value,
    validate_eas_service_name,
    validate_version,
)

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider_pai.hooks.eas import EasHook


class EasRollbackOperator(EasDeployWaitMixin, PaiBaseOperator["EasHook"]):
    """Put an EAS service back on an earlier version (``eascmd version``), by default the one a deploy replaced.

    :param service_name: the service to roll back. With ``deploy_task_id`` it may be left out: then
        every service that deploy changed is rolled back (a mapped deploy changes several).
    :param version: the version to serve; default: ``previous_version`` of the EasModifyService
        task ``deploy_task_id``.
    :param deploy_task_id: the EasModifyServiceOperator task whose deployment to undo. Mapping-aware:
        a mapped rollback undoes what the same map index of a mapped deploy deployed; an unmapped
        one, what every map index deployed (see ``utils/xcom.py``).
    :param force: roll back even if another deploy has moved the service on since ``deploy_task_id``.
    Returns ``{service_name, region_id, previous_version, version, endpoint}`` (one service), or
    ``{"services": [...]}`` of those when several were rolled back.

    ``wait_for_completion``, ``poll_interval``, ``timeout``, ``retry_on_timeout``: as on
    ``EasBaseOperator`` (the same wait, ``mixins.eas.EasDeployWaitMixin``);
    ``pai_conn_id``, ``region_id``, ``deferrable``: see ``PaiBaseOperator``.
    """

    template_fields: Sequence[str] = pai_template_fields("service_name", "version", "deploy_task_id")

    def __init__(
        self,
        *,
        service_name: str | None = None,
        version: int | str | None = None,
        deploy_task_id: str | None = None,
        force: bool = False,
        wait_for_completion: bool = True,
        poll_interval: float = 15.0,
        timeout: float = 1800.0,
        retry_on_timeout: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.configure_wait(wait_for_completion, poll_interval, timeout, retry_on_timeout)
        if version is None and deploy_task_id is None:
            raise PaiParameterError("EasRollbackOperator needs version or deploy_task_id (the EasModifyService task).")
        if service_name is None and deploy_task_id is None:
            raise PaiParameterError(
                "EasRollbackOperator needs service_name, or deploy_task_id to roll back every service that deploy changed."
            )
        if service_name is None and version not in (None, ""):
            raise PaiParameterError(f"Invalid version={version!r} without service_name: give the service to roll back.")
        if service_name is not None and not is_runtime_value(service_name):
            validate_eas_service_name(service_name)
        if version not in (None, "") and not is_runtime_value(version):
            validate_version(version)
        self.service_name = service_name
        self.version = version
        self.deploy_task_id = deploy_task_id
        self.force = force

    # ---- what the deploy recorded ------------------------------------------------------------

    @property
    def _deploy_task(self) -> str:
        """``deploy_task_id``, on the paths that read the deploy's record (``__init__`` requires it when
        ``version`` is not given; only a version templated to "" gets here without it)."""
        if not self.deploy_task_id:
            raise PaiParameterError("EasRollbackOperator needs version or deploy_task_id (the EasModifyService task).")
        return self.deploy_task_id

    def _where(self, up: Any) -> str:
        return f"task {self.deploy_task_id!r}" + (f" (map index {up.map_index})" if up.map_index >= 0 else "")

    def _nothing_recorded(self, context: Context, where: str, map_index: int) -> NoReturn:
        from airflow_provider_pai.utils.xcom import NEVER_RAN, UpstreamError, upstream_state

        state = upstream_state(context, self._deploy_task, map_index)
        if state in NEVER_RAN:
            # Established: the deploy never ran its execute, so it deployed nothing. Logged too: Airflow
            # shows the skip exception's text only in the collapsed "Post Execute" group.
            reason = f"Nothing to roll back: {where} (deploy_task_id) never ran (state {state}), so it deployed nothing."
            self.log.info("%s", reason)
            raise AirflowSkipException(reason)
        raise UpstreamError(
            f"{where} (deploy_task_id) recorded no deployment: found None in XCom (its state: {state or 'unknown'}). "
            "It failed before UpdateService, or is not an EasModifyServiceOperator. Nothing was rolled back; "
            "pass version= to roll back to a given version."
        )

    def deploy_targets(self, context: Context) -> list[tuple[str, dict]]:
        """[(service, deploy record)] this task must undo, from the deploy task's XCom."""
        from airflow_provider_pai.utils.eas import DEPLOY_XCOM_KEY
        from airflow_provider_pai.utils.xcom import UpstreamError, describe, upstream_records

        ret = upstream_records(context, self._deploy_task)
        pushed = upstream_records(context, self._deploy_task, key=DEPLOY_XCOM_KEY)
        where = self._where(ret)
        if ret.per_index:
            found = pushed.values or [v for v in ret.values if is_deploy_record(v)]
            wrong = [v for v in ret.values if not is_deploy_record(v)]
            if wrong and not pushed.values:
                raise UpstreamError(
                    f"{where} (deploy_task_id, mapped) returned {describe(wrong[0])}, not a deployment record of "
                    "EasModifyServiceOperator (a dict with service_name, previous_version and version)."
                )
            if not found:
                self._nothing_recorded(context, f"{where} (mapped)", -1)
            names = sorted({r["service_name"] for r in found})
            if self.service_name:
                chosen = [r for r in found if r["service_name"] == self.service_name]
                if len(chosen) != 1:
                    what = "not" if not chosen else f"{len(chosen)} times, so which one to undo is ambiguous, not once"
                    raise UpstreamError(
                        f"{where} (deploy_task_id, mapped) deployed EAS services {names}, {what} {self.service_name!r} "
                        "(service_name). Leave service_name out to roll back every service it changed, or map this "
                        "task the same way as the deploy."
                    )
            else:
                chosen = [r for r in found if r.get("version") != r.get("previous_version")]
                self.log.info("%s deployed %s; rolling back the ones it changed: %s.", where, names,
                              [r["service_name"] for r in chosen] or "none")
            return [(r["service_name"], r) for r in chosen]
        value, backup = ret.values[0], pushed.values[0]
        record = value if is_deploy_record(value) else backup if is_deploy_record(backup) else None
        if record is None:
            if value is not None:
                raise UpstreamError(
                    f"{where} (deploy_task_id) returned {describe(value)}, not a deployment record of "
                    "EasModifyServiceOperator (a dict with service_name, previous_version and version). Check deploy_task_id."
                )
            self._nothing_recorded(context, where, ret.map_index)
        if self.service_name and record["service_name"] != self.service_name:
            raise UpstreamError(
                f"{where} (deploy_task_id) deployed EAS service {record['service_name']!r}, but this task rolls back "
                f"{self.service_name!r} (service_name): are the two mapped over lists in different orders? Map both "
                "over the same list, or leave service_name out."
            )
        return [(record["service_name"], record)]

    # ---- rolling back --------------------------------------------------------------------------

    def execute(self, context: Context) -> dict:
        from airflow_provider_pai.utils.xcom import UpstreamError

        if self.version not in (None, ""):
            name = validate_eas_service_name(self.service_name)
            target = validate_version(self.version)
            record = None
            if self.deploy_task_id:
                try:  # only to notice that another deploy moved the service on
                    record = dict(self.deploy_targets(context)).get(name)
                except (UpstreamError, AirflowSkipException) as exc:
                    self.log.info("Rolling back to the given version %s; %s", target, exc)
            return self.roll_back(context, name, target, record)
        targets = self.deploy_targets(context)
        if len(targets) == 1:
            name, record = targets[0]
            return self.roll_back(context, name, int(record["previous_version"]), record)
        results = [self.roll_back(context, name, int(r["previous_version"]), r, wait=False) for name, r in targets]
        if self.wait_for_completion:  # several services: wait in the worker, one after the other
            for result in results:
                self.on_running(result, self.wait_running(result["service_name"], result["version"]))
        return {"services": results}

    def roll_back(self, context: Context, name: str, target: int, record: dict | None, wait: bool = True) -> dict:
        from airflow_provider_pai.utils.eas import endpoint_of, service_progress

        service = self.hook.describe_service(name)
        current, latest = service.get("CurrentVersion"), service.get("LatestVersion") or 0
        if not 1 <= target <= latest:
            raise PaiParameterError(f"Invalid version={target}: service {name} has versions 1..{latest}.")
        result = {"service_name": name, "region_id": self.hook.region_id, "previous_version": current,
                  "version": target, "endpoint": endpoint_of(service)}
        self.persist_link(context, name)
        if current == target and service_progress(service, version=target)[0] == "success":
            self.log.info("EAS service %s already Running on version %s; nothing to roll back.", name, target)
            return result
        deployed = (record or {}).get("version")
        if record and deployed is not None and current not in (deployed, target) and not self.force:
            raise AirflowException(
                f"Refusing to roll {name} back to version {target}: task {self.deploy_task_id!r} deployed version "
                f"{deployed} but version {current} is current now, so another deploy has moved the service on. "
                "Pass force=True to roll back anyway."
            )
        if current == target:
            self.log.info("EAS service %s is on version %s already; waiting for it to be Running.", name, target)
        else:
            self.log.info("Rolling EAS service %s back from version %s to version %s.", name, current, target)
            self.hook.switch_version(name, target)
        return self.finish_or_wait(context, name, target, result) if wait else result


def is_deploy_record(value: Any) -> bool:
    """What EasModifyServiceOperator records: a dict naming the service and the version it replaced."""
    return isinstance(value, dict) and isinstance(value.get("service_name"), str) and "previous_version" in value
