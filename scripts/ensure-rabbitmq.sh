#!/usr/bin/env bash
# Make sure RabbitMQ answers on 127.0.0.1:5672 for the load test's dagster-celery workers (user guest,
# which RabbitMQ admits from loopback only): start the installed server if it is down, or install it
# from Debian's packages if there is none.
set -euo pipefail
host=127.0.0.1 port=5672
answers() { (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; }
answers && exit 0
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
if [ ! -x /usr/sbin/rabbitmq-server ]; then
    echo "RabbitMQ not found: installing it from Debian's packages" >&2
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq rabbitmq-server >/dev/null
fi
# Through its init script, which also works where no systemd runs; it returns once the node is up.
if ! as_root service rabbitmq-server start >&2; then
    echo "RabbitMQ did not start (its logs are in /var/log/rabbitmq)" >&2
    exit 1
fi
for _ in $(seq 1 60); do answers && exit 0; sleep 1; done
echo "RabbitMQ does not answer on $host:$port (its logs are in /var/log/rabbitmq)" >&2
exit 1
