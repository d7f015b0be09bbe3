from __future__ import annotations

import os

import pytest

from tests.airflow_harness import PROXY_VARS, AirflowEnv

# The Tea SDK core honours proxy variables even for 127.0.0.1; the emulator is always local.
for _var in PROXY_VARS:
    os.environ.pop(_var, None)


@pytest.fixture(scope="session")
def _airflow_home(tmp_path_factory) -> AirflowEnv:
    env = AirflowEnv(tmp_path_factory.mktemp("airflow_home"))
    env.migrate()
    return env


@pytest.fixture
def airflow_env(_airflow_home: AirflowEnv) -> AirflowEnv:
    """A migrated Airflow home shared by the session; each test starts with an empty DAGs folder."""
    for path in _airflow_home.dags_folder.glob("*.py"):
        path.unlink()
    return _airflow_home
