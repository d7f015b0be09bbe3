"""One aiohttp app on one loopback port: routes each request to DataWorks, EAS, predict, control or OSS.

Order for every non-control request: count the call, apply any fault, verify the signature
(DataWorks/EAS; OSS verifies its own), dispatch.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from urllib.parse import parse_qsl

from aiohttp import web

from . import aiworkspace, auth, dataworks, dataworks_v2024, eas, eas_traffic, oss, policy
from .common import Ctx, acs_error
from .control import Control, apply_fault

log = logging.getLogger(__name__)

DATAWORKS_VERSION = "2020-05-18"
EAS_VERSION = "2021-07-01"
PREDICT_PREFIX = "/api/predict/"
CTX_KEY = web.AppKey("ctx", Ctx)
CONTROL_KEY = web.AppKey("control", Control)


def route(request: web.Request) -> tuple[str, str]:
    """(service, action) for a request: service is dataworks|eas|aiworkspace|predict|control|oss."""
    version = request.headers.get("x-acs-version") or request.query.get("Version")
    if request.path.startswith("/_emulator/"):
        return "control", request.path
    if request.path.startswith(PREDICT_PREFIX):
        return "predict", "Predict"
    if version in (DATAWORKS_VERSION, dataworks_v2024.VERSION):
        return "dataworks", request.headers.get("x-acs-action") or request.query.get("Action", "")
    if version == EAS_VERSION:
        return "eas", request.headers.get("x-acs-action") or request.query.get("Action", "")
    if version == aiworkspace.VERSION:
        return "aiworkspace", request.headers.get("x-acs-action") or ""
    return "oss", oss.classify(request)


async def _serve_openapi(request: web.Request, ctx: Ctx, service: str, action: str) -> web.StreamResponse:
    body = await request.read()
    params = dict(parse_qsl(request.query_string, keep_blank_values=True))
    if request.content_type == "application/x-www-form-urlencoded":
        params.update(parse_qsl(body.decode(), keep_blank_values=True))
    denied = auth.verify(request, body, params, ctx)
    if denied is None:  # the credential's RAM policy, if the scenario gives one
        denied = policy.check(request, service, action, ctx, params)
    if denied is not None:
        return denied
    try:
        if service == "dataworks" and (request.headers.get("x-acs-version") or params.get("Version")) == dataworks_v2024.VERSION:
            return await dataworks_v2024.handle(request, params, ctx, action)
        if service == "dataworks":
            return dataworks_v2024.legacy_refusal(params, ctx, action) or await dataworks.handle(request, params, ctx, action)
        if service == "aiworkspace":
            return await aiworkspace.handle(request, body, ctx, action)
        return await eas.handle(request, body, ctx, action)
    except Exception:  # a handler bug must still look like an API error to the SDK
        log.exception("%s %s failed", service, action)
        return acs_error(500, "InternalError", f"emulator failed serving {service} {action}")


def make_app(ctx: Ctx, control: Control | None = None) -> web.Application:
    control = control or Control()

    async def dispatch(request: web.Request) -> web.StreamResponse:
        service, action = route(request)
        if service in ("oss", "control"):
            dataworks.advance(ctx)  # a run that has finished by now has written its outputs before OSS is read
        if service == "control":
            eas_traffic.refresh(ctx)  # /_emulator/state shows the traffic split in effect now
            return await control.handle(request, ctx)
        control.count_call(service, action)
        rule = control.pick_fault(service, action)
        if rule is not None:
            faulted = await apply_fault(rule, request, service)
            if faulted is not None:
                return faulted
        if service == "oss":
            denied = policy.check(request, service, action, ctx)  # the credential's RAM policy, if any
            return denied if denied is not None else await oss.handle(request, ctx)
        if service == "predict":
            return await eas.handle_predict(request, ctx, request.path[len(PREDICT_PREFIX) :].strip("/"))
        return await _serve_openapi(request, ctx, service, action)

    app = web.Application(client_max_size=0)  # OSS uploads stream; no body size cap
    app[CTX_KEY], app[CONTROL_KEY] = ctx, control
    app.router.add_route("*", "/{tail:.*}", dispatch)
    return app


async def start(ctx: Ctx, host: str = "127.0.0.1", port: int = 0) -> tuple[web.AppRunner, int]:
    """Start serving; returns the runner (``await runner.cleanup()`` stops it) and the bound port."""
    # No access log: at 1,000 concurrent calls it costs more than the handlers.
    runner = web.AppRunner(make_app(ctx), access_log=None, keepalive_timeout=75, shutdown_timeout=2)
    await runner.setup()
    site = web.TCPSite(runner, host, port, backlog=4096, reuse_address=True)
    await site.start()
    return runner, runner.addresses[0][1]


async def serve_forever(ctx: Ctx, host: str, port: int, on_ready=None) -> None:
    """Serve until SIGINT/SIGTERM; ``on_ready(url)`` is called once requests are accepted."""
    runner, bound = await start(ctx, host, port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    if on_ready is not None:
        on_ready(f"http://{host}:{bound}")
    try:
        await stop.wait()
    finally:
        with ctx.lock:
            ctx.save()
        await runner.cleanup()
