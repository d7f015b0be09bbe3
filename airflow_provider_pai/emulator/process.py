"""Run the emulator as a subprocess and drive its control API: used by the pytest fixture,
benchmarks and the demo script alike. Standard library only (no aiohttp, no Airflow)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from .scenario import DEMO_SCENARIO, load_scenario

URL_PREFIX = "PAI_EMULATOR_URL="
PROXY_VARS = ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy")
CONN_ENV = "AIRFLOW_CONN_PAI_DEFAULT"

# The Tea SDK honours proxies even for 127.0.0.1, so every request here goes direct.
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class EmulatorProcess:
    """``python -m airflow_provider_pai.emulator`` in a child process, on 127.0.0.1.

    ``scenario`` is a dict or a path (default: the packaged demo). Use ``start()``/``stop()`` or
    ``with EmulatorProcess(data_dir=...) as emu:``. The log (stdout+stderr) is ``data_dir/emulator.log``.
    """

    conn_id = "pai_default"

    def __init__(self, scenario: dict | str | os.PathLike | None = None, *, data_dir: str | os.PathLike,
                 port: int = 0, startup_timeout: float = 30.0):
        self.scenario: dict = scenario if isinstance(scenario, dict) else load_scenario(scenario or DEMO_SCENARIO)
        self.data_dir = Path(data_dir)
        self.port = port
        self.startup_timeout = startup_timeout
        self.url: str | None = None
        self._proc: subprocess.Popen | None = None
        cred = (self.scenario.get("credentials") or [{}])[0]
        self.access_key_id: str = cred.get("access_key_id", "")
        self.access_key_secret: str = cred.get("access_key_secret", "")
        self.security_token: str | None = cred.get("security_token")
        self.region_id: str = self.scenario.get("region_id", "cn-shanghai")

    def __repr__(self) -> str:  # never the secret
        return f"EmulatorProcess(url={self.url!r}, data_dir={str(self.data_dir)!r})"

    # lifecycle -------------------------------------------------------------------------------

    def start(self) -> EmulatorProcess:
        if self._proc is not None:
            raise RuntimeError("emulator already running")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        scenario_path = self.data_dir / "scenario.json"
        scenario_path.write_text(json.dumps(self.scenario))
        log_path = self.data_dir / "emulator.log"
        offset = log_path.stat().st_size if log_path.exists() else 0
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        for var in PROXY_VARS:
            env.pop(var, None)
        cmd = [sys.executable, "-m", "airflow_provider_pai.emulator", "--scenario", str(scenario_path),
               "--port", str(self.port), "--data-dir", str(self.data_dir)]
        with open(log_path, "ab") as log:
            self._proc = proc = subprocess.Popen(
                cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
        self.url = self._wait_for_url(proc, log_path, offset)
        self.port = int(self.url.rsplit(":", 1)[1])
        return self

    def _wait_for_url(self, proc: subprocess.Popen, log_path: Path, offset: int) -> str:
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            with open(log_path, "rb") as f:
                f.seek(offset)
                for line in f.read().decode(errors="replace").splitlines():
                    if line.startswith(URL_PREFIX):
                        return line[len(URL_PREFIX) :].strip()
            if proc.poll() is not None:
                break
            time.sleep(0.05)
        tail = log_path.read_text(errors="replace")[offset:][-3000:]
        self.stop()
        raise RuntimeError(f"emulator did not start (see {log_path}):\n{tail}")

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def restart(self) -> EmulatorProcess:
        """Stop and start again on the same data dir and the same port (state survives)."""
        self.stop()
        return self.start()

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def __enter__(self) -> EmulatorProcess:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # Airflow connection ----------------------------------------------------------------------

    @property
    def connection_extra(self) -> dict:
        extra = {"region_id": self.region_id, "dataworks_endpoint": self.url,
                 "eas_endpoint": self.url, "oss_endpoint": self.url, "aiworkspace_endpoint": self.url}
        if self.security_token:
            extra.update(auth_type="sts", security_token=self.security_token)
        return extra

    def connection_json(self) -> str:
        return json.dumps({"conn_type": "alibaba_cloud_pai", "login": self.access_key_id,
                           "password": self.access_key_secret, "extra": self.connection_extra})

    def airflow_env(self) -> dict[str, str]:
        """Environment for an Airflow process using this emulator as ``pai_default``."""
        env = {CONN_ENV: self.connection_json(), "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"}
        env.update({var: "" for var in PROXY_VARS})
        return env

    # control API -----------------------------------------------------------------------------

    def _control(self, method: str, path: str, payload: dict | None = None) -> Any:
        if self.url is None:
            raise RuntimeError("emulator not started")
        data = json.dumps(payload).encode() if payload is not None else None
        req = urllib.request.Request(f"{self.url}/_emulator/{path}", data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        with _opener.open(req, timeout=30) as resp:
            return json.loads(resp.read())

    def fault(self, **rule: Any) -> dict:
        """Add a fault rule (service, action, kind, rate, count, delay_s, retry_after); returns it with its id."""
        return self._control("POST", "faults", rule)

    def faults(self) -> list[dict]:
        return self._control("GET", "faults")

    def clear_faults(self) -> None:
        self._control("DELETE", "faults")

    def calls(self) -> dict[str, dict[str, int]]:
        return self._control("GET", "calls")

    def reset_calls(self) -> None:
        self._control("DELETE", "calls")

    def state(self) -> dict:
        return self._control("GET", "state")

    def advance_clock(self, seconds: float) -> float:
        """Move the emulator clock forward; returns its new ``now`` (epoch seconds)."""
        return self._control("POST", "clock", {"advance_s": seconds})["now"]

    def now(self) -> float:
        return self._control("GET", "clock")["now"]
