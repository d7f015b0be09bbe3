#!/usr/bin/env bash
# Create (or update) the project's virtualenv from the pinned constraints. Idempotent, never needs root.
#   scripts/setup.sh [demo|test]      demo: the package + its emulator (what scripts/demo.sh runs)
#                                     test (default): + the test and docs extras, and, on the Airflow 3 leg,
#                                     the Celery stack and the browser for tests/distributed and tests/ui
#   VENV=.venv  CONSTRAINTS=constraints/constraints-airflow-3.txt  PYTHON=python3
# The Airflow 2.11 leg: VENV=.venv-af2 CONSTRAINTS=constraints/constraints-airflow-2.txt
set -euo pipefail
cd "$(dirname "$0")/.."
MODE=${1:-test}
VENV=${VENV:-.venv}
CONSTRAINTS=${CONSTRAINTS:-constraints/constraints-airflow-3.txt}
PYTHON=${PYTHON:-python3}
uv_version=$(grep -E '^uv==' "$CONSTRAINTS" | cut -d= -f3)

# requires-python is >=3.11 (Airflow's common-compat provider needs it); the docs extra's pinned
# pymdown-extensions needs 3.11.5, so only the test command's docs build asks for that.
need=3.11.0; [ "$MODE" = test ] && need=3.11.5
if ! "$PYTHON" -c "import sys; sys.exit(sys.version_info < tuple(map(int, '$need'.split('.'))))" 2>/dev/null; then
  have=$("$PYTHON" -c 'import platform; print(platform.python_version())' 2>/dev/null || echo "none")
  echo "scripts/setup.sh ($MODE): needs Python >= $need, found $have at '$PYTHON'." >&2
  echo "  Install a newer Python (e.g. pyenv install 3.11.9) and run again with PYTHON=/path/to/python3.11." >&2
  [ "$MODE" = test ] && echo "  (scripts/demo.sh needs only Python >= 3.11.0.)" >&2
  exit 1
fi
if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv "$VENV" || {
    echo "scripts/setup.sh: '$PYTHON -m venv' failed: on Debian/Ubuntu install the venv module (as root: apt-get install python3-venv)" >&2
    exit 1
  }
fi
if ! "$VENV/bin/uv" --version 2>/dev/null | grep -q "$uv_version"; then
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check "uv==$uv_version"
fi
case "$MODE" in
  demo) "$VENV/bin/uv" pip install -q --python "$VENV/bin/python" -c "$CONSTRAINTS" -e ".[emulator]" ;;
  test)
    "$VENV/bin/uv" pip install -q --python "$VENV/bin/python" -c "$CONSTRAINTS" -e ".[emulator,test,docs]"
    # Both run (so a non-root user learns everything that is missing at once), either may fail.
    rc=0
    scripts/setup-distributed.sh "$VENV" "$CONSTRAINTS" || rc=1   # PostgreSQL, Redis, Celery: Airflow 3 leg only
    VENV=$VENV CONSTRAINTS=$CONSTRAINTS scripts/setup-ui.sh || rc=1   # chromium + playwright (Airflow 3 leg)
    [ $rc = 0 ] || { echo "scripts/setup.sh: install the packages named above, then run again" >&2; exit 1; }
    ;;
  *) echo "usage: scripts/setup.sh [demo|test]" >&2; exit 2 ;;
esac
# Byte-compile once: with PYTHONDONTWRITEBYTECODE set (common in CI images) every process would
# otherwise recompile the SDKs' multi-megabyte model modules on import (seen: 16 s vs 2 s).
"$VENV/bin/python" -m compileall -q -j 0 "$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')" >/dev/null || true
