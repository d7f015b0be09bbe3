"""Create, update and roll back PAI-EAS services: the seed's ``eascmd create / modify / version``.

Every operator here submits, persists the console link, then waits in one of two ways that share
``service_progress``: blocking through ``utils.polling.wait_until``, or deferred to
``EasServiceTrigger`` (``execute_complete`` reads the event). What a deploy replaced
(``previous_version``) is kept in XCom and, on Airflow 3.3, in ``task_state_store``, so the
rollback knows its target and a retried deploy reattaches instead of adding a version.
"""

from __future__ import annotations

import json
import time
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any, NoReturn, Sequence

from airflow.configuration import conf
from airflow.providers.common.compat.sdk import (
    AirflowException,
    AirflowFailException,
    AirflowSkipException,
    BaseOperator,
)

from airflow_provider_pai.links.eas import EasServiceLink
from airflow_provider_pai.triggers.eas import (
    EasServiceTrigger,
    eas_schedule,
    failure_message,
    service_progress,
    warning_text,
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
    validate_version,
)
from airflow_provider_pai.utils.xcom import NEVER_RAN, UpstreamError, describe, upstream_records, upstream_state
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


def parse_service_config(value: Any, param: str = "service_config") -> dict:
    """A service description (eascmd JSON) given as a dict or a JSON string."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError as exc:
            raise PaiParameterError(f"Invalid {param}: not valid JSON ({exc}); give a dict or a JSON object.") from None
    if not isinstance(value, dict):
        raise PaiParameterError(f"Invalid {param}={value!r}: expected a dict or a JSON object string.")
    return value


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


def current_config(service: dict) -> dict:
    """DescribeService's ServiceConfig (a JSON string on the wire) as a dict."""
    raw = service.get("ServiceConfig")
    if isinstance(raw, dict):
        return raw
    try:
        parsed = json.loads(raw or "{}")
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


# Keys about the access token, not the deployment: EAS does not echo them in ServiceConfig.
TOKEN_KEYS = ("token", "generate_token")


def config_contains(current: dict, wanted: dict) -> bool:
    """True if every key of ``wanted`` has that value in ``current`` (dicts compared key by key)."""
    for key, value in wanted.items():
        if key in TOKEN_KEYS:
            continue
        if isinstance(value, dict) and isinstance(current.get(key), dict):
            if not config_contains(current[key], value):
                return False
        elif current.get(key) != value:
            return False
    return True


def endpoint_of(service: dict) -> str | None:
    return service.get("InternetEndpoint") or service.get("IntranetEndpoint")


def switch_version(hook: EasHook, name: str, version: int) -> dict:
    """UpdateServiceVersion; a retry after a lost answer first checks whether the switch happened."""

    def landed() -> dict | None:
        if hook.describe_service(name).get("CurrentVersion") == version:
            return {"Message": f"{name} is already on version {version}"}
        return None

    return hook.update_service_version(name, version, is_done=landed)


class EasBaseOperator(BaseOperator):
    """Shared parameters and the one submit-then-wait pattern of the EAS operators."""

    operator_extra_links = (EasServiceLink(),)

    def __init__(
        self,
        *,
        pai_conn_id: str = "pai_default",
        region_id: str | None = None,
        wait_for_completion: bool = True,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        poll_interval: float = 15.0,
        timeout: float = 1800.0,
        retry_on_timeout: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.retry_on_timeout = retry_on_timeout
        self.pai_conn_id = pai_conn_id
        self.region_id = region_id
        self.wait_for_completion = wait_for_completion
        self.deferrable = deferrable
        self.poll_interval = validate_positive(poll_interval, "poll_interval")
        self.timeout = validate_positive(timeout, "timeout")

    @cached_property
    def hook(self) -> EasHook:
        from airflow_provider_pai.hooks.eas import EasHook

        return EasHook(pai_conn_id=self.pai_conn_id, region_id=self.region_id)

    def persist_link(self, context: Context, service_name: str) -> None:
        EasServiceLink.persist(context=context, region_id=self.hook.region_id, service_name=service_name)

    def wait_running(self, service_name: str, version: int | None, newest: bool = False) -> dict:
        """Block until Running on ``version`` with all instances ready; raise with events on Failed."""
        last = {"where": ""}

        def poll():
            service = self.hook.describe_service(service_name)
            state, where = service_progress(service, version=version, newest=newest)
            changed = where != last["where"]
            if changed:
                self.log.info("EAS service %s: %s", service_name, where)
                last["where"] = where
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
        try:
            events = warning_text(self.hook.describe_service_events(service_name, event_type="Warning"))
        except Exception as exc:  # the failure matters more than its events
            events = f"  (could not read the service events: {exc})"
        return failure_message(service_name, where, events)

    def defer_until_running(
        self, service_name: str, version: int | None, method_name: str, kwargs: dict, newest: bool = False,
        context: Context | None = None, rollback_to: int | None = None,
    ) -> None:
        # The trigger ends the wait at the earlier of timeout and execution_timeout (Airflow 3.3 does
        # not apply execution_timeout to a deferred task); ``rollback_to``: what to put back there
        # when no try follows (docs/timeouts-kills-retries.md).
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
                timeout=max(end_time - time.time(), 0.0),
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
                                     context=context, rollback_to=self.undo_at_end(context, result))
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

    def undo_at_end(self, context: Context, result: dict) -> int | None:
        """The version to put back if a deferred wait ends with no try following (Modify only)."""
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

    def undo_on_kill(self, context: Context, result: dict) -> None:
        """What ``on_kill`` undoes when no try follows (EasModifyServiceOperator: the deploy)."""

    def on_kill(self) -> None:
        inflight = self._inflight
        if inflight is None:
            return
        context, result = inflight
        if stop_on_kill(context.get("ti"), self.log):
            self.undo_on_kill(context, result)

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
        if service.get("CurrentVersion") is not None:
            result["version"] = service["CurrentVersion"]
        result["endpoint"] = endpoint_of(service) or result.get("endpoint")
        self.log.info("EAS service %s is Running on version %s.", result.get("service_name"), result.get("version"))
        return result

    def on_failed(self, context: Context, result: dict, message: str) -> dict:
        raise AirflowException(message)

    def _update_landed(self, name: str, wanted: dict, latest_before: int) -> dict | None:
        """For the retry policy: did an UpdateService whose answer was lost take effect anyway?"""
        service = self.hook.describe_service(name)
        if (service.get("LatestVersion") or 0) > latest_before and config_contains(current_config(service), wanted):
            return {"Message": f"update of {name} already took effect (version {service.get('LatestVersion')})"}
        return None


