#!/usr/bin/env bash
# Set everything up from a fresh clone and run the example DAG against the local emulator, twice:
# a good model (the service moves to the new version) and a broken one (the test fails, the
# rollback restores the previous version). Exits 0 only if both runs did what they should.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
unset HTTP_PROXY HTTPS_PROXY ALL_PROXY http_proxy https_proxy all_proxy
exec "${VENV:-.venv}/bin/python" scripts/demo.py "$@"
