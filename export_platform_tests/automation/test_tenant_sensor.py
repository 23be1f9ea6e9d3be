"""tenant_sensor keeps the tenant partitions equal to the active tenants, and idles when nothing changed."""

from __future__ import annotations

from collections.abc import Iterator

import dagster as dg
import pytest
import sqlalchemy as sa

from export_platform.automation.tenants import plan_tenant_sync, sync_tenants, tenant_sensor
from export_platform.partitions import TENANT_DIMENSION
from export_platform.resources import SourceDatabase
from export_platform.source import schema
from export_platform.source.database import SourceUrl, create_engine
from export_platform.source.demo_data import SeedPlan
from export_platform.source.seeding import seed


@pytest.fixture
def source(tmp_path) -> SourceDatabase:
    url = f"sqlite:///{tmp_path / 'source.db'}"
    seed(SourceUrl(url), SeedPlan(tenants=3, months=1, sales_per_day=1, end_month="2026-10"))
    return SourceDatabase(url=url)


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.instance_for_test() as instance:
        yield instance


def set_active(source: SourceDatabase, slug: str, active: bool) -> None:
    engine = create_engine(source.source_url)
    with engine.begin() as conn:
        conn.execute(sa.update(schema.tenants).where(schema.tenants.c.id == slug).values(is_active=active))


def evaluate(instance: dg.DagsterInstance, source: SourceDatabase, cursor: str | None):
    context = dg.build_sensor_context(instance=instance, cursor=cursor, resources={"source": source})
    return tenant_sensor(context)


def apply(instance: dg.DagsterInstance, result: dg.SensorResult) -> None:
    for request in result.dynamic_partitions_requests or []:
        if isinstance(request, dg.AddDynamicPartitionsRequest):
            instance.add_dynamic_partitions(TENANT_DIMENSION, list(request.partition_keys))
        else:
            for key in request.partition_keys:
                instance.delete_dynamic_partition(TENANT_DIMENSION, key)


def test_adds_then_idles_then_removes_deactivated(
    instance: dg.DagsterInstance, source: SourceDatabase
) -> None:
    first = evaluate(instance, source, None)
    assert isinstance(first, dg.SensorResult)
    apply(instance, first)
    assert sorted(instance.get_dynamic_partitions(TENANT_DIMENSION)) == ["acme", "globex", "initech"]

    second = evaluate(instance, source, first.cursor)
    assert isinstance(second, dg.SkipReason)

    set_active(source, "globex", False)
    third = evaluate(instance, source, first.cursor)
    assert isinstance(third, dg.SensorResult) and third.cursor != first.cursor
    apply(instance, third)
    assert sorted(instance.get_dynamic_partitions(TENANT_DIMENSION)) == ["acme", "initech"]


def test_unsafe_slugs_are_never_added() -> None:
    plan = plan_tenant_sync(["acme", "../etc", "Acme", "аcme", "new-shop"], known=["acme", "gone"])
    assert plan.add == ["new-shop"]
    assert plan.remove == ["gone"]
    assert plan.rejected == ["../etc", "Acme", "аcme"]


def test_sync_on_demand(instance: dg.DagsterInstance, source: SourceDatabase) -> None:
    instance.add_dynamic_partitions(TENANT_DIMENSION, ["deleted-shop"])
    plan = sync_tenants(instance, source)
    assert plan.add == ["acme", "globex", "initech"] and plan.remove == ["deleted-shop"]
    assert sorted(instance.get_dynamic_partitions(TENANT_DIMENSION)) == ["acme", "globex", "initech"]


def test_monthly_close_exports_the_month_just_ended_for_every_tenant(instance: dg.DagsterInstance) -> None:
    import datetime as dt

    from export_platform.automation.monthly_close import monthly_close
    from export_platform.definitions import defs

    context = dg.build_schedule_context(
        instance=instance, scheduled_execution_time=dt.datetime(2026, 11, 1, 6, tzinfo=dt.UTC)
    )
    assert isinstance(monthly_close(context), dg.SkipReason)  # no tenants yet
    instance.add_dynamic_partitions(TENANT_DIMENSION, ["acme", "globex"])
    requests = monthly_close(context)
    assert [r.partition_key for r in requests] == ["2026-10|acme", "2026-10|globex"]
    assert len({r.run_key for r in requests}) == 2
    january = dg.build_schedule_context(
        instance=instance, scheduled_execution_time=dt.datetime(2027, 1, 1, 6, tzinfo=dt.UTC)
    )
    assert monthly_close(january)[0].partition_key == "2026-12|acme"
    assert defs.resolve_schedule_def("monthly_close").job_name == "exports_job"


def test_weekly_summary_schedule_covers_every_tenant(instance: dg.DagsterInstance) -> None:
    import datetime as dt

    from export_platform.automation.weekly_summary import weekly_summary

    instance.add_dynamic_partitions(TENANT_DIMENSION, ["acme", "globex"])
    context = dg.build_schedule_context(
        instance=instance, scheduled_execution_time=dt.datetime(2026, 11, 23, 7, tzinfo=dt.UTC)
    )
    requests = weekly_summary(context)
    assert [r.partition_key for r in requests] == ["acme", "globex"]
    assert requests[0].run_key == "weekly-summary:2026-W48:acme"
