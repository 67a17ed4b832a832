#!/usr/bin/env bash
# Sets up everything the test suite needs on a fresh machine, then runs lint, types and all tests.
# Usage: bash tests/run-all.sh [extra pytest args]
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
step() { printf '\n== %s\n' "$*"; }

step "system packages (bubblewrap for the sandbox)"
if ! command -v bwrap >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap util-linux >/dev/null
  else
    echo "bubblewrap is missing and cannot be installed here; sandbox tests will say so"
  fi
fi

step "python environment (.venv)"
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[test]'

step "ruff"
.venv/bin/ruff check .
.venv/bin/ruff format --check .

step "mypy (strict)"
.venv/bin/mypy

step "pytest"
.venv/bin/python -m pytest -q -p no:cacheprovider "$@"
