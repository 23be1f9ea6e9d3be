#!/usr/bin/env bash
# The whole test suite: install, make sure PostgreSQL and RabbitMQ answer and Chromium and poppler
# (pdftoppm) are installed, lint, and run pytest, listing the slowest tests. The tests start their own
# S3 (moto) and SMTP servers and Dagster webservers on 127.0.0.1. With arguments, one pytest with them.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install.sh test
scripts/ensure-postgres.sh
scripts/ensure-rabbitmq.sh
scripts/ensure-chromium.sh
scripts/ensure-poppler.sh
scripts/ensure-libreoffice.sh
.venv/bin/ruff check export_platform export_platform_downstream export_platform_tests
.venv/bin/mypy export_platform
if [ "$#" -gt 0 ]; then  # a selection of one's own: one pytest, as given
    exec .venv/bin/pytest --durations=25 "$@"
fi
# The whole suite as two pytest processes at once, so the two cores stay busy: the tests that mostly
# wait for Dagster's daemon, webserver or a browser (marked daemon, load or browser) beside the rest.
# Every test makes its own databases, folders and ports, so the two halves share nothing.
waiting="daemon or load or browser"
waiting_log="$(mktemp)"
.venv/bin/pytest -m "$waiting" -p no:cacheprovider --durations=15 >"$waiting_log" 2>&1 &
waiting_pid=$!
status=0
.venv/bin/pytest -m "not ($waiting)" --durations=25 || status=$?
waiting_status=0
wait "$waiting_pid" || waiting_status=$?
echo "=== the tests marked $waiting, run alongside ==="
cat "$waiting_log"
rm -f "$waiting_log"
if [ "$status" -eq 0 ]; then status=$waiting_status; fi
exit "$status"
