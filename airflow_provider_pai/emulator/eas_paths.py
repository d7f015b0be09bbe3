"""Scenario-driven EAS status paths and per-service behaviour (docs/cloud-fidelity.md F-EAS-6, F-EAS-7).

A *path* is a list of steps a service's ``Status`` walks through, each ``"Status"`` (lasting a
default time), ``{"status": "Status", "seconds": N}`` or ``{"status": "Status", "stay": true}`` (from
then on, for good: a service stuck in ``Deleting``). Paths are stored in the service record as
``[[status, seconds_or_None], ...]`` so they survive restarts.

Per-service behaviour (scenario ``eas.behaviour`` for every service, overridden by the keys of one
``eas.services[]`` entry):

- ``failed_update``: ``failed`` (the service goes ``Failed`` on the new version) or ``aborted``
  (the rolling update is abandoned: ``Running`` on the old version, a Warning event) -- F-EAS-6.
- ``rollout_path``: the statuses each rollout shows before its outcome (default: the rollout's
  own phase, ``Creating``/``Updating``/``Starting``, for ``start_seconds``) -- F-EAS-7.
- ``stop_path`` (default ``[{Stopping, 1 s}]``, then ``Stopped``), ``delete_path`` (default: none,
  the service is gone at once; after a path that ends, it is gone; ``stay`` keeps it visible).
- ``status_path``: statuses a scenario service shows from the first time it is seen, before its
  normal status (``Cloning``, ``Complete``, ``Developing``...); it changes the reported Status only.
- ``gateway_warmup_seconds``: after a service with no earlier version becomes ``Running``, the
  gateway answers 503 this long (F-EAS-9: 503 = no backend instance Ready).
"""

from __future__ import annotations

from typing import Any

# F-EAS-7: Service.Status values, the union of the SDK's ListServices filter comment and the API
# metadata's Service.Status enum (which adds Deploying).
STATUSES = ("Creating", "Deploying", "Waiting", "Pending", "Starting", "Updating", "HotUpdate", "Scaling",
            "Committing", "Running", "Stopping", "Stopped", "Failed", "DeleteFailed", "Deleting", "Deleted",
            "Complete", "Cloning", "Developing")
FAILED_UPDATE_SHAPES = ("failed", "aborted")
BEHAVIOUR_KEYS = ("failed_update", "rollout_path", "stop_path", "delete_path", "status_path",
                  "gateway_warmup_seconds")
DEFAULT_STEP_SECONDS = 1.0


def parse_path(raw: Any, default_seconds: float, where: str) -> list[list]:
    """[[status, seconds | None], ...] from a scenario path; ValueError naming ``where`` if malformed."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise ValueError(f"{where} must be a list of statuses, got {raw!r}")
    steps = []
    seconds: float | None
    for step in raw:
        if isinstance(step, str):
            status, seconds = step, default_seconds
        elif isinstance(step, dict) and isinstance(step.get("status"), str):
            status = step["status"]
            seconds = None if step.get("stay") else float(step.get("seconds", default_seconds))
        else:
            raise ValueError(f"{where}: each step is a status or {{status, seconds | stay}}, got {step!r}")
        if status not in STATUSES:
            raise ValueError(f"{where}: {status!r} is not an EAS service status ({', '.join(STATUSES)})")
        steps.append([status, seconds])
    return steps


def path_at(steps: list[list], start: float, now: float) -> tuple[str | None, bool]:
    """(status at ``now``, whether the path has ended). A ``stay`` step never ends."""
    t = start
    for status, seconds in steps:
        if seconds is None or now < t + seconds:
            return status, False
        t += seconds
    return None, True


def path_seconds(steps: list[list]) -> float | None:
    """How long the path lasts; None if it stays in some step for good."""
    if any(seconds is None for _, seconds in steps):
        return None
    return sum(seconds for _, seconds in steps)


def behaviour(defaults: dict | None, spec: dict | None, start_seconds: float, where: str) -> dict:
    """The stored behaviour of one service: scenario defaults overridden by its own keys."""
    merged = {**(defaults or {}), **{k: v for k, v in (spec or {}).items() if k in BEHAVIOUR_KEYS}}
    shape = merged.get("failed_update", "failed")
    if shape not in FAILED_UPDATE_SHAPES:
        raise ValueError(f"{where}.failed_update must be one of {FAILED_UPDATE_SHAPES}, got {shape!r}")
    rollout = merged.get("rollout_path")
    per_step = start_seconds / len(rollout) if isinstance(rollout, list) and rollout else start_seconds
    return {
        "failed_update": shape,
        "rollout_path": parse_path(rollout, per_step, f"{where}.rollout_path"),
        "stop_path": parse_path(merged.get("stop_path", [{"status": "Stopping", "seconds": DEFAULT_STEP_SECONDS}]),
                                DEFAULT_STEP_SECONDS, f"{where}.stop_path"),
        "delete_path": parse_path(merged.get("delete_path"), DEFAULT_STEP_SECONDS, f"{where}.delete_path"),
        "status_path": parse_path(merged.get("status_path"), DEFAULT_STEP_SECONDS, f"{where}.status_path"),
        "gateway_warmup_seconds": max(0.0, float(merged.get("gateway_warmup_seconds") or 0.0)),
    }
