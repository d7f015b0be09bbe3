from __future__ import annotations

import os

import pytest

from tests.airflow_harness import PROXY_VARS, AirflowEnv


def _plugin_already_loaded_by_entry_point() -> bool:
    """An editable install made before the ``pytest11`` entry point was removed still has it in its
    metadata until ``scripts/setup.sh`` reinstalls; pytest then loaded the plugin already, and naming
    it again would register it twice."""
    from importlib.metadata import entry_points

    return any(ep.value == _EMULATOR_PLUGIN for ep in entry_points(group="pytest11"))


# The emulator's fixture (pai_emulator) is opt-in: this is the line docs/emulator.md shows.
_EMULATOR_PLUGIN = "airflow_provider_pai.emulator.pytest_plugin"
pytest_plugins = [] if _plugin_already_loaded_by_entry_point() else [_EMULATOR_PLUGIN]

# The Tea SDK core honours proxy variables even for 127.0.0.1; the emulator is always local.
# tests/live/ (a real account) puts them back for its own tests.
REMOVED_PROXIES = {_var: os.environ.pop(_var) for _var in PROXY_VARS if _var in os.environ}


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
