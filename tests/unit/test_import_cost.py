"""What a DAG file pays to import this provider: no SDK, no hook and no trigger module.

Timings live in ``benchmarks/bench_parse.py``; this test pins the cause of the cost instead: the
modules an import of every operator and sensor loads.
"""

from __future__ import annotations

import subprocess
import sys

SDK_PREFIXES = ("oss2", "alibabacloud", "Tea", "darabonba")
OPERATORS_AND_SENSORS = (
    "airflow_provider_pai.operators.dataworks", "airflow_provider_pai.operators.oss",
    "airflow_provider_pai.operators.eas", "airflow_provider_pai.sensors.dataworks",
    "airflow_provider_pai.sensors.eas",
)


def _loaded_after(imports: str) -> list[str]:
    code = (
        "import sys\n"
        f"{imports}\n"
        "print('\\n'.join(sorted(sys.modules)))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


def test_hook_modules_import_no_sdk():
    loaded = _loaded_after(
        "import airflow_provider_pai.hooks.base, airflow_provider_pai.hooks.dataworks\n"
        "import airflow_provider_pai.hooks.eas, airflow_provider_pai.hooks.oss, airflow_provider_pai.hooks.connection\n"
        "import airflow_provider_pai.hooks.errors, airflow_provider_pai.hooks.endpoints\n"
        "import airflow_provider_pai.get_provider_info"
    )
    assert "airflow_provider_pai.hooks.eas" in loaded  # the import happened
    assert not [m for m in loaded if m.split(".")[0].startswith(SDK_PREFIXES)]


def test_operator_and_sensor_modules_import_no_sdk_hook_or_trigger():
    loaded = _loaded_after("\n".join(f"import {m}" for m in OPERATORS_AND_SENSORS))
    assert set(OPERATORS_AND_SENSORS) <= set(loaded)
    assert not [m for m in loaded if m.split(".")[0].startswith(SDK_PREFIXES)]
    heavy = [m for m in loaded if m.startswith(("airflow_provider_pai.triggers", "airflow_provider_pai.hooks"))]
    assert not heavy, f"loaded at DAG-parse time, only needed when a task runs or defers: {heavy}"
