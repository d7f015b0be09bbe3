"""Issue 27 item 3: ``scripts/airflow_ui.py up`` shows everything: every example DAG in the DAGs list
(in a real browser), one emulator started from ``--scenario FILE``, and every process stopped on
SIGTERM."""

from __future__ import annotations

import copy
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from airflow_provider_pai.emulator.scenario import DEMO_SCENARIO, load_scenario
from airflow_provider_pai.version_compat import AIRFLOW_V_3_3_PLUS
from tests.ui.stack import REPO, UserView, browser_page, missing_browser

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not AIRFLOW_V_3_3_PLUS, reason="scripts/airflow_ui.py runs Airflow 3 (the .venv leg)"),
]

EXAMPLE_DAG_IDS = {"pai_train_deploy", "pai_canary_release", "pai_train_accept", "pai_deploy_accepted",
                   "pai_initial_deploy", "pai_train_register", "pai_deploy_approved"}
MARKER_NODE = {"node_id": 777777, "node_name": "from_the_scenario_file", "program_type": "PAI_STUDIO",
               "run_seconds": 30, "outcome": "SUCCESS", "log": ["a line"]}


def test_up_shows_every_example_dag_from_one_emulator_of_the_given_scenario(tmp_path, ui_artifacts):
    why = missing_browser()
    if why:
        pytest.fail(f"the browser tests need Chromium and playwright: {why}")
    assert {p.stem for p in (REPO / "example_dags").glob("*.py")} == EXAMPLE_DAG_IDS  # a new example: list it here
    scenario = copy.deepcopy(load_scenario(DEMO_SCENARIO))
    scenario["dataworks"]["projects"][0]["nodes"].append(MARKER_NODE)
    scenario_file = tmp_path / "mine.json"
    scenario_file.write_text(json.dumps(scenario))
    out_path = tmp_path / "up.out"
    with open(out_path, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, str(REPO / "scripts" / "airflow_ui.py"), "up", "--port", "0", "--home", str(tmp_path / "home"),
             "--scenario", str(scenario_file)],
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
            env={**os.environ, "PYTHONPATH": str(REPO)})
    try:
        text = wait_for_output(proc, out_path, "Ctrl-C stops everything", timeout=600)
        url, password = re.search(r"Airflow UI: (http://127\.0\.0\.1:\d+)\s+\(user admin, password (\S+)\)", text).groups()
        emulator = re.search(r"emulator:\s+(http://127\.0\.0\.1:\d+)", text).group(1)
        assert text.count("emulator:") == 1  # one emulator serves every DAG
        assert "node_id 700006" in text  # the shipped long node, named where the user reads it
        state = json.loads(urllib.request.build_opener(urllib.request.ProxyHandler({})).open(
            f"{emulator}/_emulator/state", timeout=30).read())
        assert state["dataworks"]["nodes"][str(MARKER_NODE["node_id"])]["node_name"] == MARKER_NODE["node_name"]
        with browser_page(url, password) as page:
            user = UserView(page, ui_artifacts / "up")
            deadline = time.monotonic() + 180
            while True:  # the dag-processor parses the folder within a minute or two
                listed = user.visit("/dags", "dags-list", wait_for="pai_train_deploy")
                if all(dag_id in listed for dag_id in EXAMPLE_DAG_IDS) or time.monotonic() > deadline:
                    break
                time.sleep(10)
            missing = {dag_id for dag_id in EXAMPLE_DAG_IDS if dag_id not in listed}
            assert not missing, f"not in the DAGs list: {missing}"
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 0, out_path.read_text()[-3000:]
    assert "stopping ..." in out_path.read_text()


def wait_for_output(proc: subprocess.Popen, path: Path, text: str, *, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while True:
        content = path.read_text(errors="replace")
        if text in content:
            return content
        assert proc.poll() is None, content[-3000:]
        assert time.monotonic() < deadline, content[-3000:]
        time.sleep(2)
