"""EAS service records: versions, rollouts and the status a client sees.

A service's status is never stored: it is derived from the last rollout's timestamps and the
emulator clock, so it survives restarts and moves forward when the control API advances the clock.

A service record (JSON-able, under ``state["eas"]["services"][name]``)::

    {"name", "service_id", "token", "start_seconds", "labels", "created", "updated", "stopped",
     "versions": [{"version": 1, "config": {...}, "built": t, "ok": bool|None, "error": str|None}],
     "current": 1,                       # CurrentVersion: the version last rolled onto
     "rollout": {"target", "from", "phase", "start", "ready", "ok", "error"},
     "events": [{"time", "type", "reason", "message"}]}

``rollout.from`` is the version that served before the rollout began; it keeps serving while the
rollout runs and, if the rollout fails, afterwards. A failed rolling update shows in one of two
shapes (F-EAS-6), chosen per service: ``failed`` (Status Failed, CurrentVersion names the failed
version) or ``aborted`` (Status Running, CurrentVersion stays on the old version, Warning events).
``rollout.ready`` is None when the rollout path stays in some status for good.
"""

from __future__ import annotations

import base64
import copy
import json
import secrets
import time
import uuid
from typing import Any

from . import eas_paths as P
from .eas_archive import http_model_files, is_http

DEFAULT_START_SECONDS = 2.0
# Keys that describe the token, not the deployment: kept on the service, not in a version's config.
TOKEN_KEYS = ("token", "generate_token")


def iso(t: float | None) -> str | None:
    return None if t is None else time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def event_time(t: float) -> str:
    """DescribeServiceEvent ``Time``: UTC as the API reference's example writes it (F-EAS-10)."""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(t))


def new_token() -> str:
    return base64.b64encode(secrets.token_bytes(30)).decode()


def truthy(value: Any) -> bool:
    return value is True or str(value).lower() == "true"


def deep_merge(base: dict, patch: dict) -> dict:
    out = copy.deepcopy(base)
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def version_config(config: dict) -> dict:
    return {k: v for k, v in config.items() if k not in TOKEN_KEYS}


def only_scaling_differs(old: dict, new: dict) -> bool:
    """True if the configs differ in nothing but metadata.instance (scaling adds no version)."""

    def strip(c: dict) -> dict:
        c = copy.deepcopy(c)
        if isinstance(c.get("metadata"), dict):
            c["metadata"].pop("instance", None)
            if not c["metadata"]:
                del c["metadata"]  # {"instance": 3} added to a config without metadata is still scaling
        return c

    return strip(old) == strip(new)


def start_seconds(value: Any) -> float:
    try:
        return max(0.0, float(value))
    except (TypeError, ValueError):
        return DEFAULT_START_SECONDS


def total_instances(config: dict) -> int:
    meta = m if isinstance(m := config.get("metadata"), dict) else {}
    try:
        return max(0, int(meta.get("instance", 1)))
    except (TypeError, ValueError):
        return 1


def split_oss(model_path: str) -> tuple[str, str] | None:
    if not isinstance(model_path, str) or not model_path.startswith("oss://"):
        return None
    bucket, _, key = model_path[len("oss://"):].partition("/")
    return (bucket, key) if bucket else None


def model_keys(store, model_path: str) -> list[str]:
    """Object keys a model path names: the object itself, or every object under the directory."""
    where = split_oss(model_path)
    if where is None or not store.bucket_exists(where[0]):
        return []
    bucket, key = where
    directory = key if key.endswith("/") or not key else key + "/"
    return [i.key for i in store.list(bucket, key) if i.key == key or i.key.startswith(directory)]


def check_model(store, config: dict) -> str | None:
    """None if the model can be loaded, else why not (as an EAS instance would report it)."""
    model_path = config.get("model_path") or ""
    if not model_path:
        return "model_path is empty: failed to download model from an empty path"
    if is_http(model_path):  # F-USE-1
        files = http_model_files(store, model_path)
        return files if isinstance(files, str) else None
    if split_oss(model_path) is None:
        return f"failed to download model from {model_path}: the emulator serves oss:// and http(s) paths only"
    if not model_keys(store, model_path):
        return f"failed to download model from {model_path}: no such object or directory"
    if config.get("processor") == "pmml":  # the PMML processor parses the model at start (F-PMML-4)
        from .pmml_processor import check

        return check(store, model_path)
    return None


