#!/usr/bin/env bash
# The LibreOffice test converts a sales workbook to PDF with `soffice --headless --convert-to pdf`, and
# the README's workbook image is made the same way. Debian's libreoffice-calc-nogui is the smallest set
# that does it (Calc without the desktop toolkits); its recommends (dictionaries, Python bindings) are
# not needed. Install it unless soffice is already there.
set -euo pipefail
[ -x /usr/bin/soffice ] && exit 0
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
echo "soffice not found: installing libreoffice-calc-nogui from Debian's packages" >&2
as_root apt-get update -qq
DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends \
    libreoffice-calc-nogui >/dev/null
