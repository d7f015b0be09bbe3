"""A distributed Airflow 3 on 127.0.0.1: PostgreSQL metadata DB, Redis Celery broker, two Celery
workers, two triggerers, plus the api-server, scheduler and dag-processor of ``AirflowCluster``.

PostgreSQL and Redis are the distribution's packages (``scripts/setup-distributed.sh``), each run
with its own data dir on a free port and stopped with the deployment. Tests drive Airflow only
through the REST API, as ``tests/reliability/airflow_cluster.py`` does.
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from tests.reliability.airflow_cluster import AirflowCluster, free_port

REPO = Path(__file__).resolve().parents[2]
WORKERS = ("worker-1", "worker-2")
TRIGGERERS = ("triggerer-1", "triggerer-2")


def _pg_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        raise RuntimeError("PostgreSQL is not installed: run scripts/setup.sh (apt-get install postgresql)")
    return found[-1]


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


class Postgres:
    """A throwaway PostgreSQL cluster: trust auth on 127.0.0.1 only, no fsync (test data)."""

    def __init__(self) -> None:
        # The server runs as the postgres user, which cannot enter pytest's 0700 tmp dirs.
        self.root = Path(tempfile.mkdtemp(prefix="pai-distributed-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        shutil.chown(self.root, "postgres", "postgres")
        self.url = f"postgresql+psycopg2://postgres@127.0.0.1:{self.port}/airflow"
        self.celery_url = f"db+postgresql+psycopg2://postgres@127.0.0.1:{self.port}/airflow"

    def _as_postgres(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(["runuser", "-u", "postgres", "--", *args], capture_output=True, text=True,
                              check=check, timeout=120, cwd=self.root)

    def start(self) -> Postgres:
        if not self.data.exists():
            self._as_postgres(_pg_bin("initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust",
                              "--no-sync", "-E", "UTF8")
            created = True
        else:
            created = False
        options = (f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off -c max_connections=400")
        self._as_postgres(_pg_bin("pg_ctl"), "-D", str(self.data), "-o", options, "-l", str(self.root / "server.log"),
                          "-w", "-t", "60", "start")
        if created:
            self._as_postgres(_pg_bin("createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "airflow")
        return self

    def stop(self, mode: str = "fast") -> None:
        if self.data.exists():
            self._as_postgres(_pg_bin("pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop", check=False)

    def restart(self) -> None:
        self.stop()
        self.start()

    def cleanup(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


class Redis:
    """redis-server in the foreground, nothing persisted (``--save ''``): a restart loses the queue."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._proc: subprocess.Popen | None = None

    def start(self) -> Redis:
        log = open(self.root / "redis.out", "ab")
        self._proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.root)], stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True)
        log.close()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        return self
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("redis-server did not start:\n" + (self.root / "redis.out").read_text()[-2000:])

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._proc = None

    def restart(self) -> None:
        self.stop()
        self.start()


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
        distributed = {
            "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": self.postgres.url,
            "AIRFLOW__CELERY__BROKER_URL": self.redis.url,
            "AIRFLOW__CELERY__RESULT_BACKEND": self.postgres.celery_url,
            "AIRFLOW__CELERY__WORKER_CONCURRENCY": str(self.worker_concurrency),
            "AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG": "64",
            # Short timeouts, so the kill scenarios end in seconds rather than the default minutes:
            # a dead triggerer's triggers move after triggerer_health_check_threshold; a dead
            # worker's task is retried after task_instance_heartbeat_timeout; a task whose queue
            # message was lost (Redis restarted) is re-queued after task_queued_timeout.
            "AIRFLOW__TRIGGERER__JOB_HEARTBEAT_SEC": "2",
            "AIRFLOW__TRIGGERER__TRIGGERER_HEALTH_CHECK_THRESHOLD": "10",
            "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "30",
            "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "3",
            "AIRFLOW__SCHEDULER__TASK_QUEUED_TIMEOUT": "90",
            "AIRFLOW__SCHEDULER__TASK_QUEUED_TIMEOUT_CHECK_INTERVAL": "10",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_POOL_PRE_PING": "True",
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
        commands = {c: [c] for c in ("api-server", "scheduler", "dag-processor")}
        for name in WORKERS:
            # Distinct Celery node names on one host; no log server (all components share the disk).
            commands[name] = ["celery", "worker", "-H", f"{name}@%h", "--skip-serve-logs", "--without-mingle",
                              "--without-gossip"]
        for name in TRIGGERERS:
            commands[name] = ["triggerer", "--skip-serve-logs", "--capacity", str(self.triggerer_capacity)]
        return commands

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
