"""Wait for a PAI-EAS service to reach a status (Running by default), optionally on a given version."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Sequence

from airflow.providers.common.compat.sdk import AirflowException, AirflowFailException, AirflowSensorTimeout

from airflow_provider_pai.links.eas import EasServiceLink
from airflow_provider_pai.mixins.hook import EAS_HOOK
from airflow_provider_pai.sensors.base import PaiBaseSensorOperator, pai_template_fields
from airflow_provider_pai.utils.eas import ServiceWatch, failure_message, judge_with, warning_events
from airflow_provider_pai.utils.ends import WaitTimeout, wait_end
from airflow_provider_pai.utils.validation import (
    EAS_STATUSES,
    is_runtime_value,
    validate_choice,
    validate_eas_service_name,
    validate_positive,
    validate_version,
)

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider_pai.hooks.eas import EasHook


class EasServiceSensor(PaiBaseSensorOperator["EasHook"]):
    """Succeed once ``service_name`` is ``target_status`` (and on ``version`` if given).

    ``Failed`` raises with the service's Warning events (``soft_fail`` turns that, and a
    timeout, into a skip). Modes: poke, reschedule, or ``deferrable=True`` (EasServiceTrigger).

    :param service_name: the EAS service. Templated.
    :param target_status: the DescribeService Status to wait for (``Running``), exactly as EAS spells
        it: checked at DAG parse time unless templated. Templated.
    :param version: the version that must be current (None: any). Templated.

    ``pai_conn_id``, ``region_id`` and ``deferrable``: see ``PaiBaseSensorOperator``.
    """

    hook_class_path = EAS_HOOK
    template_fields: Sequence[str] = pai_template_fields("service_name", "target_status", "version")
    operator_extra_links = (EasServiceLink(),)

    def __init__(
        self,
        *,
        service_name: str,
        target_status: str = "Running",
        version: int | str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        # Checked now (DAG parse time) unless templated: a wrong case would wait out the timeout.
        if not is_runtime_value(target_status):
            validate_choice(target_status, "target_status", EAS_STATUSES, "a DescribeService Status")
        if version not in (None, "") and not is_runtime_value(version):
            validate_version(version)
        if not is_runtime_value(service_name):
            validate_eas_service_name(service_name)
        validate_positive(self.poke_interval, "poke_interval")
        self.service_name = service_name
        self.target_status = target_status
        self.version = version

    def _version(self) -> int | None:
        return None if self.version in (None, "") else validate_version(self.version)

    def _check(self) -> bool:
        service = self.hook.describe_service(self.service_name)
        # one watch per sensor run (poke mode keeps it across pokes: a stall is counted)
        watch = self.__dict__.setdefault("_watch", ServiceWatch(target_status=self.target_status,
                                                                 version=self._version()))
        state, where, _ = watch.observe(service)
        if state == "check":  # Running on another version: did EAS abandon the update? (F-EAS-6)
            state, where = judge_with(watch, self.hook, self.service_name, service)
        self.log.info("EAS service %s: %s", self.service_name, where)
        if state == "failed":
            raise AirflowFailException(
                failure_message(self.service_name, where, warning_events(self.hook, self.service_name))
            )
        return state == "success"

    def poke(self, context: Context) -> bool:
        return self._check()

    def execute(self, context: Context) -> Any:
        validate_eas_service_name(self.service_name)
        validate_choice(self.target_status, "target_status", EAS_STATUSES, "a DescribeService Status")
        self._version()
        EasServiceLink.persist(context, region_id=self.hook.region_id, service_name=self.service_name)
        if not self.deferrable:
            return super().execute(context)
        if self._check():
            return None
        from airflow_provider_pai.triggers.eas import EasServiceTrigger  # the deferred path only

        # The earlier of the sensor timeout and execution_timeout (not applied to deferred tasks by
        # Airflow 3.3): the trigger reports which one ended the wait.
        end_time, cause = wait_end(context, self.timeout)
        self.defer(
            trigger=EasServiceTrigger(
                self.service_name,
                target_status=self.target_status,
                version=self._version(),
                pai_conn_id=self.pai_conn_id,
                region_id=self.region_id,
                poll_interval=self.poke_interval,
                end_time=end_time,
                end_cause=cause,
            ),
            method_name="execute_complete",
            # The trigger reports its own timeout with where the service stood; this is a backstop.
            timeout=timedelta(seconds=max(end_time - time.time(), 0.0) + 5 * self.poke_interval + 60),
        )

    def execute_complete(self, context: Context, event: dict[str, Any]) -> None:
        status = event.get("status")
        if status == "success":
            self.log.info("%s", event.get("message"))
            return None
        if status == "timeout":
            if event.get("cause") == "execution_timeout":
                raise WaitTimeout(f"execution_timeout: {event.get('message')}")  # retried like the worker's
            raise AirflowSensorTimeout(event.get("message"))
        raise AirflowException(event.get("message") or f"EAS sensor ended with {event!r}")
