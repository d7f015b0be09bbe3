#!/usr/bin/env bash
# Set everything up from a fresh clone and run the whole test suite, then build the docs strictly.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -n "${SKIP_SETUP:-}" ] || scripts/setup.sh   # .ci/run sets both legs up first, then tests them side by side
VENV=${VENV:-.venv}
unset HTTP_PROXY HTTPS_PROXY ALL_PROXY http_proxy https_proxy all_proxy
export NO_PROXY='*'
"$VENV/bin/python" -m pytest -p no:cacheprovider --durations=15 "$@"
if [ -f mkdocs.yml ]; then
  "$VENV/bin/mkdocs" build --strict --quiet --site-dir "$(mktemp -d)"
fi
