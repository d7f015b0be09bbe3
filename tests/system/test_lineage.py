"""OpenLineage events of one run of the example DAG, through the OpenLineage provider's file transport.

The events' datasets and external job ids are compared with tests/fixtures/lineage/pai_train_deploy.json
(shown in docs/lineage.md). Regenerate it after a deliberate change with PAI_UPDATE_LINEAGE_FIXTURE=1.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

pytest.importorskip("airflow.providers.openlineage", reason="needs the 'openlineage' extra")

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "fixtures" / "lineage" / "pai_train_deploy.json"


def lineage_of(events_file: Path) -> list[dict]:
    """The task COMPLETE events that carry lineage, reduced to what is stable between runs."""
    found = []
    for line in events_file.read_text().splitlines():
        event = json.loads(line)
        run_facets = event["run"].get("facets") or {}
        external = run_facets.get("externalQuery")
        if event["eventType"] != "COMPLETE" or not (event.get("inputs") or event.get("outputs") or external):
            continue
        found.append({
            "job": event["job"]["name"],
            "inputs": [{"namespace": d["namespace"], "name": d["name"]} for d in event.get("inputs") or []],
            "outputs": [{"namespace": d["namespace"], "name": d["name"]} for d in event.get("outputs") or []],
            "externalQuery": {k: external[k] for k in ("source", "externalQueryId")} if external else None,
        })
    return sorted(found, key=lambda e: e["job"])


def test_one_run_of_the_example_dag_reports_its_lineage(pai_emulator, airflow_env, tmp_path):
    events = tmp_path / "events.jsonl"
    airflow_env.add_dag_file(ROOT / "example_dags" / "pai_train_deploy.py")
    env = {**pai_emulator.airflow_env(),
           "AIRFLOW__OPENLINEAGE__TRANSPORT": json.dumps({"type": "file", "log_file_path": str(events), "append": True}),
           "AIRFLOW__OPENLINEAGE__NAMESPACE": "pai_example",
           # The listener emits from a forked process, killed after this many seconds (default 10):
           # generous, as a loaded CI machine can take that long just to fork and import.
           "AIRFLOW__OPENLINEAGE__EXECUTION_TIMEOUT": "120"}
    result = airflow_env.dags_test("pai_train_deploy", logical_date="2026-11-20", env=env)
    assert airflow_env.run_state("pai_train_deploy") == "success", (result.stdout + result.stderr)[-4000:]
    got = lineage_of(events) if events.exists() else []
    if os.environ.get("PAI_UPDATE_LINEAGE_FIXTURE"):
        FIXTURE.write_text(json.dumps(got, indent=2) + "\n")
    assert got == json.loads(FIXTURE.read_text())
