"""Wait for a PAI-EAS service to reach a status (Running by default), optionally on a given version."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any, Sequence

from airflow.providers.common.compat.sdk import AirflowException, AirflowFailException, AirflowSensorTimeout

from airflow_provider_pai.links.eas import EasServiceLink
from airflow_provider_pai.mixins.hook import EAS_HOOK
from airflow_provider_pai.sensors.base import PaiBaseSensorOperator, pai_template_fields
from airflow_provider_pai.utils.eas import failure_message, service_progress, warning_events
from airflow_provider_pai.utils.polling import deadline
from airflow_provider_pai.utils.validation import validate_eas_service_name

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider_pai.hooks.eas import EasHook


class EasServiceSensor(PaiBaseSensorOperator["EasHook"]):
    """Succeed once ``service_name`` is ``target_status`` (and on ``version`` if given).

    ``Failed`` raises with the service's Warning events (``soft_fail`` turns that, and a
    timeout, into a skip). Modes: poke, reschedule, or ``deferrable=True`` (EasServiceTrigger).

    :param service_name: the EAS service. Templated.
    :param target_status: the status to wait for (``Running``). Templated.
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
        self.service_name = service_name
        self.target_status = target_status
        self.version = version

    def _version(self) -> int | None:
        if self.version in (None, ""):
            return None
        try:
            return int(self.version)
        except (TypeError, ValueError):
            raise AirflowFailException(f"Invalid version={self.version!r}: expected a version number, e.g. 2.") from None

    def _check(self) -> bool:
        service = self.hook.describe_service(self.service_name)
        state, where = service_progress(service, target_status=self.target_status, version=self._version())
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
        self._version()
        EasServiceLink.persist(context, region_id=self.hook.region_id, service_name=self.service_name)
        if not self.deferrable:
            return super().execute(context)
        if self._check():
            return None
        from airflow_provider_pai.triggers.eas import EasServiceTrigger  # the deferred path only

        self.defer(
            trigger=EasServiceTrigger(
                self.service_name,
                target_status=self.target_status,
                version=self._version(),
                pai_conn_id=self.pai_conn_id,
                region_id=self.region_id,
                poll_interval=self.poke_interval,
                end_time=deadline(self.timeout),
            ),
            method_name="execute_complete",
            # The trigger reports its own timeout with where the service stood; this is a backstop.
            timeout=timedelta(seconds=self.timeout + 5 * self.poke_interval),
        )

    def execute_complete(self, context: Context, event: dict[str, Any]) -> None:
        status = event.get("status")
        if status == "success":
            self.log.info("%s", event.get("message"))
            return None
        if status == "timeout":
            raise AirflowSensorTimeout(event.get("message"))
        raise AirflowException(event.get("message") or f"EAS sensor ended with {event!r}")
