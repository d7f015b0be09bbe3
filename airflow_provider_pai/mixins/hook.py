"""The connection, region and hook every operator, sensor and trigger of this provider has.

Hooks are imported when first needed, never when a DAG file imports an operator: the hook
modules cost about as much to import as a whole operator module (see ``docs/benchmarks.md``).
"""

from __future__ import annotations

from functools import cached_property
from importlib import import_module
from typing import Any, ClassVar, Generic, TypeVar

HookT = TypeVar("HookT")

# ``hook_class_path`` of each service's tasks and triggers.
DATAWORKS_HOOK = "airflow_provider_pai.hooks.dataworks.DataWorksHook"
EAS_HOOK = "airflow_provider_pai.hooks.eas.EasHook"
OSS_HOOK = "airflow_provider_pai.hooks.oss.OssHook"
AIWORKSPACE_HOOK = "airflow_provider_pai.hooks.aiworkspace.AiWorkspaceHook"
# ``default_conn_name`` of the provider's own hooks, so that constructing a task (at DAG-parse time)
# does not import its hook module; a unit test checks it against each hook class.
DEFAULT_CONN_NAMES = {path: "pai_default" for path in (DATAWORKS_HOOK, EAS_HOOK, OSS_HOOK, AIWORKSPACE_HOOK)}


def pai_template_fields(*fields: str) -> tuple[str, ...]:
    """``template_fields`` of a PAI operator or sensor: ``fields``, then ``pai_conn_id`` and ``region_id``."""
    return tuple(dict.fromkeys((*fields, "pai_conn_id", "region_id")))


def default_deferrable() -> bool:
    """``[operators] default_deferrable`` (False when unset), read when a task is constructed."""
    from airflow.providers.common.compat.sdk import conf

    return conf.getboolean("operators", "default_deferrable", fallback=False)


class PaiHookMixin(Generic[HookT]):
    """Owns ``pai_conn_id`` and ``region_id`` and the one way to the hook: ``self.hook``.

    Subclasses name their hook with ``hook_class_path`` (a dotted path, imported on first use);
    ``pai_conn_id`` defaults to that hook's ``default_conn_name`` (``DEFAULT_CONN_NAMES`` for the
    provider's own hooks, without importing them). Triggers set ``shared_hook``:
    triggers of one connection in one triggerer share one hook and its SDK client.
    """

    hook_class_path: ClassVar[str]
    shared_hook: ClassVar[bool] = False
    pai_conn_id: str
    region_id: str | None

    @classmethod
    def hook_class(cls) -> type[HookT]:
        module, _, name = cls.hook_class_path.rpartition(".")
        return getattr(import_module(module), name)

    @classmethod
    def default_conn_name(cls) -> str:
        own_lookup = getattr(cls.hook_class, "__func__", None) is getattr(PaiHookMixin.hook_class, "__func__", None)
        if own_lookup and cls.hook_class_path in DEFAULT_CONN_NAMES:
            return DEFAULT_CONN_NAMES[cls.hook_class_path]
        # a user's own hook (its path, or a hook_class() of its own): ask the class
        return cls.hook_class().default_conn_name  # type: ignore[attr-defined]

    def _set_connection(self, pai_conn_id: str | None, region_id: str | None) -> None:
        self.pai_conn_id = self.default_conn_name() if pai_conn_id is None else pai_conn_id
        self.region_id = region_id

    @cached_property
    def hook(self) -> HookT:
        hook_class: Any = self.hook_class()
        if self.shared_hook:
            return hook_class.shared(pai_conn_id=self.pai_conn_id, region_id=self.region_id)
        return hook_class(pai_conn_id=self.pai_conn_id, region_id=self.region_id)
