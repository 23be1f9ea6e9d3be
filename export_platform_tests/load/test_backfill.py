"""The backfill benchmark at CI size: one month for a few tenants through the production instance's
``QueuedRunCoordinator`` and a real daemon completes with no failed run, within the configured global
and per-tenant concurrency; then the same backfill with steps on two dagster-celery workers (RabbitMQ on
127.0.0.1) runs steps on both workers and writes byte-identical artifacts."""

from __future__ import annotations

import importlib.util
import socket
import sys
from pathlib import Path

import pytest

from export_platform_tests.support.project import PROJECT

pytestmark = [pytest.mark.load, pytest.mark.daemon]

spec = importlib.util.spec_from_file_location("bench_backfill", PROJECT / "bench" / "backfill.py")
backfill = sys.modules[spec.name] = importlib.util.module_from_spec(spec)
spec.loader.exec_module(backfill)

TENANTS = 3  # enough for runs of different tenants to overlap; bench/backfill.py runs 200
CELERY_TENANTS = 2  # one run per worker at a time
TIMEOUT_SECONDS = 600


def rabbitmq_listening() -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", 5672)) == 0


def test_backfill_within_limits_then_on_celery(tmp_path: Path) -> None:
    if not rabbitmq_listening():
        pytest.fail(
            "the celery half of this test needs RabbitMQ on 127.0.0.1:5672, "
            "which scripts/ensure-rabbitmq.sh starts"
        )
    queued, celery = backfill.benchmark(TENANTS, CELERY_TENANTS, tmp_path, TIMEOUT_SECONDS)
    print(queued, celery)

    assert queued.runs == TENANTS and queued.failed_runs == 0
    assert 1 < queued.peak_concurrent_runs <= queued.max_concurrent_runs == 8
    assert queued.peak_runs_per_tenant <= queued.per_tenant_limit == 1
    assert queued.peak_source_connections >= 1
    assert queued.step_processes == TENANTS  # in_process: each run's steps in the run's own process
    assert len(queued.artifacts) == TENANTS * (8 + 22)  # eight Parquet datasets and 22 exports each

    assert celery.runs == CELERY_TENANTS and celery.failed_runs == 0
    assert celery.step_processes == 2  # the two workers (checked by name inside the benchmark)
    assert celery.peak_runs_per_tenant <= 1 and celery.peak_concurrent_runs <= 8
    assert celery.artifacts == {k: v for k, v in queued.artifacts.items() if k in celery.artifacts}
    assert len(celery.artifacts) == CELERY_TENANTS * (8 + 22)
