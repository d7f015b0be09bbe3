"""The EAS gateway in front of deployed models: token check, then the serving version's processor.

Processors: ``pmml`` (emulator/pmml_processor.py) and the emulator's toy ``json_linear``:
``model.json`` (``weights``, ``bias``) under the version's ``model_path``; ``{"instances": [[x...], ...]}`` -> ``{"predictions": [sigmoid(w.x+b), ...],
"version": N, "model_path": "..."}``. A model.json with ``"broken": true`` answers HTTP 500.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math

from aiohttp import web

from . import eas_state as S
from . import eas_traffic as T
from .common import new_request_id
from .eas_archive import http_model_files, is_http
from .pmml_processor import pmml_predict


def _headers() -> dict[str, str]:
    return {"x-eas-request-id": new_request_id()}  # what clients quote when reporting a failed call


def _text(status: int, message: str) -> web.Response:
    return web.Response(status=status, text=message, headers=_headers())


def _content_md5_ok(header: str, body: bytes) -> bool:
    """Clients differ on the encoding of Content-MD5: accept hex, base64 of the digest, base64 of hex."""
    digest = hashlib.md5(body)
    accepted = {digest.hexdigest(), base64.b64encode(digest.digest()).decode(),
                base64.b64encode(digest.hexdigest().encode()).decode()}
    return header in accepted


def authorized(request: web.Request, body: bytes, token: str) -> bool:
    auth = request.headers.get("Authorization", "")
    if not auth:
        return False
    if not auth.startswith("EAS "):
        return hmac.compare_digest(auth.encode(), token.encode())
    content_md5 = request.headers.get("Content-MD5", "")
    if not _content_md5_ok(content_md5, body):
        return False
    to_sign = "\n".join([request.method, content_md5,
                         request.headers.get("Content-Type", "application/octet-stream"),
                         request.headers.get("Date", ""), request.path])
    expected = base64.b64encode(hmac.new(token.encode(), to_sign.encode(), hashlib.sha1).digest()).decode()
    return hmac.compare_digest(auth[len("EAS "):].strip().encode(), expected.encode())


def _load_model(store, model_path: str) -> dict | str:
    """model.json of a model path (the object itself, the one under the directory, or in a package) or why not."""
    if is_http(model_path):  # F-USE-1
        files = http_model_files(store, model_path)
        if isinstance(files, str):
            return files
        if "model.json" not in files:
            return f"no model.json in the package {model_path}"
        try:
            model = json.loads(files["model.json"])
        except ValueError as exc:
            return f"model.json in {model_path} cannot be read: {exc}"
        return model if isinstance(model, dict) else f"model.json in {model_path} is not a JSON object"
    where = S.split_oss(model_path)
    names = [k for k in S.model_keys(store, model_path) if k.rsplit("/", 1)[-1] == "model.json"]
    if where is None or not names:  # (model_keys finds nothing for a path that is not oss://)
        return f"no model.json under {model_path}"
    bucket = where[0]
    try:
        model = json.loads(store.get(bucket, min(names, key=len)))
    except (OSError, ValueError) as exc:
        return f"model.json under {model_path} cannot be read: {exc}"
    return model if isinstance(model, dict) else f"model.json under {model_path} is not a JSON object"


def _predict(model: dict, request_body: bytes) -> tuple[int, object]:
    if model.get("broken") is True:
        return 500, "model raised an error while predicting (model.json is marked broken)"
    weights, bias = model.get("weights"), model.get("bias", 0.0)
    if not isinstance(weights, list) or not all(isinstance(w, (int, float)) for w in weights):
        return 500, "model.json has no numeric 'weights' list"
    try:
        payload = json.loads(request_body or b"null")
    except ValueError:
        return 400, 'request body must be JSON: {"instances": [[x1, x2, ...], ...]}'
    instances = payload.get("instances") if isinstance(payload, dict) else None
    if not isinstance(instances, list):
        return 400, 'request body must be {"instances": [[x1, x2, ...], ...]}'
    predictions = []
    for i, row in enumerate(instances):
        if not isinstance(row, list) or not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in row):
            return 400, f"instance {i} must be a list of numbers"
        if len(row) != len(weights):
            return 400, f"instance {i} has {len(row)} features, the model expects {len(weights)}"
        z = sum(w * x for w, x in zip(weights, row, strict=True)) + float(bias)  # lengths checked above
        predictions.append(1.0 / (1.0 + math.exp(-z)) if z >= -700 else 0.0)
    return 200, predictions


async def handle_predict(request: web.Request, ctx, service_name: str) -> web.Response:
    body = await request.read()
    with ctx.lock:
        eas = ctx.state.get("eas") or {}
        services = eas.get("services") or {}
        svc = services.get(service_name)
        if svc is None:  # a group endpoint: one member answers, chosen by the weights (eas_traffic.py)
            svc = _group_member(request, body, ctx, services, service_name)
            if isinstance(svc, web.Response):
                return svc
        if S.settle_initial(svc, ctx.store, ctx.now()):
            ctx.save()
        if not authorized(request, body, svc["token"]) and svc["name"] == service_name:
            return _text(401, "Unauthorized: the Authorization header does not carry this service's token")
        version = S.serving_version(svc, ctx.now())
        # F-EAS-9: the gateway answers 503 while no backend instance is Ready (status-code appendix)
        if version is None or S.warming_up(svc, ctx.now()):
            return _text(503, "no healthy upstream")
        config = S.get_version(svc, version)["config"]
    processor = config.get("processor")
    model_path = config.get("model_path", "")
    if processor == "pmml":
        status, answer = pmml_predict(ctx.store, model_path, body)
        if status != 200:
            return _text(status, str(answer))
        return web.json_response(answer, headers={**_headers(), **served_by(svc, version)})
    if processor != "json_linear":
        return _text(500, f"processor {processor!r} is not emulated; the emulator serves json_linear and pmml models")
    model = _load_model(ctx.store, model_path)
    if isinstance(model, str):
        return _text(500, model)
    status, result = _predict(model, body)
    if status != 200:
        return _text(status, str(result))
    return web.json_response({"predictions": result, "version": version, "model_path": model_path},
                             headers={**_headers(), **served_by(svc, version)})


def _group_member(request, body, ctx, services: dict, group: str) -> dict | web.Response:
    changed = any([S.settle_initial(s, ctx.store, ctx.now()) for s in services.values()])
    if changed:
        ctx.save()
    if not T.members(services, group):
        return _text(404, f"service [{group}] not found")
    if not authorized(request, body, T.group_token(services, group)):
        return _text(401, "Unauthorized: the Authorization header does not carry this group's token")
    member = T.route(ctx, services, group)
    return _text(503, "no healthy upstream") if member is None else member


def served_by(svc: dict, version: int) -> dict[str, str]:
    """Emulator-only headers naming who answered (a group endpoint hides it; tests assert on it)."""
    return {"x-emulator-service": svc["name"], "x-emulator-version": str(version)}
