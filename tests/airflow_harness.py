"""A real Airflow for tests: its own AIRFLOW_HOME, a migrated SQLite metadata DB, `airflow dags test` runs.

Task states and XCom are read back from the metadata database, so a test checks what Airflow
recorded, not what a Python call returned.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

from airflow_provider_pai.version_compat import AIRFLOW_V_3_0_PLUS

AIRFLOW_BIN = str(Path(sys.executable).with_name("airflow"))
# Airflow 2's `dags test` echoes every task log record twice on stdout: once through the stream
# handler it adds to the task logger (this format), once through the root console handler.
_AF2_DAGS_TEST_ECHO = re.compile(
    r"^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}\] \{[^}]+\} \w+ - .*\n"  # the record's first line
    r"(?:(?!\[\d{4}-\d\d-\d\d[ T]\d\d:).*\n)*",  # and its continuation lines (tracebacks, log tails)
    re.MULTILINE,
)
PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")


class AirflowEnv:
    def __init__(self, home: Path):
        self.home = Path(home)
        self.dags_folder = self.home / "dags"
        self.dags_folder.mkdir(parents=True, exist_ok=True)
        self.db_path = self.home / "airflow.db"

    def env(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in PROXY_VARS}
        env.update(
            AIRFLOW_HOME=str(self.home),
            AIRFLOW__CORE__DAGS_FOLDER=str(self.dags_folder),
            AIRFLOW__CORE__LOAD_EXAMPLES="False",
            AIRFLOW__CORE__UNIT_TEST_MODE="False",
            AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{self.db_path}",
            AIRFLOW__LOGGING__LOGGING_LEVEL="INFO",
            NO_PROXY="*",
        )
        env.update(extra or {})
        return env

    def airflow(self, *args: str, env: dict | None = None, timeout: float = 900, check: bool = False):
        return subprocess.run(
            [AIRFLOW_BIN, *args],
            env=self.env(env),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=check,
        )

    def migrate(self) -> None:
        result = self.airflow("db", "migrate")
        if result.returncode != 0:
            raise RuntimeError(f"airflow db migrate failed:\n{result.stdout}\n{result.stderr}")

    def add_dag_file(self, path: str | os.PathLike, name: str | None = None) -> Path:
        dest = self.dags_folder / (name or Path(path).name)
        shutil.copyfile(path, dest)
        return dest

    def dags_test(
        self,
        dag_id: str,
        *,
        conf: dict | None = None,
        logical_date: str | None = None,
        env: dict | None = None,
        timeout: float = 900,
    ) -> subprocess.CompletedProcess:
        """Run `airflow dags test`; stdout+stderr hold the task logs (the remote log lines included)."""
        args = ["dags", "test", dag_id]
        if logical_date:
            args.append(logical_date)
        if conf is not None:
            args += ["-c", json.dumps(conf)]
        result = self.airflow(*args, env=env, timeout=timeout)
        if not AIRFLOW_V_3_0_PLUS:  # keep one copy of each record, as Airflow 3 prints it
            result.stdout = _AF2_DAGS_TEST_ECHO.sub("", result.stdout)
        return result

    def _query(self, sql: str, params: tuple = ()) -> list[tuple]:
        with sqlite3.connect(self.db_path) as db:
            return db.execute(sql, params).fetchall()

    def latest_run_id(self, dag_id: str) -> str | None:
        rows = self._query(
            "SELECT run_id FROM dag_run WHERE dag_id=? ORDER BY id DESC LIMIT 1", (dag_id,)
        )
        return rows[0][0] if rows else None

    def run_state(self, dag_id: str, run_id: str | None = None) -> str | None:
        run_id = run_id or self.latest_run_id(dag_id)
        rows = self._query("SELECT state FROM dag_run WHERE dag_id=? AND run_id=?", (dag_id, run_id))
        return rows[0][0] if rows else None

    def task_states(self, dag_id: str, run_id: str | None = None) -> dict[str, str]:
        run_id = run_id or self.latest_run_id(dag_id)
        rows = self._query(
            "SELECT task_id, state FROM task_instance WHERE dag_id=? AND run_id=?", (dag_id, run_id)
        )
        return dict(rows)

    def xcom(self, dag_id: str, task_id: str, key: str = "return_value", run_id: str | None = None) -> Any:
        run_id = run_id or self.latest_run_id(dag_id)
        rows = self._query(
            "SELECT value FROM xcom WHERE dag_id=? AND task_id=? AND key=? AND run_id=?",
            (dag_id, task_id, key, run_id),
        )
        if not rows:
            return None
        value = rows[0][0]
        return json.loads(value) if isinstance(value, (str, bytes)) else value

    def all_xcom_values(self, dag_id: str, run_id: str | None = None) -> list[tuple[str, str, str]]:
        """(task_id, key, raw value) for every XCom of a run, e.g. to scan for leaked secrets."""
        run_id = run_id or self.latest_run_id(dag_id)
        return self._query("SELECT task_id, key, value FROM xcom WHERE dag_id=? AND run_id=?", (dag_id, run_id))

    def rendered_fields(self, dag_id: str, run_id: str | None = None) -> list[tuple[str, str]]:
        run_id = run_id or self.latest_run_id(dag_id)
        return self._query(
            "SELECT task_id, rendered_fields FROM rendered_task_instance_fields WHERE dag_id=? AND run_id=?",
            (dag_id, run_id),
        )

    def task_log_text(self, dag_id: str) -> str:
        """Every task log file written under AIRFLOW_HOME/logs for a DAG."""
        root = self.home / "logs" / f"dag_id={dag_id}"
        return "\n".join(p.read_text(errors="replace") for p in sorted(root.rglob("*.log"))) if root.exists() else ""
