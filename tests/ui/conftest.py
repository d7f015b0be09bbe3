"""Browser tests: the Airflow DB is migrated from collection on (alongside earlier tests), and a failed
test reports where the screenshots of every browser step are."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest

_premigrated: dict[str, Any] = {}
ARTIFACTS_ENV = "PAI_UI_ARTIFACTS"  # where the screenshots go (default: a pytest tmp dir)


def pytest_collection_finish(session) -> None:
    from airflow_provider_pai.version_compat import AIRFLOW_V_3_3_PLUS
    from tests.reliability.airflow_cluster import AirflowCluster

    if AIRFLOW_V_3_3_PLUS and any(item.nodeid.startswith("tests/ui/") for item in session.items):
        root = Path(tempfile.mkdtemp(prefix="pai-airflow-ui-"))
        cluster = AirflowCluster(root / "airflow")
        cluster.begin_migration()
        _premigrated.update(cluster=cluster, root=root)


def pytest_sessionfinish(session) -> None:
    if "cluster" in _premigrated:  # not taken (no test used it): stop its migration
        _premigrated["cluster"].stop()
    if "root" in _premigrated:
        shutil.rmtree(_premigrated["root"], ignore_errors=True)


def pytest_terminal_summary(terminalreporter) -> None:
    failed = [r for r in terminalreporter.stats.get("failed", []) + terminalreporter.stats.get("error", [])
              if r.nodeid.startswith("tests/ui/")]
    if failed and "artifacts" in _premigrated:
        terminalreporter.write_line(f"browser tests failed: screenshots and HTML of every step are in "
                                    f"{_premigrated['artifacts']}")


def take_premigrated_cluster():
    return _premigrated.pop("cluster", None)


@pytest.fixture(scope="session")
def ui_artifacts(tmp_path_factory) -> Path:
    path = Path(os.environ[ARTIFACTS_ENV]) if os.environ.get(ARTIFACTS_ENV) else tmp_path_factory.mktemp("ui-screens")
    path.mkdir(parents=True, exist_ok=True)
    _premigrated["artifacts"] = path
    return path


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed and "ui_artifacts" in item.fixturenames:
        path = item.funcargs.get("ui_artifacts") if hasattr(item, "funcargs") else None
        if path is not None:
            report.sections.append(("browser screenshots", f"screenshots and HTML of every browser step: {path}"))
