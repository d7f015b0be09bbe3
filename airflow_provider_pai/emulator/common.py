"""What every emulated service shares: the context a handler gets, request ids, ACS error replies.

The emulator imports nothing from the rest of the package and no Airflow.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from typing import Any

from aiohttp import web


def new_request_id() -> str:
    return str(uuid.uuid4()).upper()


def json_response(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        status=status,
        body=json.dumps(payload).encode(),
        content_type="application/json",
        headers=headers,
    )


def acs_error(
    status: int,
    code: str,
    message: str,
    request_id: str | None = None,
    retry_after: int | None = None,
    extra: dict[str, Any] | None = None,
) -> web.Response:
    """An OpenAPI (DataWorks/EAS) error exactly as the Tea SDKs parse it: JSON Code/Message/RequestId
    (``extra``: more top-level fields after those, e.g. a RAM denial's AccessDeniedDetail)."""
    request_id = request_id or new_request_id()
    headers = {"x-acs-request-id": request_id}
    if retry_after is not None:
        headers["x-acs-retry-after"] = str(retry_after)
    body = {"RequestId": request_id, "Code": code, "Message": message, "HostId": "emulator", **(extra or {})}
    return json_response(body, status=status, headers=headers)


class Ctx:
    """State and services a handler works with.

    ``state`` is one JSON-able dict persisted under the data dir by ``save()``; each service owns one
    key (``state["dataworks"]``, ``state["eas"]``). OSS objects live on disk in ``store``.
    ``now()`` is the emulator clock: wall time plus an offset the control API can advance, so a
    simulated two-hour run can be observed in seconds.
    """

    def __init__(self, scenario: dict, state: dict, store: Any, save_fn=None):
        self.scenario = scenario
        self.state = state
        self.store = store  # emulator.oss_store.ObjectStore
        self.region_id: str = scenario.get("region_id", "cn-shanghai")
        self.clock_offset: float = float(state.get("clock_offset", 0.0))
        self.lock = threading.RLock()
        self._save_fn = save_fn

    def now(self) -> float:
        return time.time() + self.clock_offset

    def now_ms(self) -> int:
        return int(self.now() * 1000)

    def advance_clock(self, seconds: float) -> None:
        self.clock_offset += float(seconds)
        self.state["clock_offset"] = self.clock_offset
        self.save()

    def save(self) -> None:
        if self._save_fn is not None:
            self._save_fn(self.state)

    def credentials(self) -> dict[str, dict]:
        """access_key_id -> {access_key_secret, security_token?} from the scenario."""
        return {c["access_key_id"]: c for c in self.scenario.get("credentials", [])}

    def secret_for(self, access_key_id: str) -> str | None:
        cred = self.credentials().get(access_key_id)
        return cred["access_key_secret"] if cred else None
