#!/usr/bin/env bash
# Set everything up from a fresh clone and run the whole test suite, then build the docs strictly.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
VENV=${VENV:-.venv}
unset HTTP_PROXY HTTPS_PROXY ALL_PROXY http_proxy https_proxy all_proxy
export NO_PROXY='*'
"$VENV/bin/python" -m pytest -p no:cacheprovider "$@"
if [ -f mkdocs.yml ]; then
  "$VENV/bin/mkdocs" build --strict --quiet --site-dir "$(mktemp -d)"
fi
