"""The Airflow 3 UI's connection Test button, as the UI sends it, against a real api-server and the emulator.

The Connections list's Test button (Airflow 3.3 UI, ``airflow/ui/dist``) posts the row as listed, with
``host: host ?? ""`` and ``port: Number(port)``: a NULL port becomes ``0``. The route compares that with
the stored connection (``_same_endpoint`` treats ``""`` as NULL but not ``0``) and refuses the masked
``"***"`` password the UI sends: HTTP 400 "The host or port to test differs from the stored connection".
Upstream fix: apache/airflow#73298. ``docs/connection.md`` gives the workaround tested here.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow]

UPSTREAM_400 = "The host or port to test differs from the stored connection"


@pytest.fixture
def api_server(tmp_path: Path, pai_emulator):
    """Only ``airflow api-server`` (the Test button needs nothing else), with Test connection enabled."""
    airflow = pytest.importorskip("airflow")
    if int(airflow.__version__.split(".")[0]) < 3:
        pytest.skip("the React UI's Test button and POST /api/v2/connections/test are Airflow 3")
    from tests.airflow_harness import AIRFLOW_BIN
    from tests.reliability.airflow_cluster import AirflowCluster, ApiError

    cluster = AirflowCluster(tmp_path / "home", env={"AIRFLOW__CORE__TEST_CONNECTION": "Enabled"})
    cluster.passwords_file.write_text(json.dumps({"admin": cluster.password}))
    cluster.migrate()
    out = open(cluster.home / "api-server.out", "ab")
    proc = subprocess.Popen([AIRFLOW_BIN, "api-server"], env=cluster.env(), stdout=out, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, start_new_session=True)
    out.close()
    try:
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, (cluster.home / "api-server.out").read_text()[-3000:]
            try:
                cluster._request("GET", "/api/v2/monitor/health", auth=False)
                break
            except (OSError, ApiError):
                assert time.monotonic() < deadline, (cluster.home / "api-server.out").read_text()[-3000:]
                time.sleep(1)
        yield cluster
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _store(cluster, pai_emulator, conn_id: str, **fields) -> None:
    """Create the connection as the UI's Add form does (hidden host/schema/port are left out)."""
    body = {"connection_id": conn_id, "conn_type": "alibaba_cloud_pai", "login": pai_emulator.access_key_id,
            "password": pai_emulator.access_key_secret, "extra": json.dumps(pai_emulator.connection_extra), **fields}
    cluster.api("POST", "/connections", body)


def _press_test(cluster, conn_id: str):
    """POST exactly what the Connections list's Test button posts for the listed row."""
    from tests.reliability.airflow_cluster import ApiError

    listed = cluster.api("GET", "/connections?limit=100")["connections"]
    (row,) = [c for c in listed if c["connection_id"] == conn_id]
    port = row.get("port")
    body = {
        "conn_type": row["conn_type"], "connection_id": row["connection_id"],
        "description": row.get("description") or "", "extra": row.get("extra") or "{}",
        "host": row.get("host") or "", "login": row.get("login") or "", "password": row.get("password") or "",
        "port": 0 if port is None else int(port),  # JavaScript's Number(null) is 0
        "schema": row.get("schema") or "",
    }
    try:
        return 200, cluster.api("POST", "/connections/test", body)
    except ApiError as err:
        return err.status, str(err)


def test_the_form_the_ui_renders(api_server):
    """What the api-server gives the UI's connection form for this type (hook_meta)."""
    metas = api_server._request("GET", "/ui/connections/hook_meta")
    (meta,) = [m for m in metas if m["connection_type"] == "alibaba_cloud_pai"]
    assert meta["hook_class_name"] == "airflow_provider_pai.hooks.connection.PaiConnectionHook"
    standard = meta["standard_fields"]
    assert standard["host"]["hidden"] and not standard["port"]["hidden"] and not standard["url_schema"]["hidden"]
    assert standard["login"]["title"] == "AccessKey ID" and standard["login"]["placeholder"].startswith("LTAI")
    # The region beside the keys, with a placeholder (extra fields get none in Airflow 3.3's form).
    assert standard["url_schema"]["title"] == "Region ID" and standard["url_schema"]["placeholder"].startswith("cn-shanghai")
    assert standard["port"]["placeholder"].startswith("443")
    extras = meta["extra_fields"]
    assert list(extras)[:3] == ["auth_type", "endpoint_type", "dataworks_api_version"]
    assert "region_id" not in extras
    assert extras["security_token"]["schema"]["format"] == "password"
    assert extras["dataworks_api_version"]["value"] == "auto"
    assert {extras[name]["schema"].get("section") for name in ("eas_endpoint", "oss_endpoint_type")} == {
        "Endpoints and network (optional)"}


def test_the_documented_workaround_makes_the_test_button_green(api_server, pai_emulator):
    """Any stored port (the provider ignores it) makes the button's port match the stored one."""
    _store(api_server, pai_emulator, "pai_ui_port", port=443)
    pai_emulator.reset_calls()
    status, answer = _press_test(api_server, "pai_ui_port")
    assert status == 200, answer
    assert answer["status"] is True, answer["message"]
    for service in ("DataWorks", "PAI-EAS", "OSS"):
        assert service in answer["message"]
    assert set(pai_emulator.calls()) >= {"dataworks", "eas", "oss"}
    assert pai_emulator.access_key_secret not in json.dumps(answer)


def test_without_a_port_airflow_3_3_refuses_the_test_upstream(api_server, pai_emulator):
    """Tripwire for apache/airflow#73298: when the installed Airflow has the fix this fails; then drop
    the workaround from docs/connection.md and assert a green answer here."""
    _store(api_server, pai_emulator, "pai_ui_noport")
    status, answer = _press_test(api_server, "pai_ui_noport")
    assert status == 400 and UPSTREAM_400 in answer, answer


def test_a_connection_as_the_form_saves_it_tests_green_and_a_wrong_secret_says_why(api_server, pai_emulator):
    """Issue 27 item 2: Region ID in the relabelled Schema field and the Port the form now shows; then
    the same with a wrong secret: the answer leads with what to fix, in words about this connection."""
    extra = {k: v for k, v in pai_emulator.connection_extra.items() if k != "region_id"}
    _store(api_server, pai_emulator, "pai_ui_form", port=443, schema=pai_emulator.region_id, extra=json.dumps(extra))
    status, answer = _press_test(api_server, "pai_ui_form")
    assert status == 200 and answer["status"] is True, answer
    _store(api_server, pai_emulator, "pai_ui_wrong", port=443, schema=pai_emulator.region_id, extra=json.dumps(extra),
           password="not-the-secret")
    status, answer = _press_test(api_server, "pai_ui_wrong")
    assert status == 200 and answer["status"] is False, answer
    assert answer["message"].startswith("DataWorks, PAI-EAS and OSS failed: SignatureDoesNotMatch: check the "
                                        "AccessKey secret (password) in this connection."), answer["message"]
    assert "not-the-secret" not in json.dumps(answer)
