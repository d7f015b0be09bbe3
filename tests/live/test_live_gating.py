"""The live suite is opt-in: without PAI_LIVE_* variables every live test skips naming what to set,
and with keys but without PAI_LIVE_MUTATE=1 nothing billed runs. (This file itself always runs.)"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
LIVE_VARS = [v for v in os.environ if v.startswith("PAI_LIVE_")]


def run_live(**env: str) -> str:
    clean = {k: v for k, v in os.environ.items() if k not in LIVE_VARS}
    proc = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rs",
                           "tests/live/test_live_read_only.py", "tests/live/test_live_eas_mutating.py"],
                          cwd=REPO, env={**clean, **env}, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def test_without_variables_every_live_test_skips_naming_them():
    out = run_live()
    assert "4 skipped" in out and "set PAI_LIVE_ACCESS_KEY_ID, PAI_LIVE_ACCESS_KEY_SECRET, PAI_LIVE_REGION" in out


def test_keys_alone_run_nothing_billed():
    out = run_live(PAI_LIVE_ACCESS_KEY_ID="id", PAI_LIVE_ACCESS_KEY_SECRET="not-a-secret", PAI_LIVE_REGION="cn-shanghai")
    assert "4 skipped" in out
    assert "set PAI_LIVE_MUTATE=1" in out
    assert "PAI_LIVE_ACCESS_KEY_ID" not in out  # set: no longer named
    assert "set PAI_LIVE_DW_PROJECT_ID, PAI_LIVE_DW_NODE_ID" in out and "set PAI_LIVE_OSS_BUCKET" in out
