#!/usr/bin/env bash
# Installs what the benchmarks need on a fresh Debian machine: wrk (load generator) and the
# project itself in .venv with its test extras (httpx2, websockets, mypy, ruff).
# Run from anywhere: `bash benchmarks/setup.sh`. Safe to run again.
set -euo pipefail

cd "$(dirname "$0")/.."

if ! command -v wrk >/dev/null 2>&1; then
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq wrk
fi

if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
.venv/bin/pip install -q -e '.[test]'

echo "wrk: $(command -v wrk)"
echo "python: $(.venv/bin/python --version)"
echo "ready: run e.g. .venv/bin/python benchmarks/ingest.py"
