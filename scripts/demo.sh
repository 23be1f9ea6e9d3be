#!/usr/bin/env bash
# The main job on the embedded default: install, seed a SQLite source with demo tenants (replacing
# the data of an earlier demo), and materialize every dataset of last month for each of them into
# .export_platform/artifacts. Prints progress and a table of the results; Dagster's logs go to a file
# under .export_platform/logs/ (add --verbose to see them here too).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install.sh
exec .venv/bin/export-platform demo --replace "$@"
