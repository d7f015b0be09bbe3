"""pytest plugin: the ``pai_emulator`` fixture. Opt-in: load it explicitly, in a ``conftest.py``::

    pytest_plugins = ["airflow_provider_pai.emulator.pytest_plugin"]

or with ``pytest -p airflow_provider_pai.emulator.pytest_plugin``. The emulator it starts needs the
``[emulator]`` extra (``pip install 'airflow-provider-pai[emulator]'``). It imports only the
standard library and ``emulator.process`` (no Airflow, no aiohttp).

Override the scenario in a test module or conftest::

    @pytest.fixture
    def pai_emulator_scenario():
        return {"region_id": "cn-shanghai", "credentials": [...], ...}
"""

from __future__ import annotations

import sys

import pytest

from .process import CONN_ENV, PROXY_VARS, EmulatorProcess
from .scenario import DEMO_SCENARIO, load_scenario, require_extra

__all__ = ["EmulatorProcess", "pai_emulator", "pai_emulator_scenario"]


@pytest.fixture
def pai_emulator_scenario() -> dict:
    """The scenario the emulator starts from (default: the packaged demo scenario)."""
    return load_scenario(DEMO_SCENARIO)


@pytest.fixture
def pai_emulator(pai_emulator_scenario, tmp_path_factory, monkeypatch):
    """A running emulator (subprocess, 127.0.0.1, fresh data dir) with ``pai_default`` pointing at it.

    While active, ``AIRFLOW_CONN_PAI_DEFAULT`` is set and proxy variables are removed.
    """
    require_extra()  # a missing [emulator] extra is named here, not as a failed child process
    emu = EmulatorProcess(pai_emulator_scenario, data_dir=tmp_path_factory.mktemp("pai-emulator"))
    emu.start()
    _forget_shared_hooks()
    try:
        for var in PROXY_VARS:
            monkeypatch.delenv(var, raising=False)
        monkeypatch.setenv(CONN_ENV, emu.connection_json())
        yield emu
    finally:
        emu.stop()
        _forget_shared_hooks()


def _forget_shared_hooks() -> None:
    # Triggers share one hook per connection for minutes: one an earlier test built would still point
    # at that test's stopped emulator. Not imported yet means none exist (and Airflow stays unimported).
    base = sys.modules.get("airflow_provider_pai.hooks.base")
    if base is not None:
        base.AlibabaCloudBaseHook.clear_shared()
