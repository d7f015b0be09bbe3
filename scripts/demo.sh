#!/usr/bin/env bash
# The first command: needs only Python >= 3.11 with venv, and no root. Installs the package and its
# emulator into .venv (nothing else: no database server, no browser), then runs the example DAG three
# times against the local emulator (scripts/demo.py): a good model (the service moves to the new
# version), a broken one (the test fails, the rollback restores the previous version) and a good one on
# a new-Data-Studio workspace. Exits 0 only if all three runs did what they should.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh demo
unset HTTP_PROXY HTTPS_PROXY ALL_PROXY http_proxy https_proxy all_proxy
exec "${VENV:-.venv}/bin/python" scripts/demo.py "$@"
