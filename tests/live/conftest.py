"""The opt-in live suite: the provider's hooks against a real Alibaba Cloud account (issue 15).

Nothing runs unless the ``PAI_LIVE_*`` variables a test needs are set; each test says which ones it
misses. Read-only by default; a service is created, broken and rolled back only with
``PAI_LIVE_MUTATE=1`` (billed; see docs/live-tests.md). The emulator is not involved.

    PAI_LIVE_ACCESS_KEY_ID, PAI_LIVE_ACCESS_KEY_SECRET, PAI_LIVE_REGION   (every test)
    PAI_LIVE_SECURITY_TOKEN                                               (optional: STS keys)
    PAI_LIVE_DW_PROJECT_ID, PAI_LIVE_DW_NODE_ID                           (DataWorks workspace, a Designer node)
    PAI_LIVE_OSS_BUCKET, PAI_LIVE_OSS_PREFIX                              (a bucket; prefix optional)
    PAI_LIVE_EAS_SERVICE                                                  (an existing EAS service)
    PAI_LIVE_MUTATE=1, PAI_LIVE_EAS_MODEL_PATH, PAI_LIVE_EAS_PROCESSOR    (create + roll back, then delete)
    PAI_LIVE_MUTATE=1, PAI_LIVE_FLOW_OUTPUT_PREFIX, PAI_LIVE_FLOW_RELEASE_PREFIX (+ the DataWorks and EAS
                                                                          ones: the example flow itself)
    PAI_LIVE_CONN_EXTRA                                                   (optional: a JSON object merged into
                                                                          the connection extra, e.g. endpoints)
"""

from __future__ import annotations

import json
import os

import pytest

from tests.conftest import REMOVED_PROXIES

CONN_ID = "pai_live"
BASE = ("PAI_LIVE_ACCESS_KEY_ID", "PAI_LIVE_ACCESS_KEY_SECRET", "PAI_LIVE_REGION")


def need(*names: str) -> dict[str, str]:
    """The values of ``names`` (and the keys and region), or skip naming what is missing."""
    missing = [n for n in BASE + names if not os.environ.get(n)]
    if missing:
        pytest.skip(f"live test: set {', '.join(missing)} to run it against a real account (docs/live-tests.md)")
    return {n: os.environ[n] for n in BASE + names}


def mutating() -> None:
    if os.environ.get("PAI_LIVE_MUTATE") != "1":
        pytest.skip("live test that creates billed resources: set PAI_LIVE_MUTATE=1 to run it (docs/live-tests.md)")


def live_connection() -> str:
    """The connection to the real account as Airflow's JSON form, from the environment only."""
    env = need()
    extra = {"region_id": env["PAI_LIVE_REGION"]}
    if os.environ.get("PAI_LIVE_SECURITY_TOKEN"):
        extra.update(auth_type="sts", security_token=os.environ["PAI_LIVE_SECURITY_TOKEN"])
    if os.environ.get("PAI_LIVE_CONN_EXTRA"):  # endpoints, endpoint types, dataworks_api_version ...
        more = json.loads(os.environ["PAI_LIVE_CONN_EXTRA"])
        if not isinstance(more, dict):
            raise ValueError("PAI_LIVE_CONN_EXTRA must be a JSON object, e.g. '{\"eas_endpoint_type\": \"vpc\"}'")
        extra.update(more)
    return json.dumps({"conn_type": "alibaba_cloud_pai", "login": env["PAI_LIVE_ACCESS_KEY_ID"],
                       "password": env["PAI_LIVE_ACCESS_KEY_SECRET"], "extra": extra})


@pytest.fixture
def live_conn(monkeypatch) -> str:
    """``pai_live``: an Airflow connection to the real account, from the environment only."""
    monkeypatch.setenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", live_connection())
    for var, value in REMOVED_PROXIES.items():  # a real account may sit behind the proxy tests/conftest.py removed
        monkeypatch.setenv(var, value)
    return CONN_ID