class EasCreateServiceOperator(EasBaseOperator):
    """Create an EAS service from an eascmd service description (``eascmd create``).

    :param service_config: the service JSON (dict or JSON string), with at least ``name``.
    :param if_exists: ``fail`` (default), ``skip`` (return the existing service) or ``update``
        (UpdateService with this config, merge).
    Returns ``{service_name, region_id, version, endpoint}``.
    """

    template_fields: Sequence[str] = ("service_config",)
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


class EasModifyServiceOperator(EasBaseOperator):
    """Roll an EAS service onto a new model or config (``eascmd modify -s``) and know what it replaced.

    :param service_name: the service to update.
    :param model_path: ``oss://`` path of the new model (a shortcut for ``{"model_path": ...}``).
    :param service_config: partial service JSON (dict or JSON string) merged into the service.
    :param update_type: ``merge`` (default) or ``replace``.
    :param rollback_on_failure: if the new version fails, put the previous one back before failing.
    Returns ``{service_name, region_id, previous_version, version, model_path, endpoint}``.
    """

    template_fields: Sequence[str] = ("service_name", "model_path", "service_config")
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

    def undo_at_end(self, context: Context, result: dict) -> int | None:
        previous = result.get("previous_version")
        if not self.rollback_on_failure or not previous or previous == result.get("version"):
            return None
        return previous

    def undo_on_kill(self, context: Context, result: dict) -> None:
        previous = self.undo_at_end(context, result)
        if previous is not None:
            self.log.info("No try of this task follows: rolling EAS service %s back to version %s.",
                          result["service_name"], previous)
            switch_version(self.hook, result["service_name"], previous)

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


class EasRollbackOperator(EasBaseOperator):
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
    """

    template_fields: Sequence[str] = ("service_name", "version", "deploy_task_id")

    def __init__(
        self,
        *,
        service_name: str | None = None,
        version: int | str | None = None,
        deploy_task_id: str | None = None,
        force: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
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

    def _where(self, up: Any) -> str:
        return f"task {self.deploy_task_id!r}" + (f" (map index {up.map_index})" if up.map_index >= 0 else "")

    def _nothing_recorded(self, context: Context, where: str, map_index: int) -> NoReturn:
        state = upstream_state(context, self.deploy_task_id, map_index)
        if state in NEVER_RAN:
            # Established: the deploy never ran its execute, so it deployed nothing.
            raise AirflowSkipException(
                f"Nothing to roll back: {where} (deploy_task_id) never ran (state {state}), so it deployed nothing."
            )
        raise UpstreamError(
            f"{where} (deploy_task_id) recorded no deployment: found None in XCom (its state: {state or 'unknown'}). "
            "It failed before UpdateService, or is not an EasModifyServiceOperator. Nothing was rolled back; "
            "pass version= to roll back to a given version."
        )

    def deploy_targets(self, context: Context) -> list[tuple[str, dict]]:
        """[(service, deploy record)] this task must undo, from the deploy task's XCom."""
        ret = upstream_records(context, self.deploy_task_id)
        pushed = upstream_records(context, self.deploy_task_id, key=DEPLOY_XCOM_KEY)
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
        return self.finish_or_wait(context, name, target, result) if wait else result


def is_deploy_record(value: Any) -> bool:
    """What EasModifyServiceOperator records: a dict naming the service and the version it replaced."""
    return isinstance(value, dict) and isinstance(value.get("service_name"), str) and "previous_version" in value
