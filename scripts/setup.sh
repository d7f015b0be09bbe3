#!/usr/bin/env bash
# Create (or update) the project's virtualenv from the pinned constraints. Idempotent.
#   VENV=.venv  CONSTRAINTS=constraints/constraints-airflow-3.txt  PYTHON=python3
# The Airflow 2.11 leg: VENV=.venv-af2 CONSTRAINTS=constraints/constraints-airflow-2.txt
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
CONSTRAINTS=${CONSTRAINTS:-constraints/constraints-airflow-3.txt}
PYTHON=${PYTHON:-python3}
uv_version=$(grep -E '^uv==' "$CONSTRAINTS" | cut -d= -f3)

if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv "$VENV"
fi
if ! "$VENV/bin/uv" --version 2>/dev/null | grep -q "$uv_version"; then
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check "uv==$uv_version"
fi
"$VENV/bin/uv" pip install -q --python "$VENV/bin/python" -c "$CONSTRAINTS" -e ".[emulator,test,docs]"
scripts/setup-distributed.sh "$VENV" "$CONSTRAINTS"   # PostgreSQL, Redis, Celery: Airflow 3 leg only
VENV=$VENV CONSTRAINTS=$CONSTRAINTS scripts/setup-ui.sh   # chromium + playwright (Airflow 3 leg)
# Byte-compile once: with PYTHONDONTWRITEBYTECODE set (common in CI images) every process would
# otherwise recompile the SDKs' multi-megabyte model modules on import (seen: 16 s vs 2 s).
"$VENV/bin/python" -m compileall -q -j 0 "$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')" >/dev/null || true
