#!/usr/bin/env bash
# Every check nbsched's CI runs, in order, after scripts/setup.sh: lint, types, the documentation
# site (warnings are errors), then the whole test suite. Each step stops the run when it fails.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python

echo "== ruff"
$PY -m ruff check nbsched tests benchmarks notebooks docs/conf.py
$PY -m ruff format --check nbsched tests benchmarks docs/conf.py
echo "== mypy"
$PY -m mypy --no-incremental
echo "== documentation site"
rm -rf docs/_build
$PY -m sphinx -W --keep-going -q -b html docs docs/_build/html
echo "== tests"
$PY -m pytest "$@"
