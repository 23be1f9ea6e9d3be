#!/usr/bin/env bash
# The whole test suite: install, make sure PostgreSQL and RabbitMQ answer and Chromium and poppler
# (pdftoppm) are installed, lint, and run pytest, listing the 25 slowest tests. The tests start their
# own S3 (moto) and SMTP servers and Dagster webservers on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install.sh test
scripts/ensure-postgres.sh
scripts/ensure-rabbitmq.sh
scripts/ensure-chromium.sh
scripts/ensure-poppler.sh
.venv/bin/ruff check export_platform export_platform_downstream export_platform_tests
.venv/bin/mypy export_platform
exec .venv/bin/pytest --durations=25 "$@"
