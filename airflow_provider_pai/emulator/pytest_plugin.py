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
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from .process import CONN_ENV, PROXY_VARS, EmulatorProcess
from .scenario import DEMO_SCENARIO, load_scenario, require_extra

__all__ = ["EmulatorProcess", "emulator_as_pai_default", "pai_emulator", "pai_emulator_scenario"]


@pytest.fixture
def pai_emulator_scenario() -> dict:
    """The scenario the emulator starts from (default: the packaged demo scenario)."""
    return load_scenario(DEMO_SCENARIO)


@pytest.fixture
def pai_emulator(pai_emulator_scenario, tmp_path_factory):
    """A running emulator (subprocess, 127.0.0.1, fresh data dir) with ``pai_default`` pointing at it.

    While active, ``AIRFLOW_CONN_PAI_DEFAULT`` is set and proxy variables are removed.
    """
    with emulator_as_pai_default(pai_emulator_scenario, tmp_path_factory.mktemp("pai-emulator")) as emu:
        yield emu


@contextmanager
def emulator_as_pai_default(scenario: dict, data_dir: Path) -> Iterator[EmulatorProcess]:
    """What ``pai_emulator`` does, for a fixture of any scope: start the emulator, point ``pai_default``
    at it (``AIRFLOW_CONN_PAI_DEFAULT``, proxy variables removed), undo it all at the end."""
    require_extra()  # a missing [emulator] extra is named here, not as a failed child process
    with pytest.MonkeyPatch.context() as mp, EmulatorProcess(scenario, data_dir=data_dir) as emu:
        _forget_shared_hooks()
        try:
            for var in PROXY_VARS:
                mp.delenv(var, raising=False)
            mp.setenv(CONN_ENV, emu.connection_json())
            yield emu
        finally:
            _forget_shared_hooks()


def _forget_shared_hooks() -> None:
    # Triggers share one hook per connection for minutes: one an earlier test built would still point
    # at that test's stopped emulator. Not imported yet means none exist (and Airflow stays unimported).
    base = sys.modules.get("airflow_provider_pai.hooks.base")
    if base is not None:
        base.AlibabaCloudBaseHook.clear_shared()