def new_service(name: str, token: str, labels: dict | None, now: float | None,
                start_secs: Any = DEFAULT_START_SECONDS, behaviour: dict | None = None) -> dict:
    secs = start_seconds(start_secs)
    return {
        "name": name,
        "behaviour": behaviour or P.behaviour(None, None, secs, name),
        "start_seconds": secs,
        "service_id": "eas-m-" + uuid.uuid4().hex[:20],
        "token": token,
        "labels": labels or {},
        "created": now,
        "updated": now,
        "stopped": False,
        "versions": [],
        "current": 0,
        "rollout": None,
        "events": [],
    }


def add_event(svc: dict, t: float, type_: str, reason: str, message: str) -> None:
    svc["events"].append({"time": t, "type": type_, "reason": reason, "message": message})


def add_version(svc: dict, config: dict, now: float | None) -> int:
    number = len(svc["versions"]) + 1
    svc["versions"].append({"version": number, "config": version_config(config), "built": now,
                            "ok": None, "error": None})
    if now is not None:  # scenario services (no clock yet) existed before anyone watched
        add_event(svc, now, "Normal", "VersionCreated", f"[{svc['name']}] version {number} created")
    return number


def get_version(svc: dict, number: int) -> dict:
    return svc["versions"][number - 1]


def rollout_done(r: dict, now: float) -> bool:
    return r["ready"] is not None and now >= r["ready"]


def serving_version(svc: dict, now: float) -> int | None:
    """The version answering predictions at ``now`` (None: nothing healthy yet, or stopped)."""
    r = svc["rollout"]
    if svc["stopped"] or r is None or svc.get("deleting"):
        return None
    if not rollout_done(r, now) or not r["ok"]:
        return r["from"]
    return r["target"]


def warming_up(svc: dict, now: float) -> bool:
    """A first rollout just became Running but its instances are not Ready yet (F-EAS-9)."""
    r, warmup = svc["rollout"], behaviour_of(svc)["gateway_warmup_seconds"]
    return bool(r and warmup and r["from"] is None and rollout_done(r, now) and now < r["ready"] + warmup)


def behaviour_of(svc: dict) -> dict:
    # records written before behaviours existed get the defaults
    return svc.get("behaviour") or P.behaviour(None, None, svc["start_seconds"], svc["name"])


def start_rollout(svc: dict, store, target: int, phase: str, now: float, previous: int | None,
                  *, initial: bool = False) -> None:
    """Roll onto ``target``: decide now whether its model loads, schedule the outcome's events."""
    ver = get_version(svc, target)
    error = check_model(store, ver["config"])
    ver["ok"], ver["error"] = error is None, error
    steps = (not initial and behaviour_of(svc)["rollout_path"]) or [[phase, svc["start_seconds"]]]
    length = P.path_seconds(steps)
    ready = None if length is None else now + length
    # F-EAS-6 "aborted": a rolling update whose new instances fail is abandoned and the old version
    # keeps serving, so CurrentVersion never moves to the new one. Without an old version it fails.
    aborts = error is not None and previous is not None and behaviour_of(svc)["failed_update"] == "aborted"
    # Events of an earlier rollout that had not happened yet never will: this one supersedes it.
    svc["events"] = [e for e in svc["events"] if e["time"] <= now]
    svc["current"] = previous if aborts else target
    svc["updated"], svc["stopped"], svc["stopping"], svc["scaling"] = now, False, None, None
    svc["rollout"] = {"target": target, "from": previous, "phase": phase, "start": now, "steps": steps,
                      "ready": ready, "ok": error is None, "error": error, "aborted": aborts}
    name, n = svc["name"], total_instances(ver["config"])
    add_event(svc, now, "Normal", "RollingUpdate" if previous else phase,
              f"[{name}] {phase.lower()} version {target}: starting {n} instance(s)")
    if ready is None:
        return  # stays in some status for good: no outcome, no outcome events
    if error is None:
        add_event(svc, ready, "Normal", "Running", f"[{name}] version {target}: {n}/{n} instance(s) ready")
        return
    add_event(svc, ready, "Warning", "FailedLoadModel", f"[{name}] instance of version {target} {error}")
    kept = f"version {previous} keeps serving" if previous else "no version is serving"
    if aborts:
        add_event(svc, ready, "Warning", "RollingUpdateAborted",
                  f"[{name}] rolling update to version {target} aborted; {kept}")
    else:
        add_event(svc, ready, "Warning", "Failed", f"[{name}] rollout to version {target} failed; {kept}")


