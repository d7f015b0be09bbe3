"""What every benchmark shares: the emulator, the result format, medians, the machine description.

A benchmark script prints (or writes with ``--json PATH``) one result dict::

    {"name": "polling", "title": "...", "method": "...",
     "rows": [{"metric", "baseline", "ours", "ratio", "target", "met", "note"}], "details": {...}}

``run_all.py`` turns those into ``docs/benchmarks.md``. ``met`` is True/False, or None where a
row is for reference only (no target).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as `python benchmarks/x.py`: make `benchmarks` and `tests` importable
    sys.path.insert(0, str(ROOT))

from airflow_provider_pai.emulator.process import CONN_ENV, PROXY_VARS, EmulatorProcess  # noqa: E402
from airflow_provider_pai.emulator.scenario import DEMO_SCENARIO, load_scenario  # noqa: E402


def parse_args(description: str, flags: dict[str, str] | None = None) -> argparse.Namespace:
    """``flags``: a benchmark's own on/off options, ``{"--name": "help"}``."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="tiny configuration (smoke test), figures meaningless")
    parser.add_argument("--json", metavar="PATH", help="write the result here instead of printing it")
    for flag, text in (flags or {}).items():
        parser.add_argument(flag, action="store_true", help=text)
    return parser.parse_args()


def emit(result: dict, args: argparse.Namespace) -> None:
    result.setdefault("quick", bool(args.quick))
    text = json.dumps(result, indent=2, default=str)
    if args.json:
        Path(args.json).write_text(text)
    else:
        print(text)


def row(metric: str, baseline: Any, ours: Any, *, ratio: float | None = None, target: str = "",
        met: bool | None = None, note: str = "") -> dict:
    return {"metric": metric, "baseline": baseline, "ours": ours, "ratio": ratio, "target": target,
            "met": met, "note": note}


def run_child(program: str, *args: str, what: str, cwd: Path = ROOT, env: dict | None = None,
              timeout: float = 600) -> dict:
    """Run ``program`` (``python -c``) in a fresh process; the JSON it printed after ``RESULT ``."""
    import subprocess

    proc = subprocess.run([sys.executable, "-c", program, *args], capture_output=True, text=True, cwd=cwd,
                          env=env, timeout=timeout)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"{what} failed:\n{proc.stderr[-2000:]}")
    return json.loads(lines[-1][len("RESULT "):])


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def demo_scenario() -> dict:
    return load_scenario(DEMO_SCENARIO)


@contextmanager
def emulator(scenario: dict | None = None, *, data_dir: str | os.PathLike | None = None,
             seed: Any = None) -> Iterator[EmulatorProcess]:
    """A running emulator with ``pai_default`` pointing at it in this process's environment.

    ``seed(data_dir)`` runs before the emulator starts (e.g. to write a large object straight
    into its object store). Proxies are removed: the Tea SDK would use them for 127.0.0.1.
    """
    with tempfile.TemporaryDirectory(prefix="pai-bench-", dir=data_dir) as tmp:
        emu = EmulatorProcess(scenario or demo_scenario(), data_dir=Path(tmp) / "emulator")
        if seed is not None:
            seed(emu.data_dir)
        saved = {k: os.environ.get(k) for k in (*PROXY_VARS, CONN_ENV)}
        emu.start()
        try:
            for var in PROXY_VARS:
                os.environ.pop(var, None)
            os.environ[CONN_ENV] = emu.connection_json()
            yield emu
        finally:
            emu.stop()
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


def machine() -> dict:
    from importlib.metadata import version

    def ver(name: str) -> str:
        try:
            return version(name)
        except Exception:
            return "?"

    return {
        "nproc": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "airflow": ver("apache-airflow"),
        "task_sdk": ver("apache-airflow-task-sdk"),
        "dataworks_sdk": ver("alibabacloud-dataworks-public20200518"),
        "oss2": ver("oss2"),
        "load_avg": os.getloadavg(),
    }
