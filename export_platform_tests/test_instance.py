"""dagster.yaml gives a production instance on PostgreSQL with a queued, per-tenant-limited run
coordinator and run retries; dagster.local.yaml the embedded default with no PostgreSQL."""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg

from export_platform_tests.support.project import PROJECT


def test_production_instance(tmp_path: Path, dagster_database: str) -> None:
    shutil.copyfile(PROJECT / "deploy" / "dagster.yaml", tmp_path / "dagster.yaml")
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        assert type(instance.event_log_storage).__name__ == "PostgresEventLogStorage"
        assert type(instance.schedule_storage).__name__ == "PostgresScheduleStorage"
        coordinator = instance.run_coordinator
        assert type(coordinator).__name__ == "QueuedRunCoordinator"
        assert coordinator.get_run_queue_config().max_concurrent_runs == 8
        limits = coordinator.get_run_queue_config().tag_concurrency_limits
        assert limits == [
            {"key": "dagster/partition/tenant", "value": {"applyLimitPerUniqueValue": True}, "limit": 1}
        ]
        assert instance.run_retries_enabled and instance.run_retries_max_retries == 2
        assert instance.run_monitoring_enabled and instance.run_monitoring_start_timeout_seconds == 300
        instance.add_dynamic_partitions("tenant", ["acme"])  # really writes to PostgreSQL
        assert instance.get_dynamic_partitions("tenant") == ["acme"]


def test_embedded_default_needs_no_postgres(tmp_path: Path) -> None:
    shutil.copyfile(PROJECT / "dagster.local.yaml", tmp_path / "dagster.yaml")
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        assert type(instance.run_storage).__name__ == "SqliteRunStorage"


def test_runs_carry_the_tenant_tag_the_limit_keys_on(materialized_sqlite) -> None:
    assert materialized_sqlite.result.dagster_run.tags["dagster/partition/tenant"] == "acme"
