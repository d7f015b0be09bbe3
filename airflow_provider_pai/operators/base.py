"""The one base of this provider's operators (the pattern of Amazon's ``AwsBaseOperator[HookT]``)."""

from __future__ import annotations

from typing import Any, ClassVar

from airflow.providers.common.compat.sdk import BaseOperator

from airflow_provider_pai.mixins.hook import HookT, PaiHookMixin, default_deferrable, pai_template_fields
from airflow_provider_pai.utils.validation import PaiParameterError

__all__ = ["PaiBaseOperator", "pai_template_fields"]


class PaiBaseOperator(PaiHookMixin[HookT], BaseOperator):
    """Base of every PAI operator: connection, region, deferral and ``self.hook``.

    Subclasses set ``hook_class_path`` and build ``template_fields`` with
    ``pai_template_fields(...)``. Values that are not templated are checked in ``__init__`` (at
    DAG parse time); templated ones at the start of ``execute``, once rendered.

    :param pai_conn_id: Airflow connection of type ``alibaba_cloud_pai``; default: the hook's
        ``default_conn_name`` (``pai_default``). Templated.
    :param region_id: region such as ``cn-shanghai``; default: the connection's ``region_id``
        extra. Templated.
    :param deferrable: wait in the triggerer instead of a worker slot; default:
        ``[operators] default_deferrable``. Operators that never wait (``supports_deferral`` is
        False) refuse ``deferrable=True``.
    """

    supports_deferral: ClassVar[bool] = True

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
        if deferrable and not self.supports_deferral:
            raise PaiParameterError(
                f"Invalid deferrable={deferrable!r}: {type(self).__name__} does not wait for anything "
                "remote, so it has no deferrable mode; leave deferrable out."
            )
        if deferrable is None:
            deferrable = self.supports_deferral and default_deferrable()
        self.deferrable = bool(deferrable)