def settle_initial(svc: dict, store, now: float) -> bool:
    """Finish a scenario service the first time the emulator sees it (init_state has no clock)."""
    if svc["created"] is not None:
        return False
    svc["created"] = svc["updated"] = svc["first_seen"] = now
    svc["versions"][0]["built"] = now
    # existed (and Running) before the scenario, whatever rollout path later rollouts take
    start_rollout(svc, store, 1, "Creating", now - svc["start_seconds"], None, initial=True)
    svc["events"] = [e for e in svc["events"] if e["reason"] != "Creating"]
    if svc.pop("scenario_stopped", False):
        svc["stopped"] = True
    return True


def _scripted(svc: dict, now: float) -> str | None:
    """A status a path imposes at ``now`` (delete, stop, the scenario's status_path), else None."""
    b = behaviour_of(svc)
    if svc.get("deleting") is not None:
        status, ended = P.path_at(b["delete_path"], svc["deleting"], now)
        return status or "Deleted"
    if svc["stopped"]:
        status, _ = P.path_at(b["stop_path"], svc.get("stopping") or 0.0, now)
        return status or "Stopped"
    if b["status_path"] and svc.get("first_seen") is not None:
        status, _ = P.path_at(b["status_path"], svc["first_seen"], now)
        return status
    return None


def status(svc: dict, now: float) -> tuple[str, str, str]:
    """(Status, Message, Reason) at ``now``."""
    r = svc["rollout"]
    scripted = _scripted(svc, now)
    if scripted is not None:
        return scripted, f"Service is {scripted}", scripted
    if svc.get("develop"):
        return "Developing", "Service is in development mode", "Developing"
    if r is None:
        return "Creating", "Service is being created", "Creating"
    if not rollout_done(r, now):
        step, _ = P.path_at(r.get("steps") or [[r["phase"], None]], r["start"], now)
        assert step is not None  # the rollout is not done, so its path has not ended
        return step, f"{step} version {r['target']}: instances starting", step
    scaling = svc.get("scaling")
    if scaling and now < scaling["until"]:
        return "Scaling", f"Scaling to {scaling['instances']} instance(s)", "Scaling"
    if r["ok"]:
        return "Running", "Service is now running", "Running"
    kept = f"; version {r['from']} keeps serving" if r["from"] else ""
    if r.get("aborted"):
        return ("Running", f"Rolling update to version {r['target']} aborted: {r['error']}{kept}",
                "RollingUpdateAborted")
    return "Failed", f"Failed to load the model of version {r['target']}: {r['error']}{kept}", "FailedLoadModel"


def service_object(svc: dict, now: float, region: str, base_url: str) -> dict:
    """The Service model as DescribeService and ListServices return it."""
    state, message, reason = status(svc, now)
    r = svc["rollout"]
    # the config of the version the service is on (an aborted update's config never went live)
    cur = get_version(svc, svc["current"]) if svc["current"] else {"config": {}}
    config = {"name": svc["name"], **cur["config"]}
    total = total_instances(config)
    serving = serving_version(svc, now) is not None
    running = total if serving and state != "Stopped" else 0
    meta = m if isinstance(m := config.get("metadata"), dict) else {}
    endpoint = f"{base_url}/api/predict/{svc['name']}"
    return {
        "AccessToken": svc["token"],
        "CallerUid": "emulator",
        "Cpu": meta.get("cpu"),
        "Memory": meta.get("memory"),
        "Gpu": meta.get("gpu", 0),
        "CreateTime": iso(svc["created"]),
        "UpdateTime": iso(svc["updated"]),
        "CurrentVersion": svc["current"],
        "LatestVersion": len(svc["versions"]),
        "InternetEndpoint": endpoint,
        "IntranetEndpoint": endpoint,
        "Labels": [{"LabelKey": k, "LabelValue": v} for k, v in svc["labels"].items()],
        "Message": message,
        "Reason": reason,
        "Region": region,
        "RunningInstance": running,
        "PendingInstance": total if r is not None and not rollout_done(r, now) else 0,
        "TotalInstance": total,
        "ServiceConfig": json.dumps(config),
        "ServiceId": svc["service_id"],
        "ServiceUid": svc["service_id"],
        "ServiceName": svc["name"],
        "Status": state,
        **_traffic_fields(svc, now),
    }


def _traffic_fields(svc: dict, now: float) -> dict:
    from .eas_traffic import service_fields  # eas_traffic builds on this module

    return service_fields(svc, now)

