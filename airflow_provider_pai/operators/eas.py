"""Create, update and roll back PAI-EAS services: the seed's ``eascmd create / modify / version``.

Every operator here submits, persists the console link, then waits in one of two ways that share
``service_progress``: blocking through ``utils.polling.wait_until``, or deferred to
``EasServiceTrigger`` (``execute_complete`` reads the event). What a deploy replaced
(``previous_version``) is kept in XCom and, on Airflow 3.3, in ``task_state_store``, so the
rollback knows its target and a retried deploy reattaches instead of adding a version.
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Sequence

from airflow.providers.common.compat.sdk import AirflowException, AirflowFailException

from airflow_provider_pai.links.eas import EasServiceLink
from airflow_provider_pai.mixins.hook import EAS_HOOK
from airflow_provider_pai.operators._model_source import ModelSourceMixin
from airflow_provider_pai.operators.base import PaiBaseOperator, pai_template_fields
from airflow_provider_pai.utils.eas import (  # noqa: F401  (the config helpers are re-exported: their earlier home)
    TOKEN_KEYS,
    ServiceWatch,
    config_contains,
    current_config,
    describe_or_none,
    eas_schedule,
    endpoint_of,
    failure_message,
    judge_with,
    parse_service_config,
    service_progress,
    switch_version,
    update_landed,
    warning_events,
)
from airflow_provider_pai.utils.ends import WaitTimeout, next_try_follows, stop_on_kill, wait_end
from airflow_provider_pai.utils.polling import PollTimeout, wait_until
from airflow_provider_pai.utils.validation import (
    PaiParameterError,
    is_runtime_value,
    refuse_list,
    validate_eas_service_name,
    validate_model_path,
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
    :param timeout: seconds to wait; then the task fails like any failure: retried while retries are
        left (the retry reattaches to the rollout), else handled as a failed deploy.
    :param retry_on_timeout: ``False`` makes the wait ``timeout`` a hard stop: fail at once without
        the retries left (see docs/timeouts-kills-retries.md).

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
        retry_on_timeout: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.retry_on_timeout = retry_on_timeout
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
            if state == "check":  # Running on another version: did EAS abandon the update? (F-EAS-6)
                state, where = judge_with(watch, self.hook, service_name, service)
            if changed:
                self.log.info("EAS service %s: %s", service_name, where)
            return state != "waiting", changed, (state, where, service)

        try:
            state, where, service = wait_until(poll, eas_schedule(self.poll_interval), timeout=self.timeout)
        except PollTimeout as exc:
            where = exc.last_value[1] if exc.last_value else "no answer"
            raise WaitTimeout(
                f"EAS service {service_name} not Running on version {version} after {exc.waited:.0f} s "
                f"(timeout={self.timeout}); last seen {where}. Raise timeout or check the service events."
            ) from None
        if state == "failed":
            raise AirflowException(self.failure_text(service_name, where))
        return service

    def failure_text(self, service_name: str, where: str) -> str:
        return failure_message(service_name, where, warning_events(self.hook, service_name))

    def defer_until_running(
        self, service_name: str, version: int | None, method_name: str, kwargs: dict, newest: bool = False,
        context: Context | None = None, rollback_to: int | None = None,
    ) -> None:
        from airflow_provider_pai.triggers.eas import EasServiceTrigger  # the deferred path only

        # The trigger ends the wait at the earlier of timeout and execution_timeout (Airflow 3.3 does
        # not apply execution_timeout to a deferred task); ``rollback_to``: what to put back there
        # when no try of this task follows (docs/timeouts-kills-retries.md).
        end_time, cause = wait_end(context or {}, self.timeout)
        final = not next_try_follows((context or {}).get("ti")) or (cause == "timeout" and not self.retry_on_timeout)
        self.defer(
            trigger=EasServiceTrigger(
                service_name,
                version=version,
                newest=newest,
                pai_conn_id=self.pai_conn_id,
                region_id=self.region_id,
                poll_interval=self.poll_interval,
                end_time=end_time,
                end_cause=cause,
                rollback_to=rollback_to if final else None,
            ),
            method_name=method_name,
            kwargs=kwargs,
            # The trigger times out itself with a clear message; this is only the backstop.
            timeout=timedelta(seconds=max(end_time - time.time(), 0.0) + 5 * self.poll_interval + 60),
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
            self.defer_until_running(service_name, version, "execute_complete", {"result": result}, newest=newest,
                                     context=context, rollback_to=self.undo_version(result))
        # on_kill knows what to undo; kept when Airflow's AirflowTaskTimeout passes through, since
        # Airflow calls on_kill after the exception has left execute().
        self._inflight = (context, result)
        try:
            service = self.wait_running(service_name, version, newest=newest)
        except WaitTimeout as exc:
            self._inflight = None
            return self.on_timeout(context, result, str(exc))
        except AirflowException as exc:
            self._inflight = None
            return self.on_failed(context, result, str(exc))
        self._inflight = None
        return self.on_running(result, service)

    # ---- the end of a wait: docs/timeouts-kills-retries.md --------------------------------------

    _inflight: tuple | None = None

    def undo_version(self, result: dict) -> int | None:
        """The version to put back when the wait ends with no try following (a deploy's previous one)."""
        return None

    def on_timeout(self, context: Context, result: dict, message: str) -> dict:
        """The wait ``timeout``: retried (the retry reattaches) unless the last try or a hard stop."""
        if self.retry_on_timeout and next_try_follows(context.get("ti")):
            raise WaitTimeout(f"{message} A retry follows and reattaches to the rollout; nothing was rolled back.")
        try:
            return self.on_failed(context, result, message)
        except AirflowException as exc:
            if not self.retry_on_timeout:
                raise AirflowFailException(str(exc)) from None
            raise

    def on_kill(self) -> None:
        """Put the previous version back when the task is stopped and no try of it follows."""
        if self._inflight is None:
            return
        context, result = self._inflight
        previous = self.undo_version(result)
        if previous is not None and stop_on_kill(context.get("ti"), self.log):
            self.log.info("No try of this task follows: rolling EAS service %s back to version %s.",
                          result["service_name"], previous)
            switch_version(self.hook, result["service_name"], previous)

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
        message = event.get("message") or f"EAS wait ended: {event!r}"
        if event.get("status") == "timeout":
            if event.get("rolled_back") is not None:
                raise (AirflowException if self.retry_on_timeout else AirflowFailException)(
                    f"{message} No try of this task follows: rolled back to version {event['rolled_back']}."
                )
            if event.get("cause") == "execution_timeout":
                if next_try_follows(context.get("ti")):
                    raise WaitTimeout(f"execution_timeout: {message} The retry reattaches to the rollout.")
                return self.on_failed(context, result, f"execution_timeout: {message}")
            return self.on_timeout(context, result, message)
        return self.on_failed(context, result, message)

    def on_running(self, result: dict, service: dict) -> dict:
        self._lineage_result = result  # OpenLineage reads it after the task (in a fork: no XCom calls there)
        if service.get("CurrentVersion") is not None:
            result["version"] = service["CurrentVersion"]
        result["endpoint"] = endpoint_of(service) or result.get("endpoint")
        self.log.info("EAS service %s is Running on version %s.", result.get("service_name"), result.get("version"))
        return result

    def on_failed(self, context: Context, result: dict, message: str) -> dict:
        raise AirflowException(message)

    def get_openlineage_facets_on_complete(self, task_instance):
        """The model in OSS -> the EAS service, the version as the external run (docs/lineage.md)."""
        from airflow_provider_pai.utils.openlineage import model_to_service

        result = getattr(self, "_lineage_result", None) or {}
        name = result.get("service_name") or getattr(self, "service_name", None)
        if not name:
            return None
        region = result.get("region_id") or self.hook.region_id
        return model_to_service(result.get("model_path") or self._lineage_model_path(), region, name,
                                result.get("version"))

    def _lineage_model_path(self) -> str | None:
        config = getattr(self, "service_config", None)
        return config.get("model_path") if isinstance(config, dict) else getattr(self, "model_path", None)

    def _update_landed(self, name: str, wanted: dict, latest_before: int) -> dict | None:
        return update_landed(self.hook, name, wanted, latest_before)


class EasCreateServiceOperator(ModelSourceMixin, EasBaseOperator):
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
        return describe_or_none(self.hook, name)

    def execute(self, context: Context) -> dict:
        self.resolve_model_source()  # model_version / the model is there: before anything changes
        config = check_config(parse_service_config(self.service_config))
        name = validate_eas_service_name(config.get("name"), "service_config['name']")
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


class EasModifyServiceOperator(ModelSourceMixin, EasBaseOperator):
    """Roll an EAS service onto a new model or config (``eascmd modify -s``) and know what it replaced.

    :param service_name: the service to update. Templated.
    :param model_path: the new model (a shortcut for ``{"model_path": ...}``): an ``oss://`` path, or an
        http(s) URL of a TAR, GZ, BZ2 or ZIP package. Templated.
    :param service_config: partial service JSON (dict or JSON string) merged into the service. Templated.
    :param update_type: ``merge`` (default) or ``replace``.
    :param rollback_on_failure: if the new version fails, or the deploy ends for good while waiting
        (a last try's timeout, a user stopping it), put the previous one back.
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
        if model_path is None and service_config is None and self.model_version is None:
            raise PaiParameterError(
                "EasModifyServiceOperator needs model_path or service_config (or both), or model_version.")
        # What is known now is checked now (DAG parse time); templated values once rendered.
        if not is_runtime_value(service_name):
            validate_eas_service_name(service_name)
        if model_path is not None and not is_runtime_value(model_path):
            validate_model_path(model_path)
        if service_config is not None and not is_runtime_value(service_config):
            check_config(parse_service_config(service_config), service_name)
        self.service_name = service_name
        self.model_path = model_path
        self.service_config = service_config
        self.update_type = update_type
        self.rollback_on_failure = rollback_on_failure

    def requested_config(self) -> dict:
        config = parse_service_config(self.service_config) if self.service_config is not None else {}
        config = check_config(config, self.service_name)
        if self.model_path is not None:
            refuse_list(self.model_path, "model_path")
            config = {**config, "model_path": validate_model_path(self.model_path)}
        if not config:
            raise PaiParameterError("Invalid service_config={}: give model_path or a non-empty service_config.")
        return config

    def execute(self, context: Context) -> dict:
        name = validate_eas_service_name(self.service_name)
        self.resolve_model_source()  # model_version / the model is there: before anything changes
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
        elif has_config and store is None and current == latest and service_progress(service)[0] == "waiting":
            # Below Airflow 3.3 (no task_state_store): the newest version already carries this config
            # and is rolling out, most likely from an earlier try of this task: wait for it instead
            # of updating again (docs/timeouts-kills-retries.md). What it replaced is not known here.
            self.log.info("EAS service %s is already rolling out this config on version %s; waiting for it.",
                          name, current)
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

    def undo_version(self, result: dict) -> int | None:
        previous = result.get("previous_version")
        if not self.rollback_on_failure or not previous or previous == result.get("version"):
            return None
        return previous

    def on_failed(self, context: Context, result: dict, message: str) -> dict:
        previous, name = result.get("previous_version"), result["service_name"]
        if not self.rollback_on_failure or not previous or previous == result.get("version"):
            raise AirflowException(message)
        service = self.hook.describe_service(name)
        if service.get("CurrentVersion") == previous:
            # EAS abandoned the update and kept the old version (F-EAS-6): there is nothing to undo,
            # and UpdateServiceVersion only takes versions below the current one (F-EAS-8).
            raise AirflowException(f"{message}\nNot rolling back: EAS service {name} is still on version "
                                   f"{previous}, the version this task replaced.")
        newest = service.get("LatestVersion") or 0
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
            self.defer_until_running(name, previous, "rollback_complete", {"result": result, "failure": message},
                                     context=context)
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


def check_config(config: dict, service_name: Any = None) -> dict:
    """A service description's ``model_path`` (oss:// or an http(s) package) and, for an update, its name."""
    path = config.get("model_path")
    if path is not None and not is_runtime_value(path):
        refuse_list(path, "service_config['model_path']")
        validate_model_path(path, "service_config['model_path']")
    other = config.get("name")
    if (other is not None and isinstance(service_name, str) and not is_runtime_value(service_name)
            and not is_runtime_value(other) and other != service_name):
        raise PaiParameterError(
            f"Invalid service_config['name']={other!r}: this task updates EAS service {service_name!r} "
            f"(service_name), and UpdateService with another name would not be an update of it; remove 'name' "
            f"or make it {service_name!r}."
        )
    return config


def __getattr__(name: str) -> Any:
    """``EasRollbackOperator`` lives in its own module (this one is long enough); importable from here."""
    if name == "EasRollbackOperator":
        from airflow_provider_pai.operators.eas_rollback import EasRollbackOperator

        return EasRollbackOperator
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["EasBaseOperator", "EasCreateServiceOperator", "EasModifyServiceOperator", "EasRollbackOperator"]
