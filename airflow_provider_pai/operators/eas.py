"""Create, update and roll back PAI-EAS services: the seed's ``eascmd create / modify / version``.

Every operator here submits, persists the console link, then waits with ``mixins.eas.EasDeployWaitMixin``:
blocking, or deferred to ``EasServiceTrigger`` (``execute_complete`` reads the event); both take
the step ``utils.eas.after_describe_service`` after each DescribeService. What a deploy replaced
(``previous_version``) is kept in XCom and, on Airflow 3.3, in ``task_state_store``, so the
rollback knows its target and a retried deploy reattaches instead of adding a version.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any, Sequence

from airflow.providers.common.compat.sdk import AirflowException

from airflow_provider_pai.mixins.eas import PENDING_XCOM_KEY, EasDeployWaitMixin  # noqa: F401  (re-exported)
from airflow_provider_pai.mixins.model_source import ModelSourceMixin
from airflow_provider_pai.operators.base import PaiBaseOperator, pai_template_fields
from airflow_provider_pai.utils.validation import (
    PaiParameterError,
    is_runtime_value,
    refuse_list,
    validate_eas_service_name,
    validate_model_path,
)
from airflow_provider_pai.version_compat import get_task_state_store

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider_pai.hooks.eas import EasHook

    # for __all__ and type checkers; at run time __getattr__ below imports it on first use
    from airflow_provider_pai.operators.eas_rollback import EasRollbackOperator


# task_state_store key: survives retries of the same task instance (XCom does not on Airflow 3).
DEPLOY_STATE_KEY = "eas_deploy"
CREATE_STATE_KEY = "eas_created"


class EasBaseOperator(EasDeployWaitMixin, PaiBaseOperator["EasHook"]):
    """Shared parameters of the EAS operators; the submit-then-wait is ``mixins.eas.EasDeployWaitMixin``.

    :param wait_for_completion: wait until the service is Running on the new version.
    :param poll_interval: seconds between DescribeService calls while waiting.
    :param timeout: seconds to wait; then the task fails like any failure: retried while retries are
        left (the retry reattaches to the rollout), else handled as a failed deploy.
    :param retry_on_timeout: ``False`` makes the wait ``timeout`` a hard stop: fail at once without
        the retries left (see docs/timeouts-kills-retries.md).

    ``pai_conn_id``, ``region_id`` and ``deferrable`` (wait in the triggerer with
    ``EasServiceTrigger``): see ``PaiBaseOperator``.
    """

    template_fields: Sequence[str] = pai_template_fields()

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
        self.configure_wait(wait_for_completion, poll_interval, timeout, retry_on_timeout)


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
        return self.hook.describe_or_none(name)

    def execute(self, context: Context) -> dict:
        from airflow_provider_pai.utils.eas import endpoint_of, parse_service_config

        self.resolve_model_source()  # model_version / the model is there: before anything changes
        config = check_config(parse_service_config(self.service_config))
        name = validate_eas_service_name(config.get("name"), "service_config['name']")
        store = get_task_state_store(context)
        result: dict[str, Any] = {"service_name": name, "region_id": self.hook.region_id, "version": None,
                                  "endpoint": None}
        existing = self._existing(name)
        created_by_us = store is not None and store.get(CREATE_STATE_KEY) == name
        if existing is None:
            self.log.info("Creating EAS service %s.", name)
            self.hook.create_service(config, is_done=partial(self.hook.describe_or_none, name))
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
                name, config, update_type="merge", is_done=partial(self.hook.update_landed, name, config, latest)
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
            from airflow_provider_pai.utils.eas import parse_service_config  # only tasks given a config

            check_config(parse_service_config(service_config), service_name)
        self.service_name = service_name
        self.model_path = model_path
        self.service_config = service_config
        self.update_type = update_type
        self.rollback_on_failure = rollback_on_failure

    def requested_config(self) -> dict:
        from airflow_provider_pai.utils.eas import parse_service_config

        config = parse_service_config(self.service_config) if self.service_config is not None else {}
        config = check_config(config, self.service_name)
        if self.model_path is not None:
            refuse_list(self.model_path, "model_path")
            config = {**config, "model_path": validate_model_path(self.model_path)}
        if not config:
            raise PaiParameterError("Invalid service_config={}: give model_path or a non-empty service_config.")
        return config

    def execute(self, context: Context) -> dict:
        from airflow_provider_pai.utils.eas import (
            DEPLOY_XCOM_KEY,
            config_contains,
            current_config,
            endpoint_of,
            service_progress,
        )

        name = validate_eas_service_name(self.service_name)
        self.resolve_model_source()  # model_version / the model is there: before anything changes
        wanted = self.requested_config()
        service = self.hook.describe_service(name)
        current, latest = service.get("CurrentVersion"), service.get("LatestVersion") or 0
        store = get_task_state_store(context)
        saved = store.get(DEPLOY_STATE_KEY) if store is not None else None
        if saved and (saved.get("service_name") != name or saved.get("wanted") != wanted):
            saved = None  # a different request (e.g. the DAG changed between tries)
        result: dict[str, Any] = {
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
            name, wanted, update_type=self.update_type, is_done=partial(self.hook.update_landed, name, wanted, latest)
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
        self.hook.switch_version(name, previous)
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


# The config helpers of ``utils.eas``, re-exported from here (their earlier home): imported on first
# access, so that a DAG file importing this module does not load ``utils.eas``.
_FROM_UTILS_EAS = frozenset({
    "DEPLOY_XCOM_KEY", "TOKEN_KEYS", "ServiceWatch", "config_contains", "current_config", "eas_schedule",
    "endpoint_of", "parse_service_config", "service_progress",
})


def __getattr__(name: str) -> Any:
    """``EasRollbackOperator`` lives in its own module (this one is long enough); importable from here
    as DESIGN.md names it. That module imports nothing of this one: what both use is below them."""
    if name == "EasRollbackOperator":
        from airflow_provider_pai.operators.eas_rollback import EasRollbackOperator

        return EasRollbackOperator
    if name in _FROM_UTILS_EAS:
        from airflow_provider_pai.utils import eas

        return getattr(eas, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["EasBaseOperator", "EasCreateServiceOperator", "EasModifyServiceOperator", "EasRollbackOperator"]
