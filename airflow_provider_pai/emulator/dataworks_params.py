"""Request-parameter checks, id lookups and replies for the emulated DataWorks API.

Codes used (the real service's codes where known; the rest are plausible, see the module docstring
of ``dataworks``): MissingParameter, InvalidParameter, Invalid.Tenant.ProjectNotExists,
Invalid.Tenant.NodeNotExists, Invalid.Tenant.InstanceNotExists, Invalid.Tenant.DagNotExists.
"""

from __future__ import annotations

import json

from aiohttp import web

from .common import json_response, new_request_id


class DwError(Exception):
    """Raised by handlers; ``handle`` turns it into an ACS error response."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def required(params: dict, name: str) -> str:
    value = params.get(name, "")
    if value == "":
        raise DwError(400, "MissingParameter",
                      f'The input parameter "{name}" that is mandatory for processing this request is not supplied.')
    return value


def integer(params: dict, name: str, default: int | None = None) -> int:
    """The parameter as an int; absent: ``default``, or MissingParameter when there is none."""
    if params.get(name, "") == "" and default is not None:
        return default
    raw = required(params, name)
    try:
        return int(raw)
    except ValueError:
        raise DwError(400, "InvalidParameter", f"The parameter {name} must be an integer, got {raw!r}.") from None


def boolean(params: dict, name: str, default: bool | None = None) -> bool:
    value = params.get(name, "")
    if value == "":
        if default is None:
            required(params, name)
        return bool(default)
    if value.lower() not in ("true", "false"):
        raise DwError(400, "InvalidParameter", f"The parameter {name} must be true or false, got {value!r}.")
    return value.lower() == "true"


def project_env(params: dict) -> str:
    env = required(params, "ProjectEnv")
    if env not in ("PROD", "DEV"):
        raise DwError(400, "InvalidParameter", f"The parameter ProjectEnv must be PROD or DEV, got {env!r}.")
    return env


def id_list(params: dict, name: str, must: bool = True) -> list[int]:
    raw = required(params, name) if must else params.get(name, "")
    try:
        return [int(x) for x in raw.split(",") if x.strip()]
    except ValueError:
        raise DwError(400, "InvalidParameter", f"The parameter {name} must be comma-separated node ids, got {raw!r}.") from None


def json_param(params: dict, name: str, kind: type = dict, must: bool = False):
    """A parameter holding JSON of ``kind`` (dict or list); absent and not ``must``: an empty one."""
    raw = required(params, name) if must else params.get(name, "")
    if not raw:
        return kind()
    try:
        value = json.loads(raw)
    except ValueError:
        value = None
    if not isinstance(value, kind):
        what = "object" if kind is dict else "array"
        raise DwError(400, "InvalidParameter", f"The parameter {name} must be a JSON {what}, got {raw!r}.")
    return value


def paging(params: dict, default_size: int = 10, most: int = 100) -> tuple[int, int]:
    number = integer(params, "PageNumber", 1)
    size = integer(params, "PageSize", default_size)
    if number < 1:
        raise DwError(400, "InvalidParameter", f"The parameter PageNumber must be at least 1, got {number}.")
    if not 1 <= size <= most:
        raise DwError(400, "InvalidParameter", f"The parameter PageSize must be between 1 and {most}, got {size}.")
    return number, size


# lookups: a missing id (or one from the other environment) is the real service's "not exists"

def project(state: dict, pid: int) -> dict:
    p = state["projects"].get(str(pid))
    if p is None:
        raise DwError(400, "Invalid.Tenant.ProjectNotExists", f"The project {pid} does not exist.")
    return p


def node(state: dict, node_id: int) -> dict:
    n = state["nodes"].get(str(node_id))
    if n is None:
        raise DwError(400, "Invalid.Tenant.NodeNotExists", f"The node {node_id} does not exist.")
    return n


def instance(state: dict, iid: int, env: str) -> dict:
    i = state["instances"].get(str(iid))
    if i is None or i["project_env"] != env:
        raise DwError(400, "Invalid.Tenant.InstanceNotExists", f"The instance {iid} does not exist in {env}.")
    return i


def ok(data) -> web.Response:
    return json_response({"RequestId": new_request_id(), "Success": True, "HttpStatusCode": 200, "Data": data})
