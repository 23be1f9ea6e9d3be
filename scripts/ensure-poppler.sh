#!/usr/bin/env bash
# The PDF overview test renders a report's first page to an image with poppler's pdftoppm (Debian's
# poppler-utils). Install the package unless it is already there.
set -euo pipefail
[ -x /usr/bin/pdftoppm ] && exit 0
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
echo "pdftoppm not found: installing poppler-utils from Debian's packages" >&2
as_root apt-get update -qq
DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq poppler-utils >/dev/null
