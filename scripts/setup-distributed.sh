#!/usr/bin/env bash
# The distributed test deployment (tests/distributed/): PostgreSQL and Redis from Debian's packages,
# and the Celery executor with its PostgreSQL and Redis clients in the Airflow 3 venv.
# Idempotent and quick when everything is there: apt runs only for a missing server binary.
#   scripts/setup-distributed.sh VENV CONSTRAINTS     (called by scripts/setup.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${1:-${VENV:-.venv}}
CONSTRAINTS=${2:-${CONSTRAINTS:-constraints/constraints-airflow-3.txt}}

# The tests run on the Airflow 3 leg only (they skip on 2.11): nothing to do for the other leg.
if ! "$VENV/bin/python" -c 'import sys, airflow; sys.exit(int(airflow.__version__.split(".")[0]) < 3)' 2>/dev/null; then
  exit 0
fi

have_postgres() { ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; }
have_redis() { command -v redis-server >/dev/null 2>&1; }
if ! have_postgres || ! have_redis; then
  if [ "$(id -u)" != 0 ]; then
    echo "scripts/setup-distributed.sh: the distributed tests (tests/distributed) need PostgreSQL and Redis, which are" >&2
    echo "  missing, and installing them needs root. As root: apt-get install -y --no-install-recommends postgresql redis-server" >&2
    echo "  (or run the rest without them: scripts/test.sh --ignore tests/distributed)" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends postgresql redis-server >/dev/null
fi

"$VENV/bin/uv" pip install -q --python "$VENV/bin/python" -c "$CONSTRAINTS" -e ".[distributed]"
