#!/usr/bin/env bash
# Make sure a PostgreSQL server answers on 127.0.0.1:5432 for user postgres without a password:
# start the installed cluster if it is down, or install one from Debian's packages if there is none.
set -euo pipefail
host=127.0.0.1 port=5432
answers() { command -v pg_isready >/dev/null && pg_isready -q -h "$host" -p "$port"; }
answers && exit 0
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
if ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
    echo "PostgreSQL not found: installing it from Debian's packages" >&2
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq postgresql >/dev/null
    version=$(ls /etc/postgresql | sort -V | tail -n1)
    # Test-only server: trust connections from loopback, as on the developers' machines.
    as_root sed -i -E 's/^(host\s+all\s+all\s+(127\.0\.0\.1\/32|::1\/128)\s+)\S+/\1trust/' \
        "/etc/postgresql/$version/main/pg_hba.conf"
fi
version=$(ls /etc/postgresql | sort -V | tail -n1)
as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start || as_root pg_ctlcluster "$version" main restart
for _ in $(seq 1 30); do answers && exit 0; sleep 1; done
echo "PostgreSQL does not answer on $host:$port" >&2
exit 1
