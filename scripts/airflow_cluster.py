"""The CeleryExecutor deployment of docs/deployment.md on one machine, in one command.

    .venv/bin/python scripts/airflow_cluster.py up [--home DIR] [--port 8080] [--workers 2] [--triggerers 2]
        PostgreSQL (metadata DB and Celery result backend) and Redis (broker) on free loopback ports,
        `airflow db migrate`, then the api-server, scheduler, dag-processor, N Celery workers and N
        triggerers, each its own process. Prints the UI's URL and the `admin` password, runs until
        Ctrl-C (or SIGTERM), then stops every process it started. Needs Airflow 3 (the .venv leg), the
        `distributed` extra and Debian's postgresql and redis-server packages (scripts/setup.sh).
    .venv/bin/python scripts/airflow_cluster.py settings [--port 8080]
        Print the settings as `export AIRFLOW__...=...` lines (the recipe of docs/deployment.md).

This file is where the deployment's settings live: tests/distributed/deployment.py builds its cluster
from ``celery_settings``, ``component_commands``, ``Postgres`` and ``Redis`` here.
"""

from __future__ import annotations

import argparse
import glob
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# The recovery settings: how long a crash costs. Airflow's defaults (production), and the short ones
# the distributed tests run with so a kill scenario ends in seconds.
RECOVERY_DEFAULTS = {
    "AIRFLOW__SCHEDULER__ORPHANED_TASKS_CHECK_INTERVAL": "300",  # re-queues tasks a dead scheduler/executor held
    "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_THRESHOLD": "30",
    "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "300",  # a dead worker's task is failed/retried after
    "AIRFLOW__SCHEDULER__TASK_QUEUED_TIMEOUT": "600",  # a task whose broker message was lost is re-queued after
    "AIRFLOW__TRIGGERER__JOB_HEARTBEAT_SEC": "5",
    "AIRFLOW__TRIGGERER__TRIGGERER_HEALTH_CHECK_THRESHOLD": "30",  # a dead triggerer's triggers move after
}
RECOVERY_FAST = {  # the orphan check keeps Airflow's 300 s: the tests measure what users get
    "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "30",
    "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "3",
    "AIRFLOW__SCHEDULER__TASK_QUEUED_TIMEOUT": "90",
    "AIRFLOW__SCHEDULER__TASK_QUEUED_TIMEOUT_CHECK_INTERVAL": "10",
    "AIRFLOW__TRIGGERER__JOB_HEARTBEAT_SEC": "2",
    "AIRFLOW__TRIGGERER__TRIGGERER_HEALTH_CHECK_THRESHOLD": "10",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def stop_process_groups(procs, timeout: float = 30) -> None:
    """SIGTERM each still-running process's group (its children too), then SIGKILL what outlives ``timeout``."""
    for proc in procs:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def celery_settings(*, sql_alchemy_conn: str, result_backend: str, broker_url: str, base_url: str,
                    jwt_secret: str, api_secret_key: str, worker_concurrency: int = 8,
                    recovery: dict[str, str] | None = None) -> dict[str, str]:
    """Every setting the components must share, as ``AIRFLOW__...`` environment variables."""
    return {
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": sql_alchemy_conn,
        "AIRFLOW__DATABASE__SQL_ALCHEMY_POOL_PRE_PING": "True",  # a PostgreSQL restart: drop dead connections
        "AIRFLOW__CELERY__BROKER_URL": broker_url,
        "AIRFLOW__CELERY__RESULT_BACKEND": result_backend,
        "AIRFLOW__CELERY__WORKER_CONCURRENCY": str(worker_concurrency),
        # Task processes reach the api-server through the execution API; every component signs and
        # checks the same JWTs, and the api-server's sessions use one secret key.
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{base_url}/execution/",
        "AIRFLOW__API__BASE_URL": base_url,
        "AIRFLOW__API_AUTH__JWT_SECRET": jwt_secret,
        "AIRFLOW__API__SECRET_KEY": api_secret_key,
        **(RECOVERY_DEFAULTS if recovery is None else recovery),
    }


def component_commands(workers: tuple[str, ...], triggerers: tuple[str, ...],
                       triggerer_capacity: int = 1000) -> dict[str, list[str]]:
    """Each component's ``airflow`` arguments. Several workers on one host need distinct Celery node
    names (``-H name@%h``). Their log servers are skipped: on one host every component writes the same
    logs folder, which the api-server reads directly (on several hosts, serve logs instead, each host's
    worker on ``[logging] worker_log_server_port`` and triggerer on ``trigger_log_server_port``)."""
    commands = {c: [c] for c in ("api-server", "scheduler", "dag-processor")}
    for name in workers:
        commands[name] = ["celery", "worker", "-H", f"{name}@%h", "--skip-serve-logs", "--without-mingle",
                          "--without-gossip"]
    for name in triggerers:
        commands[name] = ["triggerer", "--skip-serve-logs", "--capacity", str(triggerer_capacity)]
    return commands


def _pg_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        raise RuntimeError("PostgreSQL is not installed: as root, apt-get install -y postgresql (scripts/setup.sh)")
    return found[-1]


class Postgres:
    """A throwaway PostgreSQL cluster: trust auth on 127.0.0.1 only, no fsync (test and demo data).

    As root it runs as the ``postgres`` user (PostgreSQL refuses root); otherwise as the caller.
    """

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="pai-cluster-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self._as_root = os.geteuid() == 0
        if self._as_root:  # the server user cannot enter root's 0700 dirs otherwise
            shutil.chown(self.root, "postgres", "postgres")
        user = "postgres"
        self.url = f"postgresql+psycopg2://{user}@127.0.0.1:{self.port}/airflow"
        self.celery_url = f"db+postgresql+psycopg2://{user}@127.0.0.1:{self.port}/airflow"

    def _pg(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        prefix = ["runuser", "-u", "postgres", "--"] if self._as_root else []
        return subprocess.run([*prefix, *args], capture_output=True, text=True, check=check, timeout=120,
                              cwd=self.root)

    def start(self) -> Postgres:
        created = not self.data.exists()
        if created:
            self._pg(_pg_bin("initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "--no-sync",
                     "-E", "UTF8")
        options = (f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off -c max_connections=400")
        self._pg(_pg_bin("pg_ctl"), "-D", str(self.data), "-o", options, "-l", str(self.root / "server.log"),
                 "-w", "-t", "60", "start")
        if created:
            self._pg(_pg_bin("createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "airflow")
        return self

    def stop(self, mode: str = "fast") -> None:
        if self.data.exists():
            self._pg(_pg_bin("pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop", check=False)

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
        if not shutil.which("redis-server"):
            raise RuntimeError("redis-server is not installed: as root, apt-get install -y redis-server")
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


# ---- the command line -----------------------------------------------------------------------------


def _names(prefix: str, count: int) -> tuple[str, ...]:
    return tuple(f"{prefix}-{i}" for i in range(1, count + 1))


def _airflow_bin() -> str:
    return str(Path(sys.executable).with_name("airflow"))


def up(args) -> int:
    home = Path(args.home) if args.home else Path(tempfile.mkdtemp(prefix="pai-cluster-"))
    home.mkdir(parents=True, exist_ok=True)
    port = args.port or free_port()
    base_url = f"http://127.0.0.1:{port}"
    password = secrets.token_urlsafe(12)
    (home / "passwords.json").write_text(f'{{"admin": "{password}"}}')
    postgres, redis = Postgres(), Redis(home / "redis")
    procs: dict[str, subprocess.Popen] = {}

    def handler(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, handler)
    try:
        postgres.start()
        redis.start()
        env = {k: v for k, v in os.environ.items() if k.lower() not in ("http_proxy", "https_proxy", "all_proxy")}
        env.update(celery_settings(sql_alchemy_conn=postgres.url, result_backend=postgres.celery_url,
                                   broker_url=redis.url, base_url=base_url, jwt_secret=secrets.token_urlsafe(32),
                                   api_secret_key=secrets.token_urlsafe(32)))
        env.update(AIRFLOW_HOME=str(home), AIRFLOW__API__HOST="127.0.0.1", AIRFLOW__API__PORT=str(port),
                   AIRFLOW__CORE__LOAD_EXAMPLES="False", AIRFLOW__CORE__DAGS_FOLDER=str(args.dags_folder),
                   AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS="admin:admin",
                   AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE=str(home / "passwords.json"))
        print(f"PostgreSQL on 127.0.0.1:{postgres.port}, Redis on 127.0.0.1:{redis.port}; migrating the DB ...",
              flush=True)
        subprocess.run([_airflow_bin(), "db", "migrate"], env=env, check=True, capture_output=True)
        commands = component_commands(_names("worker", args.workers), _names("triggerer", args.triggerers))
        for name, argv in commands.items():
            out = open(home / f"{name}.out", "ab")
            procs[name] = subprocess.Popen([_airflow_bin(), *argv], env=env, stdout=out, stderr=subprocess.STDOUT,
                                           stdin=subprocess.DEVNULL, start_new_session=True)
            out.close()
        print(f"Airflow: {base_url}  user admin, password {password}\n"
              f"components: {', '.join(commands)} (output in {home}/<component>.out)\nCtrl-C stops everything.",
              flush=True)
        while True:
            for name, proc in procs.items():
                if proc.poll() is not None:
                    print(f"{name} exited with {proc.returncode}; see {home}/{name}.out", flush=True)
                    return 1
            time.sleep(2)
    except KeyboardInterrupt:
        return 0
    finally:
        stop_process_groups(procs.values())
        redis.stop()
        postgres.cleanup()


def settings(args) -> int:
    port = args.port or 8080
    values = celery_settings(
        sql_alchemy_conn="postgresql+psycopg2://airflow:<password>@<db-host>:5432/airflow",
        result_backend="db+postgresql+psycopg2://airflow:<password>@<db-host>:5432/airflow",
        broker_url="redis://<redis-host>:6379/0", base_url=f"http://<api-server-host>:{port}",
        jwt_secret="<the same long random string on every component>",
        api_secret_key="<another long random string, the same on every component>")
    for key, value in values.items():
        print(f"export {key}='{value}'")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p_up = sub.add_parser("up", help="start the deployment on this machine until Ctrl-C")
    p_up.add_argument("--home", help="AIRFLOW_HOME (default: a new temporary directory)")
    p_up.add_argument("--port", type=int, default=0, help="the api-server's port (default: a free one)")
    p_up.add_argument("--workers", type=int, default=2)
    p_up.add_argument("--triggerers", type=int, default=2)
    p_up.add_argument("--dags-folder", default=str(ROOT / "example_dags"))
    p_settings = sub.add_parser("settings", help="print the shared settings as export lines")
    p_settings.add_argument("--port", type=int, default=8080)
    args = parser.parse_args()
    return up(args) if args.command == "up" else settings(args)


if __name__ == "__main__":
    sys.exit(main())
