"""A real, multi-process Airflow 3 for tests: scheduler, triggerer, API server and DAG processor.

Each component is its own ``airflow <component>`` process sharing one AIRFLOW_HOME, the
LocalExecutor and a SQLite metadata DB (Airflow 3 supports SQLite with the LocalExecutor: it is
what ``airflow standalone`` runs; SQLite allows one writer at a time, so keep the load small).
Tests drive it only through the public REST API v2 with a JWT from ``/auth/token`` (simple auth
manager, a user ``admin`` with a password file written here), as a user's tooling would.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from scripts.airflow_cluster import free_port, stop_process_groups
from tests.airflow_harness import AIRFLOW_BIN, AirflowEnv

COMPONENTS = ("api-server", "scheduler", "triggerer", "dag-processor")
TERMINAL_RUN_STATES = ("success", "failed")
ADMIN_USER = "admin"

_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class ApiError(RuntimeError):
    def __init__(self, status: int, method: str, path: str, body: str):
        super().__init__(f"{method} {path} -> HTTP {status}: {body[:2000]}")
        self.status = status


class AirflowCluster(AirflowEnv):
    """``with AirflowCluster(home, env=emu.airflow_env()) as af: af.trigger(...)``.

    ``env`` is added to every component's environment (e.g. the ``pai_default`` connection);
    component output goes to ``home/<component>.out``.
    """

    def __init__(self, home: Path, *, env: dict[str, str] | None = None, parallelism: int = 4,
                 port: int | None = None):
        super().__init__(home)
        self._fixed_port = port  # None: a free port, picked at start()
        self.port = port or free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.password = secrets.token_urlsafe(16)
        self.passwords_file = self.home / "passwords.json"
        self.extra_env = dict(env or {})  # may be completed until start()
        self._parallelism = parallelism
        self._procs: dict[str, subprocess.Popen] = {}
        self._migration: subprocess.Popen | None = None
        self._token: str | None = None

    def env(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        cluster = {
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__PARALLELISM": str(self._parallelism),
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.base_url}/execution/",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{ADMIN_USER}:admin",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(self.passwords_file),
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(self.port),
            "AIRFLOW__API__BASE_URL": self.base_url,
            "AIRFLOW__API__WORKERS": "1",
            # Every component signs and checks the same JWTs (task workers -> execution API).
            "AIRFLOW__API_AUTH__JWT_SECRET": "reliability-test-jwt-secret-0123456789",
            "AIRFLOW__API__SECRET_KEY": "reliability-test-secret-key",
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "5",
            "AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME": "0.5",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
            "AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG": "8",
        }
        return super().env({**cluster, **self.extra_env, **(extra or {})})

    # lifecycle -------------------------------------------------------------------------------

    def begin_migration(self) -> None:
        """Run ``airflow db migrate`` in the background (most of a minute on SQLite); start() waits for it."""
        log = open(self.home / "migrate.out", "ab")
        self._migration = subprocess.Popen([AIRFLOW_BIN, "db", "migrate"], env=self.env(), stdout=log,
                                           stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        log.close()

    def _finish_migration(self) -> None:
        if self._migration is None:
            self.migrate()
        elif self._migration.wait(timeout=600) != 0:
            raise RuntimeError("airflow db migrate failed:\n" + (self.home / "migrate.out").read_text()[-3000:])

    def start(self, timeout: float = 120) -> AirflowCluster:
        self.passwords_file.write_text(json.dumps({ADMIN_USER: self.password}))
        self._finish_migration()
        self.port = self._fixed_port or free_port()  # picked now: a port found free minutes ago may be taken since
        self.base_url = f"http://127.0.0.1:{self.port}"
        for component in self.commands():
            self.start_component(component)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._check_alive()
            try:
                health = self._request("GET", "/api/v2/monitor/health", auth=False)
                if health.get("scheduler", {}).get("status") == "healthy" and \
                        health.get("triggerer", {}).get("status") == "healthy" and \
                        health.get("dag_processor", {}).get("status") == "healthy":
                    return self
            except (OSError, ApiError):
                pass
            time.sleep(1)
        self.stop()
        raise RuntimeError(f"Airflow cluster not healthy after {timeout}s:\n{self.output_tail()}")

    def commands(self) -> dict[str, list[str]]:
        """Each component's name (its output file's stem) and ``airflow`` arguments; subclasses add more."""
        return {component: [component] for component in COMPONENTS}

    def component_env(self, component: str) -> dict[str, str]:
        """Environment of one component only (on top of ``env()``)."""
        return {}

    def start_component(self, component: str) -> subprocess.Popen:
        out = open(self.home / f"{component}.out", "ab")
        self._procs[component] = subprocess.Popen(
            [AIRFLOW_BIN, *self.commands()[component]], env=self.env(self.component_env(component)), stdout=out, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,  # its own group: stop() ends it whole
        )
        out.close()
        return self._procs[component]

    def _check_alive(self) -> None:
        for component, proc in self._procs.items():
            if proc.poll() is not None:
                tail = self.output_tail()
                self.stop()
                raise RuntimeError(f"airflow {component} exited with {proc.returncode}:\n{tail}")

    def output_tail(self, chars: int = 3000) -> str:
        return "\n".join(
            f"--- {c} ---\n" + (self.home / f"{c}.out").read_text(errors="replace")[-chars:]
            for c in self.commands() if (self.home / f"{c}.out").exists()
        )

    def stop(self) -> None:
        if self._migration is not None and self._migration.poll() is None:
            self._migration.kill()
            self._migration.wait()
        procs, self._procs = self._procs, {}
        stop_process_groups(procs.values(), timeout=20)

    def __enter__(self) -> AirflowCluster:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # REST API v2 -----------------------------------------------------------------------------

    def token(self) -> str:
        if self._token is None:
            answer = self._request("POST", "/auth/token", {"username": ADMIN_USER, "password": self.password},
                                   auth=False)
            self._token = answer["access_token"]
        return self._token

    def _request(self, method: str, path: str, payload: Any = None, *, auth: bool = True) -> Any:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if auth:
            headers["Authorization"] = f"Bearer {self.token()}"
        data = json.dumps(payload).encode() if payload is not None else None
        req = urllib.request.Request(self.base_url + path, data=data, method=method, headers=headers)
        try:
            with _opener.open(req, timeout=30) as resp:
                body = resp.read()
        except urllib.error.HTTPError as err:
            raise ApiError(err.code, method, path, err.read().decode(errors="replace")) from None
        return json.loads(body) if body else None

    def api(self, method: str, path: str, payload: Any = None) -> Any:
        """Call ``/api/v2<path>``; raises ApiError on HTTP errors."""
        return self._request(method, "/api/v2" + path, payload)

    def wait_for_dag(self, dag_id: str, timeout: float = 90) -> dict:
        """Wait until the DAG processor has parsed ``dag_id``; unpause it; fail on import errors."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._check_alive()
            errors = self.api("GET", "/importErrors")["import_errors"]
            if errors:
                raise AssertionError(f"DAG import errors: {errors}")
            try:
                self.api("GET", f"/dags/{dag_id}")
                return self.api("PATCH", f"/dags/{dag_id}", {"is_paused": False})
            except ApiError as err:
                if err.status != 404:
                    raise
            time.sleep(1)
        raise TimeoutError(f"DAG {dag_id} not parsed in {timeout}s:\n{self.output_tail()}")

    def trigger(self, dag_id: str, *, logical_date: str, conf: dict | None = None, run_id: str | None = None) -> str:
        body = {"logical_date": logical_date, "conf": conf or {}}
        if run_id:
            body["dag_run_id"] = run_id
        return self.api("POST", f"/dags/{dag_id}/dagRuns", body)["dag_run_id"]

    def run(self, dag_id: str, run_id: str) -> dict:
        return self.api("GET", f"/dags/{dag_id}/dagRuns/{_q(run_id)}")

    def wait_for_run(self, dag_id: str, run_id: str, timeout: float = 180) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._check_alive()
            state = self.run(dag_id, run_id)["state"]
            if state in TERMINAL_RUN_STATES:
                return state
            time.sleep(1)
        raise TimeoutError(f"run {run_id} of {dag_id} not finished in {timeout}s: "
                           f"{self.task_instances(dag_id, run_id)}\n{self.output_tail()}")

    def task_instances(self, dag_id: str, run_id: str) -> dict[str, dict]:
        answer = self.api("GET", f"/dags/{dag_id}/dagRuns/{_q(run_id)}/taskInstances")
        return {ti["task_id"]: ti for ti in answer["task_instances"]}

    def task_instance(self, dag_id: str, run_id: str, task_id: str) -> dict:
        return self.api("GET", f"/dags/{dag_id}/dagRuns/{_q(run_id)}/taskInstances/{task_id}")

    def wait_for_task_state(self, dag_id: str, run_id: str, task_id: str, states: tuple[str, ...],
                            timeout: float = 120, try_number: int | None = None) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._check_alive()
            ti = self.task_instance(dag_id, run_id, task_id)
            if ti["state"] in states and try_number in (None, ti["try_number"]):
                return ti
            time.sleep(0.5)
        raise TimeoutError(f"{task_id} not in {states} after {timeout}s: {ti}\n{self.output_tail()}")

    def links(self, dag_id: str, run_id: str, task_id: str) -> dict[str, str | None]:
        return self.api("GET", f"/dags/{dag_id}/dagRuns/{_q(run_id)}/taskInstances/{task_id}/links")["extra_links"]

    def xcoms(self, dag_id: str, run_id: str, task_id: str) -> dict[str, Any]:
        """Every XCom of a task instance, deserialized, by key."""
        base = f"/dags/{dag_id}/dagRuns/{_q(run_id)}/taskInstances/{task_id}/xcomEntries"
        keys = [e["key"] for e in self.api("GET", base)["xcom_entries"]]
        return {key: self.api("GET", f"{base}/{_q(key)}?deserialize=true")["value"] for key in keys}

    def task_log(self, dag_id: str, run_id: str, task_id: str, try_number: int = 1) -> str:
        """The task log as served by the API server, one line per structured log event."""
        answer = self.api("GET", f"/dags/{dag_id}/dagRuns/{_q(run_id)}/taskInstances/{task_id}/logs/"
                                 f"{try_number}?full_content=true")
        content = answer["content"]
        if isinstance(content, str):
            return content
        return "\n".join(json.dumps(item) if not isinstance(item, str) else item for item in content)

    # the task processes ----------------------------------------------------------------------

    def task_process_pids(self, ti_id: str) -> list[int]:
        """Pids of the task runner for a task instance: the process titled ``airflow worker -- <ti id>``.

        That process runs the operator's code; its parent (the supervisor) reports how it ended.
        """
        title = f"airflow worker -- {ti_id}"
        pids = []
        for proc in Path("/proc").iterdir():
            if not proc.name.isdigit():
                continue
            try:
                cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
            except OSError:
                continue
            if cmdline == title:
                pids.append(int(proc.name))
        return pids


def _q(run_id: str) -> str:
    return urllib.parse.quote(run_id, safe="")
