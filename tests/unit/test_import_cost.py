"""Importing the hooks must not import any SDK: DAG files stay fast to parse."""

from __future__ import annotations

import subprocess
import sys

SDK_PREFIXES = ("oss2", "alibabacloud", "Tea", "darabonba")


def test_hook_modules_import_no_sdk():
    code = (
        "import sys\n"
        "import airflow_provider_pai.hooks.base, airflow_provider_pai.hooks.dataworks\n"
        "import airflow_provider_pai.hooks.eas, airflow_provider_pai.hooks.oss, airflow_provider_pai.hooks.connection\n"
        "import airflow_provider_pai.hooks.errors, airflow_provider_pai.hooks.endpoints\n"
        "import airflow_provider_pai.get_provider_info\n"
        f"loaded = sorted(m for m in sys.modules if m.split('.')[0].startswith({SDK_PREFIXES!r}))\n"
        "assert not loaded, loaded\n"
        "assert 'oss2' not in sys.modules and 'Tea' not in sys.modules and 'darabonba' not in sys.modules\n"
        "print('clean')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "clean" in result.stdout
