"""The user documentation builds with MkDocs in strict mode (any warning fails), as CI builds it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_docs_build_strict_and_include_code_from_the_repository(tmp_path):
    site = tmp_path / "site"
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, f"mkdocs build --strict failed:\n{result.stdout}\n{result.stderr}"
    # Snippets are included from the example DAGs and the demo scenario, not copied: check they landed.
    tutorial = (site / "tutorial" / "index.html").read_text()
    assert "TriggerDesignerNodeOperator" in tutorial and "--8&lt;--" not in tutorial
    emulator = (site / "emulator" / "index.html").read_text()
    assert "train_churn_model_broken" in emulator
