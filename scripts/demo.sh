#!/usr/bin/env bash
# The main job on the embedded default: install, seed a SQLite source with demo tenants, and
# materialize every dataset of last month for each of them into .export_platform/artifacts.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install.sh
exec .venv/bin/export-platform demo "$@"
