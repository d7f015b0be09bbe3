"""Scenario loading and the persisted state under the data dir.

Layout of the data dir: ``state.json`` (DataWorks and EAS state, clock offset) and ``oss/`` (the
ObjectStore). The scenario seeds both on the first start only; a restart reloads them, so objects,
services, versions and instances survive, and runs continue from their stored timestamps.
"""

from __future__ import annotations

import base64
import json
import os
import threading
from pathlib import Path

from .common import Ctx
from .oss_regions import bucket_names, seed_regions
from .oss_store import ObjectStore
from .scenario import DEMO_SCENARIO, load_scenario  # noqa: F401  (re-exported)

STATE_FILE = "state.json"
_save_lock = threading.Lock()  # one writer of state.json.tmp at a time


def split_oss_uri(uri: str) -> tuple[str, str]:
    if not uri.startswith("oss://"):
        raise ValueError(f"expected oss://bucket/key, got {uri!r}")
    bucket, _, key = uri[len("oss://") :].partition("/")
    return bucket, key


def object_bytes(spec: dict) -> bytes:
    """Content of a scenario object: ``content`` (text) or ``content_base64``."""
    if "content_base64" in spec:
        return base64.b64decode(spec["content_base64"])
    content = spec.get("content", "")
    return content.encode() if isinstance(content, str) else json.dumps(content).encode()


def save_state(data_dir: Path, state: dict) -> None:
    """Write state.json atomically: a reader (or a restart) never sees half a file."""
    with _save_lock:
        tmp = data_dir / (STATE_FILE + ".tmp")
        tmp.write_text(json.dumps(state))
        os.replace(tmp, data_dir / STATE_FILE)


def seed(scenario: dict, store: ObjectStore) -> dict:
    """The first-start state: OSS buckets and objects on disk, service state from the scenario."""
    import time

    from . import aiworkspace, dataworks, eas  # written in parallel; only needed on a first start

    oss_spec = scenario.get("oss") or {}
    for bucket in bucket_names(scenario):
        store.create_bucket(bucket)
    for spec in oss_spec.get("objects", []):
        bucket, key = split_oss_uri(spec["uri"])
        store.put(bucket, key, object_bytes(spec), content_type=spec.get("content_type"))
    return {"dataworks": dataworks.init_state(scenario), "eas": eas.init_state(scenario), "clock_offset": 0.0,
            "oss_regions": seed_regions(scenario),
            "aiworkspace": aiworkspace.init_state(scenario, int(time.time() * 1000))}


def open_ctx(scenario: dict, data_dir: str | os.PathLike) -> Ctx:
    """The handler context for ``data_dir``: seeded on first start, reloaded afterwards."""
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    store = ObjectStore(data_dir / "oss")
    state_path = data_dir / STATE_FILE
    if state_path.exists():
        state = json.loads(state_path.read_text())
    else:
        state = seed(scenario, store)
        save_state(data_dir, state)  # written last: a crash mid-seed reseeds on the next start
    return Ctx(scenario, state, store, save_fn=lambda s: save_state(data_dir, s))
