#!/usr/bin/env bash
# The browser test drives Debian's Chromium through Playwright (never a browser build Playwright would
# download). Install the package unless it is already there.
set -euo pipefail
[ -x /usr/bin/chromium ] && exit 0
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
echo "Chromium not found: installing it from Debian's packages" >&2
as_root apt-get update -qq
DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq chromium >/dev/null
