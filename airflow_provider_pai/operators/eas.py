"""Create, update and roll back PAI-EAS services: the seed's ``eascmd create / modify / version``.

Every operator here submits, persists the console link, then waits in one of two ways that share
``service_progress``: blocking through ``utils.polling.wait_until``, or deferred to
``EasServiceTrigger`` (``execute_complete`` reads the event). What a deploy replaced
(``previous_version``) is kept in XCom and, on Airflow 3.3, in ``task_state_store``, so the
rollback knows its target and a retried deploy reattaches instead of adding a version.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any, Sequence

from airflow.providers.common.compat.sdk import AirflowException, AirflowSkipException

from airflow_provider_pai.links.eas import EasServiceLink
from airflow_provider_pai.mixins.hook import EAS_HOOK
from airflow_provider_pai.operators.base import PaiBaseOperator, pai_template_fields
from airflow_provider_pai.utils.eas import (  # noqa: F401  (the config helpers are re-exported: their earlier home)
    TOKEN_KEYS,
    ServiceWatch,
    config_contains,
    current_config,
    eas_schedule,
    endpoint_of,
    failure_message,
    parse_service_config,
    service_progress,
    switch_version,
    update_landed,
    warning_events,
)
from airflow_provider_pai.utils.polling import PollTimeout, deadline, wait_until
from airflow_provider_pai.utils.validation import (
    PaiParameterError,
    parse_oss_uri,
    validate_eas_service_name,
    validate_positive,
)
from airflow_provider_pai.version_compat import get_task_state_store

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider_pai.hooks.eas import EasHook

# XCom key pushed as soon as an update is accepted: a failed deploy has no return value, yet
# EasRollbackOperator must still learn what it replaced.
DEPLOY_XCOM_KEY = "eas_deploy"
# task_state_store key: survives retries of the same task instance (XCom does not on Airflow 3).
DEPLOY_STATE_KEY = "eas_deploy"
CREATE_STATE_KEY = "eas_created"
PENDING_XCOM_KEY = "eas_pending"


class EasBaseOperator(PaiBaseOperator["EasHook"]):
    """Shared parameters and the one submit-then-wait pattern of the EAS operators.

    :param wait_for_completion: wait until the service is Running on the new version.
    :param poll_interval: seconds between DescribeService calls while waiting.
    :param timeout: seconds to wait before failing (the rollout may go on in EAS).

    ``pai_conn_id``, ``region_id`` and ``deferrable`` (wait in the triggerer with
    ``EasServiceTrigger``): see ``PaiBaseOperator``.
    """

    hook_class_path = EAS_HOOK
    template_fields: Sequence[str] = pai_template_fields()
    operator_extra_links = (EasServiceLink(),)

    def __init__(
        self,
        *,
        wait_for_completion: bool = True,
        poll_interval: float = 15.0,
        timeout: float = 1800.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.wait_for_completion = wait_for_completion
        self.poll_interval = validate_positive(poll_interval, "poll_interval")
        self.timeout = validate_positive(timeout, "timeout")

    def persist_link(self, context: Context, service_name: str) -> None:
        EasServiceLink.persist(context=context, region_id=self.hook.region_id, service_name=service_name)

    def wait_running(self, service_name: str, version: int | None, newest: bool = False) -> dict:
        """Block until Running on ``version`` with all instances ready; raise with events on Failed."""
        watch = ServiceWatch(version=version, newest=newest)

        def poll():
            service = self.hook.describe_service(service_name)
            state, where, changed = watch.observe(service)
            if changed:
                self.log.info("EAS service %s: %s", service_name, where)
            return state != "waiting", changed, (state, where, service)

        try:
            state, where, service = wait_until(poll, eas_schedule(self.poll_interval), timeout=self.timeout)
        except PollTimeout as exc:
            where = exc.last_value[1] if exc.last_value else "no answer"
            raise AirflowException(
                f"EAS service {service_name} not Running on version {version} after {exc.waited:.0f} s "
                f"(timeout={self.timeout}); last seen {where}. Raise timeout or check the service events."
            ) from None
        if state == "failed":
            raise AirflowException(self.failure_text(service_name, where))
        return service

    def failure_text(self, service_name: str, where: str) -> str:
        return failure_message(service_name, where, warning_events(self.hook, service_name))

    def defer_until_running(
        self, service_name: str, version: int | None, method_name: str, kwargs: dict, newest: bool = False
    ) -> None:
        from airflow_provider_pai.triggers.eas import EasServiceTrigger  # the deferred path only

        self.defer(
            trigger=EasServiceTrigger(
                service_name,
                version=version,
                newest=newest,
                pai_conn_id=self.pai_conn_id,
                region_id=self.region_id,
                poll_interval=self.poll_interval,
                end_time=deadline(self.timeout),
            ),
            method_name=method_name,
            kwargs=kwargs,
            # The trigger times out itself with a clear message; this is only the backstop.
            timeout=timedelta(seconds=self.timeout + 5 * self.poll_interval),
        )

    def finish_or_wait(
        self, context: Context, service_name: str, version: int | None, result: dict, newest: bool = False
    ) -> dict:
        """Return ``result`` once Running on ``version``: waits blocking, or defers.

        ``newest``: ``version`` is the one this task just deployed (see ``service_progress``).
        """
        if not self.wait_for_completion:
            return result
        if self.deferrable:
            service = self.hook.describe_service(service_name)
            state, where = service_progress(service, version=version, newest=newest)
            if state == "success":
                return self.on_running(result, service)
            if state == "failed":
                return self.on_failed(context, result, self.failure_text(service_name, where))
            self.stash(context, result)
            self.defer_until_running(service_name, version, "execute_complete", {"result": result}, newest=newest)
        try:
            service = self.wait_running(service_name, version, newest=newest)
        except AirflowException as exc:
            return self.on_failed(context, result, str(exc))
        return self.on_running(result, service)

    # `airflow dags test` (3.3) resumes with only {"event": ...}, dropping the defer kwargs; the
    # triggerer keeps them. Stashing in XCom (same try) makes both work.
    def stash(self, context: Context, result: dict) -> None:
        context["ti"].xcom_push(key=PENDING_XCOM_KEY, value=result)

    def unstash(self, context: Context) -> dict:
        value = context["ti"].xcom_pull(task_ids=self.task_id, key=PENDING_XCOM_KEY)
        return dict(value) if isinstance(value, dict) else {}

    def execute_complete(self, context: Context, event: dict[str, Any], result: dict | None = None) -> dict:
        result = dict(result or self.unstash(context))
        result.pop("failure", None)
        if event.get("status") == "success":
            return self.on_running(result, event.get("service") or {})
        return self.on_failed(context, result, event.get("message") or f"EAS wait ended: {event!r}")

    def on_running(self, result: dict, service: dict) -> dict:
        if service.get("CurrentVersion") is not None:
            result["version"] = service["CurrentVersion"]
        result["endpoint"] = endpoint_of(service) or result.get("endpoint")
        self.log.info("EAS service %s is Running on version %s.", result.get("service_name"), result.get("version"))
        return result

    def on_failed(self, context: Context, result: dict, message: str) -> dict:
        raise AirflowException(message)

    def _update_landed(self, name: str, wanted: dict, latest_before: int) -> dict | None:
        return update_landed(self.hook, name, wanted, latest_before)


class EasCreateServiceOperator(EasBaseOperator):
    """Create an EAS service from an eascmd service description (``eascmd create``).

    :param service_config: the service JSON (dict or JSON string), with at least ``name``. Templated.
    :param if_exists: ``fail`` (default), ``skip`` (return the existing service) or ``update``
        (UpdateService with this config, merge).
    Returns ``{service_name, region_id, version, endpoint}``.

    ``wait_for_completion``, ``poll_interval``, ``timeout``: see ``EasBaseOperator``;
    ``pai_conn_id``, ``region_id``, ``deferrable``: see ``PaiBaseOperator``.
    """

    template_fields: Sequence[str] = pai_template_fields("service_config")
    template_fields_renderers = {"service_config": "json"}

    def __init__(self, *, service_config: dict | str, if_exists: str = "fail", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if if_exists not in ("fail", "skip", "update"):
            raise PaiParameterError(f"Invalid if_exists={if_exists!r}: use 'fail', 'skip' or 'update'.")
        self.service_config = service_config
        self.if_exists = if_exists

    def _existing(self, name: str) -> dict | None:
        from airflow_provider_pai.hooks.base import PaiApiError

        try:
            return self.hook.describe_service(name)
        except PaiApiError as exc:
            if exc.status_code == 404 or "NotFound" in (exc.code or ""):
                return None
            raise

    def execute(self, context: Context) -> dict:
        config = parse_service_config(self.service_config)
        name = validate_eas_service_name(config.get("name"), "service_config['name']")
        if config.get("model_path", "").startswith("oss://"):
            parse_oss_uri(config["model_path"], param="service_config['model_path']")
        store = get_task_state_store(context)
        result = {"service_name": name, "region_id": self.hook.region_id, "version": None, "endpoint": None}
        existing = self._existing(name)
        created_by_us = store is not None and store.get(CREATE_STATE_KEY) == name
        if existing is None:
            self.log.info("Creating EAS service %s.", name)
            self.hook.create_service(config, is_done=lambda: self._existing(name))
            if store is not None:
                store.set(CREATE_STATE_KEY, name)
        elif created_by_us:
            self.log.info("EAS service %s was created by an earlier try of this task; waiting for it.", name)
        elif self.if_exists == "fail":
            raise AirflowException(
                f"EAS service {name} already exists (Status={existing.get('Status')}, version "
                f"{existing.get('CurrentVersion')}). Use if_exists='skip' to keep it or 'update' to update it."
            )
        elif self.if_exists == "skip":
            self.log.info("EAS service %s exists; if_exists='skip', leaving it as it is.", name)
            self.persist_link(context, name)
            return self.on_running(result, existing)
        else:
            self.log.info("EAS service %s exists; if_exists='update', updating it.", name)
            latest = existing.get("LatestVersion") or 0
            self.hook.update_service(
                name, config, update_type="merge", is_done=lambda: self._update_landed(name, config, latest)
            )
        self.persist_link(context, name)
        service = self.hook.describe_service(name)
        result["version"] = service.get("LatestVersion") or service.get("CurrentVersion")
        result["endpoint"] = endpoint_of(service)
        return self.finish_or_wait(context, name, result["version"], result, newest=True)


class EasModifyServiceOperator(EasBaseOperator):
    """Roll an EAS service onto a new model or config (``eascmd modify -s``) and know what it replaced.

    :param service_name: the service to update. Templated.
    :param model_path: ``oss://`` path of the new model (a shortcut for ``{"model_path": ...}``). Templated.
    :param service_config: partial service JSON (dict or JSON string) merged into the service. Templated.
    :param update_type: ``merge`` (default) or ``replace``.
    :param rollback_on_failure: if the new version fails, put the previous one back before failing.
    Returns ``{service_name, region_id, previous_version, version, model_path, endpoint}``.

    ``wait_for_completion``, ``poll_interval``, ``timeout``: see ``EasBaseOperator``;
    ``pai_conn_id``, ``region_id``, ``deferrable``: see ``PaiBaseOperator``.
    """

    template_fields: Sequence[str] = pai_template_fields("service_name", "model_path", "service_config")
    template_fields_renderers = {"service_config": "json"}

    def __init__(
        self,
        *,
        service_name: str,
        model_path: str | None = None,
        service_config: dict | str | None = None,
        update_type: str = "merge",
        rollback_on_failure: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if update_type not in ("merge", "replace"):
            raise PaiParameterError(f"Invalid update_type={update_type!r}: use 'merge' or 'replace'.")
        if model_path is None and service_config is None:
            raise PaiParameterError("EasModifyServiceOperator needs model_path or service_config (or both).")
        self.service_name = service_name
        self.model_path = model_path
        self.service_config = service_config
        self.update_type = update_type
        self.rollback_on_failure = rollback_on_failure

    def requested_config(self) -> dict:
        config = parse_service_config(self.service_config) if self.service_config is not None else {}
        if self.model_path is not None:
            parse_oss_uri(self.model_path, param="model_path")
            config = {**config, "model_path": self.model_path}
        elif isinstance(config.get("model_path"), str) and config["model_path"].startswith("oss://"):
            parse_oss_uri(config["model_path"], param="service_config['model_path']")
        if not config:
            raise PaiParameterError("Invalid service_config={}: give model_path or a non-empty service_config.")
        return config

    def execute(self, context: Context) -> dict:
        name = validate_eas_service_name(self.service_name)
        wanted = self.requested_config()
        service = self.hook.describe_service(name)
        current, latest = service.get("CurrentVersion"), service.get("LatestVersion") or 0
        store = get_task_state_store(context)
        saved = store.get(DEPLOY_STATE_KEY) if store is not None else None
        if saved and (saved.get("service_name") != name or saved.get("wanted") != wanted):
            saved = None  # a different request (e.g. the DAG changed between tries)
        result = {
            "service_name": name,
            "region_id": self.hook.region_id,
            "previous_version": saved["previous_version"] if saved else current,
            "version": current,
            "model_path": wanted.get("model_path") or current_config(service).get("model_path"),
            "endpoint": endpoint_of(service),
        }
        has_config = config_contains(current_config(service), wanted)
        if saved and latest > saved["latest_before"] and has_config:
            # An earlier try of this task already submitted this update: reattach to it.
            result["version"] = saved.get("target") or latest
            self.log.info("An earlier try already rolled %s onto version %s; waiting for it.", name, result["version"])
        elif has_config and service_progress(service)[0] == "success":
            self.log.info("EAS service %s already serves this config on version %s; nothing to do.", name, current)
            self.persist_link(context, name)
            context["ti"].xcom_push(key=DEPLOY_XCOM_KEY, value=result)
            return result
        else:
            result["version"] = self.submit(context, name, wanted, current, latest)
        self.persist_link(context, name)
        context["ti"].xcom_push(key=DEPLOY_XCOM_KEY, value=result)
        if store is not None:
            store.set(DEPLOY_STATE_KEY, {**self._state(name, wanted, result, latest), "target": result["version"]})
        return self.finish_or_wait(context, name, result["version"], result, newest=True)

    def _state(self, name: str, wanted: dict, result: dict, latest_before: int) -> dict:
        return {"service_name": name, "wanted": wanted, "previous_version": result["previous_version"],
                "latest_before": latest_before}

    def submit(self, context: Context, name: str, wanted: dict, current: int | None, latest: int) -> int | None:
        store = get_task_state_store(context)
        if store is not None:  # written before the update so a crash right after it still reattaches
            store.set(DEPLOY_STATE_KEY, {"service_name": name, "wanted": wanted, "previous_version": current,
                                         "latest_before": latest})
        self.log.info("Updating EAS service %s (serving version %s) with %s.", name, current, sorted(wanted))
        answer = self.hook.update_service(
            name, wanted, update_type=self.update_type, is_done=lambda: self._update_landed(name, wanted, latest)
        )
        if answer.get("Message"):
            self.log.info("UpdateService: %s", answer["Message"])
        after = self.hook.describe_service(name)
        target = after.get("LatestVersion") or latest
        if target > latest + 1:
            # Another update landed alongside ours: EAS does not say which new version is ours, and
            # claiming the newest would report someone else's model as this task's deployment.
            raise AirflowException(
                f"Another update of EAS service {name} landed at the same time as this one: versions "
                f"{latest + 1}..{target} appeared where this task added one, so which one is this task's "
                f"is unknown. Nothing was rolled back; version {after.get('CurrentVersion')} is current. "
                "Deploy one service from one task at a time (an Airflow pool with 1 slot per service)."
            )
        if target == latest:  # no version added (e.g. only scaling changed): wait on what serves
            target = after.get("CurrentVersion")
        return target

    def on_failed(self, context: Context, result: dict, message: str) -> dict:
        previous, name = result.get("previous_version"), result["service_name"]
        if not self.rollback_on_failure or not previous or previous == result.get("version"):
            raise AirflowException(message)
        newest = self.hook.describe_service(name).get("LatestVersion") or 0
        if result.get("version") and newest > result["version"]:
            # Someone deployed after this task: rolling back now would silently undo their update.
            raise AirflowException(
                f"{message}\nNot rolling back: another deploy has moved EAS service {name} on to version "
                f"{newest} since this task's version {result['version']}. Deploy one service from one task "
                "at a time (an Airflow pool with 1 slot per service)."
            )
        self.log.error("%s\nRolling EAS service %s back to version %s.", message, name, previous)
        switch_version(self.hook, name, previous)
        if self.deferrable:
            self.stash(context, {**result, "failure": message})
            self.defer_until_running(name, previous, "rollback_complete", {"result": result, "failure": message})
        try:
            self.wait_running(name, previous)
        except AirflowException as exc:
            raise AirflowException(f"{message}\nThe rollback to version {previous} failed too: {exc}") from None
        raise AirflowException(f"{message}\nRolled back: version {previous} is Running again.")

    def rollback_complete(self, context: Context, event: dict, result: dict | None = None,
                          failure: str | None = None) -> None:
        if result is None:
            result = self.unstash(context)
            failure = result.get("failure")
        failure = failure or f"EAS service {self.service_name} failed to deploy (see the log above)."
        previous = result.get("previous_version")
        if event.get("status") == "success":
            raise AirflowException(f"{failure}\nRolled back: version {previous} is Running again.")
        raise AirflowException(f"{failure}\nThe rollback to version {previous} failed too: {event.get('message')}")


class EasRollbackOperator(EasBaseOperator):
    """Put an EAS service back on an earlier version (``eascmd version``), by default the one a deploy replaced.

    :param service_name: the service to roll back. Templated.
    :param version: the version to serve; default: ``previous_version`` of the EasModifyService
        task ``deploy_task_id``. Templated.
    :param deploy_task_id: the EasModifyServiceOperator task whose deployment to undo. Templated.
    :param force: roll back even if another deploy has moved the service on since ``deploy_task_id``.
    Returns ``{service_name, region_id, previous_version, version, endpoint}``.

    ``wait_for_completion``, ``poll_interval``, ``timeout``: see ``EasBaseOperator``;
    ``pai_conn_id``, ``region_id``, ``deferrable``: see ``PaiBaseOperator``.
    """

    template_fields: Sequence[str] = pai_template_fields("service_name", "version", "deploy_task_id")

    def __init__(
        self,
        *,
        service_name: str,
        version: int | str | None = None,
        deploy_task_id: str | None = None,
        force: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if version is None and deploy_task_id is None:
            raise PaiParameterError("EasRollbackOperator needs version or deploy_task_id (the EasModifyService task).")
        self.service_name = service_name
        self.version = version
        self.deploy_task_id = deploy_task_id
        self.force = force

    def deploy_record(self, context: Context) -> dict | None:
        if not self.deploy_task_id:
            return None
        ti = context["ti"]
        record = ti.xcom_pull(task_ids=self.deploy_task_id)
        if not isinstance(record, dict) or "previous_version" not in record:
            record = ti.xcom_pull(task_ids=self.deploy_task_id, key=DEPLOY_XCOM_KEY)
        if not isinstance(record, dict):
            if self.version not in (None, ""):
                return None
            # With trigger_rule="one_failed" this task also runs when something before the deploy failed:
            # then there is nothing to undo, which is a skip, not a second failure. Logged here too:
            # Airflow shows the skip exception's text only in the collapsed "Post Execute" group.
            reason = (
                f"Nothing to roll back: task {self.deploy_task_id!r} (deploy_task_id) recorded no deployment in "
                "this DAG run (it failed or was skipped before UpdateService). Pass version= to roll back anyway."
            )
            self.log.info("%s", reason)
            raise AirflowSkipException(reason)
        return record

    def target_version(self, record: dict | None) -> int:
        value = self.version if self.version not in (None, "") else (record or {}).get("previous_version")
        try:
            return int(value)
        except (TypeError, ValueError):
            raise PaiParameterError(f"Invalid version={value!r}: expected a service version number, e.g. 1.") from None

    def execute(self, context: Context) -> dict:
        name = validate_eas_service_name(self.service_name)
        record = self.deploy_record(context)
        target = self.target_version(record)
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
            switch_version(self.hook, name, target)
        return self.finish_or_wait(context, name, target, result)
