"""The demo behind scripts/demo.sh: the emulator, an AIRFLOW_HOME in the checkout, three DAG runs."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

from airflow_provider_pai.emulator.process import EmulatorProcess

ROOT = Path(__file__).resolve().parent.parent
AIRFLOW = str(Path(sys.executable).with_name("airflow"))
DAG_ID = "pai_train_deploy"
SERVICE = "churn_model"
RUNS = [
    # (label, logical date, conf, expected task states)
    ("good model", "2026-11-20", {}, {"test_service": "success", "rollback": "skipped", "report": "success"}),
    (
        "broken model",
        "2026-11-21",
        {"node_id": 700002, "output_prefix": "oss://pai-demo/designer/churn_broken/"},
        {"test_service": "failed", "rollback": "success", "report": "failed"},
    ),
    (  # the same DAG on a workspace on the new Data Studio: DataWorks OpenAPI 2024-05-18, chosen by auto
        "good model, new Data Studio",
        "2026-11-22",
        {"project_id": 20001, "node_id": 900001, "output_prefix": "oss://pai-demo/designer/churn_studio/"},
        {"train": "success", "test_service": "success", "rollback": "skipped", "report": "success"},
    ),
]


def airflow(*args: str, env: dict, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run([AIRFLOW, *args], env=env, capture_output=True, text=True)
    if check and result.returncode != 0:
        sys.exit(f"airflow {' '.join(args)} failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}")
    return result


def task_states(env: dict, run_id: str) -> dict[str, str]:
    out = airflow("tasks", "states-for-dag-run", DAG_ID, run_id, "-o", "plain", env=env).stdout
    states = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 4 and parts[0] == DAG_ID:
            states[parts[2]] = parts[3]
    return states


def links(home: Path, run_id: str) -> list[str]:
    """The console links the tasks persisted (what the Airflow UI shows as extra links)."""
    with sqlite3.connect(home / "airflow.db") as db:
        rows = db.execute(
            "SELECT DISTINCT value FROM xcom WHERE dag_id=? AND run_id=? AND key LIKE '_link_%'", (DAG_ID, run_id)
        ).fetchall()
    return sorted(json.loads(value) for (value,) in rows)


def deployed_version(home: Path, run_id: str) -> int | None:
    with sqlite3.connect(home / "airflow.db") as db:
        row = db.execute(
            "SELECT value FROM xcom WHERE dag_id=? AND run_id=? AND task_id='deploy' AND key='return_value'",
            (DAG_ID, run_id),
        ).fetchone()
    return json.loads(row[0]).get("version") if row else None


CUSTOMERS = [{"tenure": 2, "monthly_charges": 95.0, "contract": "month-to-month"},
             {"tenure": 60, "monthly_charges": 25.0, "contract": "two_year"}]


def serving() -> tuple[int, str]:
    """The version and model the service is on; a prediction proves the PMML model answers."""
    from airflow_provider_pai.hooks.eas import EasHook

    hook = EasHook()
    answer = hook.predict(SERVICE, CUSTOMERS)  # the PMML processor: one record in, one object out
    if not all(0.0 <= row["probability(1)"] <= 1.0 for row in answer):
        raise RuntimeError(f"{SERVICE} answered {answer}")
    service = hook.describe_service(SERVICE)
    return service["CurrentVersion"], json.loads(service["ServiceConfig"])["model_path"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--keep", action="store_true", help="leave the emulator data dir in place")
    args = parser.parse_args()

    home = ROOT / ".airflow_home"
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir()
    data_dir = Path(tempfile.mkdtemp(prefix="pai-emulator-"))
    ok = True
    with EmulatorProcess(data_dir=data_dir) as emulator:
        os.environ.update(emulator.airflow_env())  # for serving(): the hook reads pai_default from here
        env = {
            **os.environ,
            **emulator.airflow_env(),
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "example_dags"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        }
        env.pop("AIRFLOW_CONN_PAI_DEFAULT")  # the connection lives in the metadata DB, as a user would have it
        print(f"emulator: {emulator.url}   AIRFLOW_HOME: {home}")
        airflow("db", "migrate", env=env)
        airflow(
            "connections", "add", "pai_default", "--conn-type", "alibaba_cloud_pai",
            "--conn-login", emulator.access_key_id, "--conn-password", emulator.access_key_secret,
            "--conn-extra", json.dumps(emulator.connection_extra), env=env,
        )
        summary = []
        for label, date, conf, expected in RUNS:
            before = serving()
            print(f"\n=== run: {label} ({date}) ===", flush=True)
            result = airflow("dags", "test", DAG_ID, date, "-c", json.dumps(conf), env=env, check=False)
            log_path = home / f"dags-test-{date}.log"
            log_path.write_text(result.stdout + result.stderr)
            remote_lines = sum("[dataworks]" in line for line in (result.stdout + result.stderr).splitlines())
            run_id = airflow("dags", "list-runs", DAG_ID, "-o", "plain", env=env).stdout
            run_id = next(line.split()[1] for line in run_id.splitlines() if date in line and line.startswith(DAG_ID))
            states = task_states(env, run_id)
            after = serving()
            wanted_after_version = before[0] if label == "broken model" else None
            run_ok = all(states.get(t) == s for t, s in expected.items())
            if label.startswith("good model"):
                run_ok = run_ok and after[0] > before[0]
            else:
                run_ok = run_ok and after[0] == wanted_after_version
            ok = ok and run_ok
            summary.append(
                f"{'PASS' if run_ok else 'FAIL'}  {label:27} serving v{before[0]} ({before[1]}) -> "
                f"v{after[0]} ({after[1]}); deployed v{deployed_version(home, run_id)}\n      tasks: {states}\n"
                f"      DataWorks log lines in the task log: {remote_lines}\n"
                + "".join(f"      link: {url}\n" for url in links(home, run_id))
                + f"      full log: {log_path}"
            )
        print("\n=== summary ===")
        print("\n".join(summary))
        print(f"emulator API calls: {json.dumps(emulator.calls())}")
    if not args.keep:
        shutil.rmtree(data_dir, ignore_errors=True)
    print("demo " + ("passed" if ok else "FAILED"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
