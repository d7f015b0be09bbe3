"""Run a snippet in a fresh interpreter (this one's), for what only a new process shows: which modules
an import loads, what a first call imports."""

from __future__ import annotations

import subprocess
import sys


def run_python(code: str, timeout: float = 300) -> str:
    """The snippet's stdout; the calling test fails with its stderr when it fails."""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def last_line(code: str, timeout: float = 300) -> str:
    """The last line the snippet printed (Airflow may log warnings to stdout before it)."""
    return run_python(code, timeout).strip().splitlines()[-1]
