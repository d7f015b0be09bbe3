"""A distributed Airflow 3 on 127.0.0.1: PostgreSQL metadata DB, Redis Celery broker, two Celery
workers, two triggerers, plus the api-server, scheduler and dag-processor of ``AirflowCluster``.

PostgreSQL and Redis are the distribution's packages (``scripts/setup-distributed.sh``), each run
with its own data dir on a free port and stopped with the deployment. The settings, the component
commands and the PostgreSQL/Redis servers are ``scripts/airflow_cluster.py``'s, the one-command
deployment users bring up from docs/deployment.md. Tests drive Airflow only
through the REST API, as ``tests/reliability/airflow_cluster.py`` does.
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

from scripts.airflow_cluster import RECOVERY_FAST, Postgres, Redis, celery_settings, component_commands
from tests.reliability.airflow_cluster import AirflowCluster

REPO = Path(__file__).resolve().parents[2]
WORKERS = ("worker-1", "worker-2")
TRIGGERERS = ("triggerer-1", "triggerer-2")


def services_installed() -> str | None:
    """None when PostgreSQL, Redis and the Celery provider are there, else what is missing."""
    missing = []
    if not glob.glob("/usr/lib/postgresql/*/bin/initdb"):
        missing.append("postgresql (apt)")
    if not shutil.which("redis-server"):
        missing.append("redis-server (apt)")
    try:
        import airflow.providers.celery  # noqa: F401
        import psycopg2  # noqa: F401
    except ImportError:
        missing.append("the [distributed] extra")
    return ", ".join(missing) or None


class DistributedCluster(AirflowCluster):
    """``AirflowCluster`` with the CeleryExecutor, PostgreSQL, Redis, two workers and two triggerers."""

    def __init__(self, home: Path, *, env: dict[str, str] | None = None, worker_concurrency: int = 8,
                 triggerer_capacity: int = 600, parallelism: int = 32):
        super().__init__(home, env=env, parallelism=parallelism)
        self.postgres = Postgres()
        self.redis = Redis(self.home / "redis")
        self.worker_concurrency = worker_concurrency
        self.triggerer_capacity = triggerer_capacity
        self.restarts: list[str] = []  # components that exited by themselves and were started again

    def _check_alive(self) -> None:
        """Like a process supervisor (systemd, Kubernetes): a component that exited is started again,
        and noted in ``restarts`` (a scenario that expects none checks it is empty)."""
        for component, proc in list(self._procs.items()):
            if proc.poll() is not None:
                self.restarts.append(f"{component} (exit {proc.returncode})")
                if len(self.restarts) > 30:
                    raise RuntimeError(f"components keep exiting: {self.restarts}\n{self.output_tail()}")
                self.start_component(component)

    def env(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        # The deployment's settings are scripts/airflow_cluster.py's (what docs/deployment.md shows),
        # with its short recovery timeouts so the kill scenarios end in seconds rather than minutes;
        # the JWT secret and API key stay the base harness's (the same for every component).
        base = super().env()
        distributed = {
            **celery_settings(sql_alchemy_conn=self.postgres.url, result_backend=self.postgres.celery_url,
                              broker_url=self.redis.url, base_url=self.base_url,
                              jwt_secret=base["AIRFLOW__API_AUTH__JWT_SECRET"],
                              api_secret_key=base["AIRFLOW__API__SECRET_KEY"],
                              worker_concurrency=self.worker_concurrency, recovery=RECOVERY_FAST),
            "AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG": "64",
            # As in production: a task whose calls kept failing past the hook's retries (37 % of
            # calls fail in the fault scenarios) gets another try, which reattaches to its run.
            "AIRFLOW__CORE__DEFAULT_TASK_RETRIES": "2",
            "AIRFLOW__CORE__DEFAULT_TASK_RETRY_DELAY": "5",
            "AIRFLOW__API__MAXIMUM_PAGE_LIMIT": "2000",
            # Each component reports its own name as its host (tests/distributed/hostname.py).
            "AIRFLOW__CORE__HOSTNAME_CALLABLE": "tests.distributed.hostname.component_hostname",
        }
        env = super().env({**distributed, **(extra or {})})
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p)
        return env

    def component_env(self, component: str) -> dict[str, str]:
        return {"PAI_TEST_COMPONENT": component}

    def commands(self) -> dict[str, list[str]]:
        return component_commands(WORKERS, TRIGGERERS, self.triggerer_capacity)

    def begin_migration(self) -> None:
        self.postgres.start()
        self.redis.start()
        super().begin_migration()

    def start(self, timeout: float = 180) -> DistributedCluster:
        if self._migration is None:
            self.postgres.start()
            self.redis.start()
        super().start(timeout)
        self.wait_for_workers(len(WORKERS))
        return self

    def stop(self) -> None:
        try:
            super().stop()
        finally:
            try:
                self.redis.stop()
            finally:
                self.postgres.cleanup()

    # components ------------------------------------------------------------------------------

    def pid(self, component: str) -> int:
        return self._procs[component].pid

    def kill(self, component: str) -> None:
        """SIGKILL a component's whole process group (its task or trigger subprocesses too), as an OOM kill."""
        proc = self._procs.pop(component)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()

    def restart_component(self, component: str) -> None:
        if component in self._procs:
            self.kill(component)
        self.start_component(component)

    def wait_for_workers(self, count: int, timeout: float = 120) -> None:
        """Wait until ``count`` Celery workers answer a ping over the broker."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._check_alive()
            result = subprocess.run(
                [_celery_bin(), "-b", self.redis.url, "inspect", "ping", "--timeout", "2", "--json"],
                env=self.env(), capture_output=True, text=True, timeout=60)
            if result.stdout.count('"ok"') >= count:
                return
            time.sleep(1)
        raise TimeoutError(f"{count} Celery workers not up in {timeout}s:\n{self.output_tail()}")

    def triggerer_jobs(self) -> list[dict]:
        return self.api("GET", "/jobs?job_type=TriggererJob&limit=100")["jobs"]


def _celery_bin() -> str:
    from tests.airflow_harness import AIRFLOW_BIN

    return str(Path(AIRFLOW_BIN).with_name("celery"))
