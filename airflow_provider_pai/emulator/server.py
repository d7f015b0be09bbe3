"""One aiohttp app on one loopback port: routes each request to DataWorks, EAS, predict, control or OSS.

MINIMAL FIRST CUT (to be hardened by the emulator-core work): routing and handler wiring only.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from aiohttp import web

from . import dataworks, eas, oss
from .common import Ctx, acs_error

DATAWORKS_VERSION = "2020-05-18"
EAS_VERSION = "2021-07-01"


def route(request: web.Request) -> tuple[str, str]:
    """(service, action) for a request: service is dataworks|eas|predict|control|oss."""
    version = request.headers.get("x-acs-version") or request.query.get("Version")
    if request.path.startswith("/_emulator/"):
        return "control", request.path
    if request.path.startswith("/api/predict/"):
        return "predict", "Predict"
    if version == DATAWORKS_VERSION:
        return "dataworks", request.headers.get("x-acs-action") or request.query.get("Action", "")
    if version == EAS_VERSION:
        return "eas", request.headers.get("x-acs-action", "")
    return "oss", oss.classify(request)


def make_app(ctx: Ctx) -> web.Application:
    async def dispatch(request: web.Request) -> web.StreamResponse:
        service, action = route(request)
        if service == "oss":
            return await oss.handle(request, ctx)
        if service == "predict":
            return await eas.handle_predict(request, ctx, request.path[len("/api/predict/"):].strip("/"))
        body = await request.read()
        if service == "dataworks":
            params = dict(parse_qsl(request.query_string, keep_blank_values=True))
            if request.content_type == "application/x-www-form-urlencoded":
                params.update(parse_qsl(body.decode(), keep_blank_values=True))
            return await dataworks.handle(request, params, ctx, action)
        if service == "eas":
            return await eas.handle(request, body, ctx, action)
        return acs_error(404, "NotFound", f"unknown control path {request.path}")

    app = web.Application(client_max_size=0)
    app.router.add_route("*", "/{tail:.*}", dispatch)
    return app
