"""2020-05-18 calls about a workspace on the new Data Studio (F-DW24-12): refused, naming the fix.

Split from ``dataworks_v2024`` (which re-exports ``legacy_refusal``) to keep each file readable.
"""

from __future__ import annotations

import re

from aiohttp import web

from .common import Ctx, acs_error

VERSION = "2024-05-18"
_REFUSAL_CODE = "Invalid.Tenant.DataStudioVersionMismatch"  # emulator stand-in (F-DW24-12)


def _new_studio(state: dict, pid: int) -> bool:
    return state["projects"].get(str(pid), {}).get("data_studio") == "new"


# ---- 2020-05-18 calls about a new-Data-Studio workspace (F-DW24-12) ------------------------------

_ID_PARAMS = ("InstanceId", "NodeId", "RootNodeId", "DagId")


def _project_of(state: dict, params: dict) -> int | None:
    if re.fullmatch(r"\d+", params.get("ProjectId", "")):
        return int(params["ProjectId"])
    if params.get("ProjectName"):
        return next((p["project_id"] for p in state["projects"].values()
                     if p["project_name"] == params["ProjectName"]), None)
    for name in _ID_PARAMS:
        key = params.get(name, "")
        if not key.isdigit():
            continue
        record = (state["instances"].get(key) if name == "InstanceId" else state["dags"].get(key)
                  if name == "DagId" else state["nodes"].get(key))
        if record is not None:
            node = state["nodes"].get(str(record["node_id"])) if "node_id" in record else record
            return node["project_id"] if node else record.get("project_id")
    return None


def legacy_refusal(params: dict[str, str], ctx: Ctx, action: str) -> web.Response | None:
    """The error a 2020-05-18 call about a new-Data-Studio workspace gets, else None.

    DataWorks says the wrong version "causes query failures or unexpected results" (F-DW24-12); the
    emulator fails clearly, with a stand-in code naming the fix.
    """
    with ctx.lock:
        state = ctx.state.get("dataworks") or {}
        pid = _project_of(state, params) if state else None
        if pid is None or not _new_studio(state, pid):
            return None
    return acs_error(400, _REFUSAL_CODE,
                     f"{action}: workspace {pid} uses the new Data Studio; call DataWorks OpenAPI {VERSION} "
                     "(2020-05-18 serves workspaces on the legacy Data Studio).")
