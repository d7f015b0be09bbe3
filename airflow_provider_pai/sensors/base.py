"""The one base of this provider's sensors: ``PaiBaseOperator``'s connection and hook on ``BaseSensorOperator``."""

from __future__ import annotations

from typing import Any

from airflow.providers.common.compat.sdk import BaseSensorOperator

from airflow_provider_pai.mixins.hook import HookT, PaiHookMixin, default_deferrable, pai_template_fields

__all__ = ["PaiBaseSensorOperator", "pai_template_fields"]


class PaiBaseSensorOperator(PaiHookMixin[HookT], BaseSensorOperator):
    """Base of every PAI sensor: connection, region, deferral and ``self.hook``.

    Takes ``pai_conn_id``, ``region_id`` and ``deferrable`` exactly as ``PaiBaseOperator``
    (documented there), plus every ``BaseSensorOperator`` parameter.
    """

    def __init__(
        self,
        *,
        pai_conn_id: str | None = None,
        region_id: str | None = None,
        deferrable: bool | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self._set_connection(pai_conn_id, region_id)
        self.deferrable = default_deferrable() if deferrable is None else bool(deferrable)
