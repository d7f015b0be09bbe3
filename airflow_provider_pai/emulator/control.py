"""The ``/_emulator/*`` control API: fault injection, call counts, state dump, clock.

Faults and counts live in memory (a restart clears them); the clock offset is part of the state.
Control requests are neither counted nor faulted.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import random
import socket
import struct
from collections import defaultdict
from dataclasses import asdict, dataclass, field

from aiohttp import web

from .common import Ctx, acs_error, json_response

log = logging.getLogger(__name__)

SERVICES = ("dataworks", "eas", "aiworkspace", "oss", "predict")
KINDS = ("throttle", "error", "reset", "delay")
THROTTLE_MESSAGE = "Request was denied due to user flow control."


@dataclass
class FaultRule:
    service: str = "*"
    action: str = "*"
    kind: str = "error"
    rate: float = 1.0  # probability per matching call
    count: int | None = None  # most injections; None = unlimited
    delay_s: float = 1.0  # for kind=delay
    retry_after: int | None = None  # x-acs-retry-after on ACS throttles
    status: int | None = None  # kind=error: answer with this HTTP status ...
    code: str | None = None  # ... and this error code (tests of the provider's error-code table)
    id: int = 0
    injected: int = 0

    def matches(self, service: str, action: str) -> bool:
        return self.service in ("*", service) and self.action in ("*", action)

    def exhausted(self) -> bool:
        return self.count is not None and self.injected >= self.count


def parse_rule(payload: dict) -> FaultRule:
    """A FaultRule from the POST body; ValueError names the bad field."""
    known = {"service", "action", "kind", "rate", "count", "delay_s", "retry_after", "status", "code"}
    unknown = set(payload) - known
    if unknown:
        raise ValueError(f"unknown fault fields {sorted(unknown)}; allowed: {sorted(known)}")
    rule = FaultRule(**payload)
    if rule.service != "*" and rule.service not in SERVICES:
        raise ValueError(f"service must be one of {SERVICES} or '*', got {rule.service!r}")
    if rule.kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {rule.kind!r}")
    rule.rate = float(rule.rate)
    if not 0.0 <= rule.rate <= 1.0:
        raise ValueError(f"rate must be between 0 and 1, got {rule.rate}")
    if rule.count is not None:
        rule.count = int(rule.count)
    rule.delay_s = float(rule.delay_s)
    if rule.status is not None:
        rule.status = int(rule.status)
    return rule


@dataclass
class Control:
    rules: list[FaultRule] = field(default_factory=list)
    calls: dict = field(default_factory=lambda: defaultdict(lambda: defaultdict(int)))
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))
    _random: random.Random = field(default_factory=random.Random)

    def count_call(self, service: str, action: str) -> None:
        self.calls[service][action] += 1

    def pick_fault(self, service: str, action: str) -> FaultRule | None:
        """The first active rule matching this call that fires (each rolls its own rate)."""
        for rule in self.rules:
            if rule.matches(service, action) and not rule.exhausted() and self._random.random() < rule.rate:
                rule.injected += 1
                return rule
        return None

    def calls_json(self) -> dict:
        return {s: dict(self.calls.get(s, {})) for s in SERVICES}

    async def handle(self, request: web.Request, ctx: Ctx) -> web.StreamResponse:
        path, method = request.path.rstrip("/"), request.method
        try:
            if path == "/_emulator/faults":
                if method == "POST":
                    rule = parse_rule(await request.json())
                    rule.id = next(self._ids)
                    self.rules.append(rule)
                    return json_response(asdict(rule))
                if method == "GET":
                    return json_response([asdict(r) for r in self.rules])
                if method == "DELETE":
                    self.rules.clear()
                    return json_response({"cleared": True})
            if path.startswith("/_emulator/faults/") and method == "DELETE":
                rule_id = int(path.rsplit("/", 1)[1])
                self.rules = [r for r in self.rules if r.id != rule_id]
                return json_response({"deleted": rule_id})
            if path == "/_emulator/calls":
                if method == "GET":
                    return json_response(self.calls_json())
                if method == "DELETE":
                    self.calls.clear()
                    return json_response({"cleared": True})
            if path == "/_emulator/state" and method == "GET":
                return json_response(state_dump(ctx))
            if path == "/_emulator/clock":
                if method == "POST":
                    ctx.advance_clock(float((await request.json())["advance_s"]))
                if method in ("GET", "POST"):
                    return json_response({"now": ctx.now(), "offset": ctx.clock_offset})
        except (ValueError, TypeError, KeyError, json.JSONDecodeError) as e:
            return acs_error(400, "InvalidParameter", f"{method} {request.path}: {e}")
        return acs_error(404, "NotFound", f"no control endpoint {method} {request.path}")


def state_dump(ctx: Ctx) -> dict:
    """The persisted state plus an OSS listing: bucket -> [{key, size, crc64}]."""
    store = ctx.store
    listing = {
        b: [{"key": i.key, "size": i.size, "crc64": i.crc64} for i in store.list(b)] for b in store.buckets()
    }
    with ctx.lock:
        state = json.loads(json.dumps(ctx.state))
    return {**state, "oss": listing}


# applying a fault ---------------------------------------------------------------------------------


def _oss_error(status: int, code: str, message: str) -> web.Response:
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{message}</Message>"
        "<RequestId>emulator-fault</RequestId><HostId>emulator</HostId></Error>"
    )
    return web.Response(status=status, body=body.encode(), content_type="application/xml",
                        headers={"x-oss-request-id": "emulator-fault"})


def fault_response(rule: FaultRule, service: str) -> web.Response:
    """The reply a throttle or error fault gives, in the service's own error format."""
    if rule.kind == "throttle":
        if service == "oss":
            return _oss_error(503, "ServiceUnavailable", "Please reduce your request rate.")
        if service == "predict":
            return web.Response(status=429, text="Too Many Requests")
        # DataWorks documents 429 for Throttling.User; EAS answers it as 400.
        status = 429 if service == "dataworks" else 400
        return acs_error(status, "Throttling.User", THROTTLE_MESSAGE, retry_after=rule.retry_after)
    if rule.status is not None or rule.code is not None:  # a named error, as the cloud words it
        status, code = rule.status or 500, rule.code or "InternalError"
        if service == "oss":
            return _oss_error(status, code, f"{code} (injected)")
        if service == "predict":
            return web.Response(status=status, text=f"{code} (injected)")
        return acs_error(status, code, f"{code} (injected)")
    if service == "oss":
        return _oss_error(500, "InternalError", "We encountered an internal error. Please try again.")
    if service == "predict":
        return web.Response(status=500, text="InternalError")
    return acs_error(500, "InternalError", "The request processing has failed due to some unknown error.")


def reset_connection(request: web.Request) -> None:
    """Drop the connection with a TCP RST and no response, as a peer reset looks to a client."""
    transport = request.transport
    if transport is None:
        return
    sock = transport.get_extra_info("socket")
    if sock is not None:
        try:  # linger 0 makes close() send RST instead of FIN
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
    transport.abort()


async def apply_fault(rule: FaultRule, request: web.Request, service: str) -> web.StreamResponse | None:
    """A response to send instead of serving, or None to serve normally (after any delay)."""
    log.info("fault %s #%d on %s %s", rule.kind, rule.id, service, request.path)
    if rule.kind == "delay":
        await asyncio.sleep(rule.delay_s)
        return None
    if rule.kind == "reset":
        reset_connection(request)
        # Never delivered: aiohttp finds the transport closed and drops it quietly.
        return web.Response(status=500)
    return fault_response(rule, service)
