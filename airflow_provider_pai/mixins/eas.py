"""The one wait on a PAI-EAS service, shared by the EAS operators (create, modify, rollback, the
canary releases) and ``EasServiceSensor``; ``EasServiceTrigger`` is its async twin.

Each poll is one DescribeService, then the pure step ``utils.eas.after_describe_service`` says what
it means and whether the service's evidence must be fetched (``EasHook.rollout_evidence``). How
the wait ends is ``utils/ends.py``'s one policy (docs/timeouts-kills-retries.md): whether an end is
final is ``wait_is_final`` with the task class's ``retry_on_timeout`` (a class attribute on the
sensor, a parameter on the operators), never an inspection of the task's type.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from airflow.providers.common.compat.sdk import AirflowException, AirflowFailException

from airflow_provider_pai.links.eas import EasServiceLink
from airflow_provider_pai.mixins.hook import EAS_HOOK
from airflow_provider_pai.utils.validation import validate_positive

if TYPE_CHECKING:
    from collections.abc import Collection

    from airflow.sdk import BaseOperatorLink, Context
    from airflow.sdk.types import Logger

    from airflow_provider_pai.hooks.eas import EasHook
    from airflow_provider_pai.utils.eas import ServiceWatch

# XCom key of the deferred wait's pending result: `airflow dags test` (3.3) resumes with only
# {"event": ...}, dropping the defer kwargs; the triggerer keeps them.
PENDING_XCOM_KEY = "eas_pending"


class EasServiceWaitMixin:
    """One poll of a service, the failure text, and the deferral to ``EasServiceTrigger``.

    The host provides ``hook``, ``log``, ``pai_conn_id``, ``region_id`` and ``defer``.
    """

    hook_class_path = EAS_HOOK
    operator_extra_links: Collection[BaseOperatorLink] = (EasServiceLink(),)
    # Is a wait's own timeout retried? False ends the task for good at its timeout (the end is
    # final: what the wait must undo is undone there). Operators set it from their parameter.
    retry_on_timeout: bool = True

    if TYPE_CHECKING:
        hook: EasHook
        pai_conn_id: str
        region_id: str | None

        @property
        def log(self) -> Logger: ...

        def defer(self, *, trigger: Any, method_name: str, kwargs: dict | None = None, timeout: Any = None) -> Any: ...

    def persist_link(self, context: Context, service_name: str) -> None:
        EasServiceLink.persist(context=context, region_id=self.hook.region_id, service_name=service_name)

    def poll_service(self, watch: ServiceWatch, service_name: str) -> tuple[str, str, bool, dict]:
        """One DescribeService and its step: ``(state, where, changed, service)``; on ``check``
        (Running on another version: did EAS abandon the update? F-EAS-6) with the evidence weighed."""
        from airflow_provider_pai.utils.eas import after_describe_service

        service = self.hook.describe_service(service_name)
        step = after_describe_service(watch, service)
        state, where = step.state, step.where
        if step.evidence:
            state, where = watch.judge(service, *self.hook.rollout_evidence(service_name))
        return state, where, step.changed, service

    def failure_text(self, service_name: str, where: str) -> str:
        from airflow_provider_pai.utils.eas import failure_message, warning_text

        return failure_message(service_name, where, warning_text(self.hook.warning_events(service_name)))

    def defer_wait(
        self, context: Context | None, service_name: str, *, method_name: str, poll_interval: float,
        timeout: float | None, version: int | None = None, newest: bool = False, target_status: str = "Running",
        rollback_to: int | None = None, kwargs: dict | None = None,
    ) -> None:
        """Defer to ``EasServiceTrigger``, which ends the wait at the earlier of ``timeout`` and
        execution_timeout (Airflow 3.3 does not apply execution_timeout to a deferred task) and
        puts ``rollback_to`` back there if that end is final (docs/timeouts-kills-retries.md)."""
        from airflow_provider_pai.triggers.eas import EasServiceTrigger  # the deferred path only
        from airflow_provider_pai.utils.ends import defer_backstop, wait_end, wait_is_final

        context = context or {}
        end_time, cause = wait_end(context, timeout)
        final = wait_is_final(context.get("ti"), cause, self.retry_on_timeout)
        self.defer(
            trigger=EasServiceTrigger(
                service_name,
                target_status=target_status,
                version=version,
                newest=newest,
                pai_conn_id=self.pai_conn_id,
                region_id=self.region_id,
                poll_interval=poll_interval,
                end_time=end_time,
                end_cause=cause,
                rollback_to=rollback_to if final else None,
            ),
            method_name=method_name,
            kwargs=kwargs,
            timeout=defer_backstop(end_time, poll_interval),
        )


class EasDeployWaitMixin(EasServiceWaitMixin):
    """The operators' submit-then-wait: wait blocking or deferred until Running on a version, and
    the end of that wait (timeout, kill, failure, rollback target). The canary's traffic wait too.

    The operator calls ``configure_wait`` from its ``__init__`` with its wait parameters.
    """

    wait_for_completion: bool = True
    poll_interval: float = 15.0
    timeout: float = 1800.0
    _inflight: tuple | None = None

    if TYPE_CHECKING:
        deferrable: bool
        task_id: str

    def configure_wait(self, wait_for_completion: bool, poll_interval: float, timeout: float,
                       retry_on_timeout: bool) -> None:
        self.retry_on_timeout = retry_on_timeout
        self.wait_for_completion = wait_for_completion
        self.poll_interval = validate_positive(poll_interval, "poll_interval")
        self.timeout = validate_positive(timeout, "timeout")

    # ---- waiting -------------------------------------------------------------------------------

    def _wait(self, poll: Callable[[], tuple[bool, bool, Any]], poll_interval: float) -> Any:
        from airflow_provider_pai.utils.eas import eas_schedule
        from airflow_provider_pai.utils.polling import wait_until

        return wait_until(poll, eas_schedule(poll_interval), timeout=self.timeout)

    def wait_running(self, service_name: str, version: int | None, newest: bool = False) -> dict:
        """Block until Running on ``version`` with all instances ready; raise with events on Failed."""
        from airflow_provider_pai.utils.eas import ServiceWatch
        from airflow_provider_pai.utils.ends import WaitTimeout
        from airflow_provider_pai.utils.polling import PollTimeout

        watch = ServiceWatch(version=version, newest=newest)

        def poll():
            state, where, changed, service = self.poll_service(watch, service_name)
            if changed:
                self.log.info("EAS service %s: %s", service_name, where)
            return state != "waiting", changed, (state, where, service)

        try:
            state, where, service = self._wait(poll, self.poll_interval)
        except PollTimeout as exc:
            where = exc.last_value[1] if exc.last_value else "no answer"
            raise WaitTimeout(
                f"EAS service {service_name} not Running on version {version} after {exc.waited:.0f} s "
                f"(timeout={self.timeout}); last seen {where}. Raise timeout or check the service events."
            ) from None
        if state == "failed":
            raise AirflowException(self.failure_text(service_name, where))
        return service

    def wait_traffic(self, targets: dict[str, tuple[str, int]]) -> dict[str, dict]:
        """Block until every member of ``targets`` shows its (TrafficState, Weight) in DescribeService."""

        from airflow_provider_pai.utils.eas_canary import traffic_of
        from airflow_provider_pai.utils.polling import PollTimeout

        def poll():
            seen = {name: traffic_of(self.hook.describe_service(name)) for name in targets}
            return all(seen[n] == t for n, t in targets.items()), False, seen

        try:
            seen = self._wait(poll, min(self.poll_interval, 5.0))
        except PollTimeout as exc:
            raise AirflowException(
                f"The traffic change {targets} did not take effect within {self.timeout:.0f} s (timeout); last seen "
                f"{exc.last_value}. Check the services' events; the change may still land."
            ) from None
        self.log.info("Traffic in effect: %s.", ", ".join(f"{n}: {s} weight {w}" for n, (s, w) in seen.items()))
        return {name: {"traffic_state": s, "weight": w} for name, (s, w) in seen.items()}

    def defer_until_running(
        self, service_name: str, version: int | None, method_name: str, kwargs: dict, newest: bool = False,
        context: Context | None = None, rollback_to: int | None = None,
    ) -> None:
        self.defer_wait(context, service_name, method_name=method_name, poll_interval=self.poll_interval,
                        timeout=self.timeout, version=version, newest=newest, rollback_to=rollback_to, kwargs=kwargs)

    def finish_or_wait(
        self, context: Context, service_name: str, version: int | None, result: dict, newest: bool = False
    ) -> dict:
        """Return ``result`` once Running on ``version``: waits blocking, or defers.

        ``newest``: ``version`` is the one this task just deployed (see ``utils.eas.service_progress``).
        """
        from airflow_provider_pai.hooks.errors import PaiApiError
        from airflow_provider_pai.utils.eas import ServiceWatch, after_describe_service
        from airflow_provider_pai.utils.ends import WaitTimeout

        if not self.wait_for_completion:
            return result
        if self.deferrable:
            service = self.hook.describe_service(service_name)
            # one look before deferring; a ``check`` is judged by the trigger, over several polls
            state, where, _, _ = after_describe_service(ServiceWatch(version=version, newest=newest), service)
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
        except PaiApiError as exc:  # the wait could not see the rollout: not evidence that it failed
            self._inflight = None
            return self.on_unseen(context, result, str(exc))
        except AirflowException as exc:
            self._inflight = None
            return self.on_failed(context, result, str(exc))
        self._inflight = None
        return self.on_running(result, service)

    # ---- the end of a wait: docs/timeouts-kills-retries.md --------------------------------------

    def undo_version(self, result: dict) -> int | None:
        """The version to put back when the wait ends with no try following (a deploy's previous one)."""
        return None

    def on_timeout(self, context: Context, result: dict, message: str) -> dict:
        """The wait ``timeout``: retried (the retry reattaches) unless the end is final."""
        from airflow_provider_pai.utils.ends import WaitTimeout, wait_is_final

        if not wait_is_final(context.get("ti"), "timeout", self.retry_on_timeout):
            raise WaitTimeout(f"{message} A retry follows and reattaches to the rollout; nothing was rolled back.")
        try:
            return self.on_failed(context, result, message)
        except AirflowException as exc:
            if not self.retry_on_timeout:
                raise AirflowFailException(str(exc)) from None
            raise

    def on_kill(self) -> None:
        """Put the previous version back when the task is stopped and no try of it follows."""
        from airflow_provider_pai.utils.ends import stop_on_kill

        if self._inflight is None:
            return
        context, result = self._inflight
        previous = self.undo_version(result)
        if previous is not None and stop_on_kill(context.get("ti"), self.log):
            self.log.info("No try of this task follows: rolling EAS service %s back to version %s.",
                          result["service_name"], previous)
            self.hook.switch_version(result["service_name"], previous)

    def stash(self, context: Context, result: dict) -> None:
        context["ti"].xcom_push(key=PENDING_XCOM_KEY, value=result)

    def unstash(self, context: Context) -> dict:
        value = context["ti"].xcom_pull(task_ids=self.task_id, key=PENDING_XCOM_KEY)
        return dict(value) if isinstance(value, dict) else {}

    def execute_complete(self, context: Context, event: dict[str, Any], result: dict | None = None) -> dict:
        from airflow_provider_pai.utils.ends import WaitTimeout, next_try_follows

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
        if event.get("status") == "error":
            return self.on_unseen(context, result, message)
        return self.on_failed(context, result, message)

    def on_unseen(self, context: Context, result: dict, message: str) -> dict:
        """The wait could not see the rollout (e.g. throttling outlasted the retries), blocking or in
        the trigger: that is no evidence it failed, so with a retry to follow nothing is undone and
        the retry reattaches; on the last try the end is final, as a failure."""
        from airflow_provider_pai.utils.ends import next_try_follows

        if next_try_follows(context.get("ti")):
            raise AirflowException(f"{message} How the rollout went is not known; a retry follows and "
                                   "reattaches to it: nothing was rolled back.")
        return self.on_failed(context, result, message)

    def on_running(self, result: dict, service: dict) -> dict:
        from airflow_provider_pai.utils.eas import endpoint_of

        self._lineage_result = result  # OpenLineage reads it after the task (in a fork: no XCom calls there)
        if service.get("CurrentVersion") is not None:
            result["version"] = service["CurrentVersion"]
        result["endpoint"] = endpoint_of(service) or result.get("endpoint")
        self.log.info("EAS service %s is Running on version %s.", result.get("service_name"), result.get("version"))
        return result

    def on_failed(self, context: Context, result: dict, message: str) -> dict:
        raise AirflowException(message)

    # ---- lineage -------------------------------------------------------------------------------

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
