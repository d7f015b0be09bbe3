"""ruff and mypy report nothing on the package (issue 24 item 6), so CI runs both through the test command.

Both tools come from the venv of the interpreter running the tests (the ``test`` extra pins them) and run
from the repository root without paths: what they check, and how, is pyproject.toml's ``[tool.ruff]`` and
``[tool.mypy]``. mypy checks against the installed Airflow's types, which only the Airflow 3 leg matches:
Airflow 2.11 has no ``airflow.sdk`` (imported for annotations) and types ``BaseOperator`` differently.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from airflow_provider_pai.version_compat import AIRFLOW_V_3_0_PLUS

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "airflow_provider_pai"
BIN = Path(sys.executable).parent  # the venv's bin dir (not resolved: the venv's python is a symlink)


def _package_files() -> set[str]:
    return {p.relative_to(ROOT).as_posix() for p in PACKAGE.rglob("*.py")}


def _run(tool: str, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    exe = BIN / tool
    if not exe.exists():
        pytest.fail(f"{tool} is not installed in {BIN}: install the package's test extra (pyproject.toml pins it)")
    env = {k: v for k, v in os.environ.items() if k not in ("MYPYPATH", "RUFF_CACHE_DIR")}
    return subprocess.run([str(exe), *args], cwd=ROOT, input=stdin, capture_output=True, text=True, env=env,
                          check=False)


def _report(proc: subprocess.CompletedProcess[str]) -> str:
    return f"exit {proc.returncode}\n{proc.stdout}{proc.stderr}"


def test_ruff_finds_nothing_in_the_package():
    proc = _run("ruff", "check", "--no-cache", "--output-format", "concise")
    assert proc.returncode == 0, "ruff check found problems (fix them, see pyproject.toml):\n" + _report(proc)


def test_ruff_covers_every_module_of_the_package():
    # A wrong include/exclude would make the check above pass by looking at nothing.
    proc = _run("ruff", "check", "--no-cache", "--show-files")
    assert proc.returncode == 0, _report(proc)
    shown = {Path(line.strip()).resolve().relative_to(ROOT).as_posix()
             for line in proc.stdout.splitlines() if line.strip().endswith(".py")}
    assert shown == _package_files(), _report(proc)


@pytest.mark.parametrize(
    ("code", "source"),
    [
        ("B023", "fns = []\nfor request in range(3):\n    fns.append(lambda: request)\n"),
        ("F822", '__all__ = ["Missing"]\n'),
        ("F401", "import json\n"),
        ("B018", "x = 1\nx\n"),
    ],
)
def test_ruff_configuration_reports_what_issue_24_names(code, source):
    # Each kind of finding the issue lists is one the configured rule set reports.
    proc = _run("ruff", "check", "--no-cache", "--output-format", "concise",
                "--stdin-filename", "airflow_provider_pai/_probe.py", "-", stdin=source)
    assert proc.returncode == 1 and code in proc.stdout, _report(proc)


@pytest.mark.skipif(
    not AIRFLOW_V_3_0_PLUS,
    reason="mypy checks against Airflow 3's types; Airflow 2.11 has no airflow.sdk (imported for annotations)",
)
def test_mypy_finds_nothing_in_the_package():
    proc = _run("mypy")
    assert proc.returncode == 0, "mypy found problems (fix them, see pyproject.toml):\n" + _report(proc)
    # ... and it looked at the whole package, not at a stale or empty `files` setting
    checked = re.search(r"no issues found in (\d+) source files", proc.stdout)
    assert checked is not None, _report(proc)
    assert int(checked.group(1)) == len(_package_files()), _report(proc)
