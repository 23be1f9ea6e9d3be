#!/usr/bin/env bash
# Create .venv and install the project with its pinned dependencies (uv resolves in seconds).
# Usage: scripts/install.sh [extra]   e.g. scripts/install.sh test
set -euo pipefail
cd "$(dirname "$0")/.."
extra="${1:-}"
if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
if [ ! -x .venv/bin/uv ]; then
    .venv/bin/python -m pip --version >/dev/null 2>&1 || .venv/bin/python -m ensurepip --upgrade >/dev/null
    .venv/bin/python -m pip install --quiet --disable-pip-version-check uv==0.13.9
fi
spec="."
[ -n "$extra" ] && spec=".[$extra]"
.venv/bin/uv pip install --quiet --python .venv/bin/python -e "$spec"
# Bytecode for every installed module, written now: where PYTHONDONTWRITEBYTECODE is set (as on our
# machines) Python would otherwise compile Dagster and the rest from source in every process, which
# doubled the import of the code location (3.1 s -> 1.4 s) and so every run's start-up. A few seconds
# when nothing changed.
.venv/bin/python -m compileall -q -j 0 .venv/lib/python3*/site-packages >/dev/null || true  # a speed-up only
