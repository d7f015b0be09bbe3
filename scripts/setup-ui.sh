#!/usr/bin/env bash
# What the browser tests (tests/ui/) and scripts/airflow_ui.py need, on the Airflow 3 leg only
# (the constraints file that pins playwright): Debian's chromium and the playwright package.
# Idempotent. Playwright drives /usr/bin/chromium (executable_path); it never downloads a browser,
# so `playwright install` is never run. Called by scripts/setup.sh with VENV and CONSTRAINTS set.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
CONSTRAINTS=${CONSTRAINTS:-constraints/constraints-airflow-3.txt}
grep -q '^playwright==' "$CONSTRAINTS" || exit 0

if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
    echo "scripts/setup-ui.sh: the browser tests (tests/ui) need /usr/bin/chromium, which is missing, and installing it" >&2
    echo "  needs root. As root: apt-get install -y --no-install-recommends chromium" >&2
    echo "  (or run the rest without it: scripts/test.sh --ignore tests/ui)" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi
# The `ui` extra of pyproject.toml, at its pinned version.
"$VENV/bin/uv" pip install -q --python "$VENV/bin/python" -c "$CONSTRAINTS" playwright
