#!/usr/bin/env bash
# Set up everything nbsched's demo and tests need, from nothing, on Debian:
#   - Debian packages: chromium (browser tests), PostgreSQL (PostgreSQL store tests)
#   - a running PostgreSQL on 127.0.0.1:5432 with trust auth and a database `test`
#   - .venv with nbsched installed editable with its dev extra
#   - .venv-kernel-min with the lowest ipykernel pyproject allows (kernel tests run on both)
# Safe to run again: every step checks before it acts.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null; then SUDO="sudo"; fi
PYTHON="${PYTHON:-python3}"
PYTHON_ONLY=0
# the demo needs no browser, no server and no second kernel environment: only .venv
[ "${1:-}" = "--python-only" ] && PYTHON_ONLY=1

if [ "$PYTHON_ONLY" = 0 ]; then
need_apt=()
[ -x /usr/bin/chromium ] || need_apt+=(chromium fonts-dejavu-core)
command -v pg_ctlcluster >/dev/null || need_apt+=(postgresql)
"$PYTHON" -c 'import venv, ensurepip' 2>/dev/null || need_apt+=(python3-venv)
if [ "${#need_apt[@]}" -gt 0 ]; then
  echo "== installing Debian packages: ${need_apt[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

echo "== PostgreSQL"
if ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  hba="/etc/postgresql/$version/main/pg_hba.conf"
  # The tests connect as user postgres over TCP without a password (trust auth on loopback).
  if ! grep -qE '^host\s+all\s+all\s+127\.0\.0\.1/32\s+trust' "$hba"; then
    $SUDO sed -i '1i host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust\nlocal all all trust' "$hba"
  fi
  $SUDO pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  for _ in $(seq 1 30); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 1; done
fi
psql -h 127.0.0.1 -U postgres -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname='test'" | grep -q 1 \
  || psql -h 127.0.0.1 -U postgres -d postgres -qc "CREATE DATABASE test"
fi

echo "== Python environments"
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
# PYTHONWARNINGS: setuptools' editable-install banner is advice for package authors, not users
extras=dev,docs
[ "$PYTHON_ONLY" = 1 ] && extras=dev   # the demo builds no documentation
PYTHONWARNINGS=ignore .venv/bin/python -m pip install -q -e ".[$extras]"
if [ "$PYTHON_ONLY" = 0 ]; then  # only the kernel tests use it, not the demo
[ -x .venv-kernel-min/bin/python ] || "$PYTHON" -m venv .venv-kernel-min
.venv-kernel-min/bin/python -m pip install -q --upgrade pip
PYTHONWARNINGS=ignore .venv-kernel-min/bin/python -m pip install -q 'ipykernel==6.29.*' 'ipywidgets>=8.1' -e .
fi
echo "== setup done"
