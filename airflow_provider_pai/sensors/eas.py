"""Wait for a PAI-EAS service to reach a status (Running by default), optionally on a given version."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Sequence

from airflow.providers.common.compat.sdk import AirflowException, AirflowFailException, AirflowSensorTimeout

from airflow_provider_pai.mixins.eas import EasServiceWaitMixin
from airflow_provider_pai.sensors.base import PaiBaseSensorOperator, pai_template_fields
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


class EasServiceSensor(EasServiceWaitMixin, PaiBaseSensorOperator["EasHook"]):
    """Succeed once ``service_name`` is ``target_status`` (and on ``version`` if given).

    ``Failed`` raises with the service's Warning events (``soft_fail`` turns that, and a
    timeout, into a skip). Modes: poke, reschedule, or ``deferrable=True`` (EasServiceTrigger).

    :param service_name: the EAS service. Templated.
    :param target_status: the DescribeService Status to wait for (``Running``), exactly as EAS spells
        it: checked at DAG parse time unless templated. Templated.
    :param version: the version that must be current (None: any). Templated.

    ``pai_conn_id``, ``region_id`` and ``deferrable``: see ``PaiBaseSensorOperator``.
    """

    template_fields: Sequence[str] = pai_template_fields("service_name", "target_status", "version")
    # A sensor's timeout is never retried (AirflowSensorTimeout): the end of its wait is final.
    retry_on_timeout = False

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
        from airflow_provider_pai.utils.eas import ServiceWatch

        # one watch per sensor run (poke mode keeps it across pokes: a stall is counted)
        watch = self.__dict__.setdefault("_watch", ServiceWatch(target_status=self.target_status,
                                                                 version=self._version()))
        state, where, _, _ = self.poll_service(watch, self.service_name)
        self.log.info("EAS service %s: %s", self.service_name, where)
        if state == "failed":
            raise AirflowFailException(self.failure_text(self.service_name, where))
        return state == "success"

    def poke(self, context: Context) -> bool:
        return self._check()

    def execute(self, context: Context) -> Any:
        validate_eas_service_name(self.service_name)
        validate_choice(self.target_status, "target_status", EAS_STATUSES, "a DescribeService Status")
        self._version()
        self.persist_link(context, self.service_name)
        if not self.deferrable:
            return super().execute(context)
        if self._check():
            return None
        # The earlier of the sensor timeout and execution_timeout: the trigger reports which one ended it.
        self.defer_wait(context, self.service_name, method_name="execute_complete", poll_interval=self.poke_interval,
                        timeout=self.timeout, version=self._version(), target_status=self.target_status)

    def execute_complete(self, context: Context, event: dict[str, Any]) -> None:
        from airflow_provider_pai.utils.ends import WaitTimeout

        status = event.get("status")
        if status == "success":
            self.log.info("%s", event.get("message"))
            return None
        if status == "timeout":
            if event.get("cause") == "execution_timeout":
                raise WaitTimeout(f"execution_timeout: {event.get('message')}")  # retried like the worker's
            raise AirflowSensorTimeout(event.get("message"))
        raise AirflowException(event.get("message") or f"EAS sensor ended with {event!r}")
