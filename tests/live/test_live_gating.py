"""The live suite is opt-in: without PAI_LIVE_* variables every live test skips naming what to set,
and with keys but without PAI_LIVE_MUTATE=1 nothing billed runs. (This file itself always runs.)

The suite also runs against the emulator (``PAI_LIVE_CONN_EXTRA`` points the connection at it):
that proves each test checks something when its variables are set, and skips saying why when the
account has nothing to check."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
LIVE_VARS = [v for v in os.environ if v.startswith("PAI_LIVE_")]


LIVE_TESTS = ["tests/live/test_live_read_only.py", "tests/live/test_live_eas_mutating.py",
              "tests/live/test_live_example_flow.py"]


def run_live(*tests: str, timeout: float = 300, **env: str) -> str:
    clean = {k: v for k, v in os.environ.items() if k not in LIVE_VARS}
    proc = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rs", "-s",
                           *(tests or LIVE_TESTS)],
                          check=False, cwd=REPO, env={**clean, **env}, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def test_without_variables_every_live_test_skips_naming_them():
    out = run_live()
    assert "5 skipped" in out and "set PAI_LIVE_ACCESS_KEY_ID, PAI_LIVE_ACCESS_KEY_SECRET, PAI_LIVE_REGION" in out


def test_keys_alone_run_nothing_billed():
    out = run_live(PAI_LIVE_ACCESS_KEY_ID="id", PAI_LIVE_ACCESS_KEY_SECRET="not-a-secret", PAI_LIVE_REGION="cn-shanghai")
    assert "5 skipped" in out
    assert out.count("set PAI_LIVE_MUTATE=1") == 2  # the billed EAS test and the example flow
    assert "PAI_LIVE_ACCESS_KEY_ID" not in out  # set: no longer named
    assert "set PAI_LIVE_DW_PROJECT_ID, PAI_LIVE_DW_NODE_ID" in out and "set PAI_LIVE_OSS_BUCKET" in out


def test_with_mutation_allowed_the_example_flow_still_names_what_it_needs():
    out = run_live("tests/live/test_live_example_flow.py", PAI_LIVE_ACCESS_KEY_ID="id",
                   PAI_LIVE_ACCESS_KEY_SECRET="not-a-secret", PAI_LIVE_REGION="cn-shanghai", PAI_LIVE_MUTATE="1")
    assert "1 skipped" in out
    assert ("set PAI_LIVE_DW_PROJECT_ID, PAI_LIVE_DW_NODE_ID, PAI_LIVE_FLOW_OUTPUT_PREFIX, "
            "PAI_LIVE_FLOW_RELEASE_PREFIX, PAI_LIVE_EAS_SERVICE") in out


def _emulator_as_live_account(emu, **more: str) -> dict[str, str]:
    extra = {k: v for k, v in emu.connection_extra.items() if k.endswith("_endpoint")}
    return {"PAI_LIVE_ACCESS_KEY_ID": emu.access_key_id, "PAI_LIVE_ACCESS_KEY_SECRET": emu.access_key_secret,
            "PAI_LIVE_REGION": emu.region_id, "PAI_LIVE_CONN_EXTRA": json.dumps(extra),
            "NO_PROXY": "127.0.0.1,localhost", **more}


def test_the_read_only_suite_checks_something_against_the_emulator(pai_emulator):
    """Pointed at the emulator's demo account, each read-only test checks and passes, or skips saying
    what the account lacks; once the node has run, the DataWorks test checks its instance."""
    account = _emulator_as_live_account(pai_emulator, PAI_LIVE_DW_PROJECT_ID="10001", PAI_LIVE_DW_NODE_ID="700001",
                                        PAI_LIVE_OSS_BUCKET="pai-demo", PAI_LIVE_EAS_SERVICE="churn_model")
    out = run_live("tests/live/test_live_read_only.py", **account)
    assert "1 passed, 2 skipped" in out, out
    assert "GetBucketLocation: 'oss-cn-shanghai'" in out  # the exact-region check ran and passed
    assert "node 700001 has no instances to check" in out
    assert "no order to check (F-EAS-10)" in out

    from airflow_provider_pai.hooks.dataworks import DataWorksHook

    DataWorksHook().run_cycle_dag_nodes(node_id=700001, bizdate="2026-11-20", name="live-suite-check")
    out = run_live("tests/live/test_live_read_only.py", **account)
    assert "2 passed, 1 skipped" in out, out
    assert "GetInstance " in out and "no instances to check" not in out


def test_a_wrong_bucket_region_fails_the_live_check(pai_emulator):
    """A region other than the bucket's fails (V4 signing already refuses it before the exact check)."""
    out_env = _emulator_as_live_account(pai_emulator, PAI_LIVE_OSS_BUCKET="pai-demo")
    out_env["PAI_LIVE_REGION"] = "cn-beijing"
    clean = {k: v for k, v in os.environ.items() if k not in LIVE_VARS}
    proc = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rs",
                           "tests/live/test_live_read_only.py::test_oss_bucket_listing_and_region"],
                          check=False, cwd=REPO, env={**clean, **out_env}, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1, proc.stdout[-3000:]
    assert "not oss-cn-beijing" in proc.stdout or "signing region in Authorization header: 'cn-beijing'" in proc.stdout


def test_the_example_flow_test_passes_against_the_emulator(pai_emulator):
    """The opt-in example-flow test, pointed at the emulator with PAI_LIVE_MUTATE=1, runs the whole DAG
    through ``airflow dags test`` and checks every task's state (what it will do on a real account)."""
    out = run_live("tests/live/test_live_example_flow.py", timeout=1200, **_emulator_as_live_account(
        pai_emulator, PAI_LIVE_MUTATE="1", PAI_LIVE_DW_PROJECT_ID="10001", PAI_LIVE_DW_NODE_ID="700001",
        PAI_LIVE_FLOW_OUTPUT_PREFIX="oss://pai-demo/designer/churn/",
        PAI_LIVE_FLOW_RELEASE_PREFIX="oss://pai-demo/models/churn/", PAI_LIVE_EAS_SERVICE="churn_model",
        PAI_LIVE_LOGICAL_DATE="2026-11-21"))
    assert "1 passed" in out, out[-3000:]
    assert '"deploy": "success"' in out and '"rollback": "skipped"' in out
