"""The monthly close: on the 1st, export the month just ended for every tenant.

``build_schedule_from_partitioned_job`` would target the newest month partition, which with the
month dimension's ``end_offset=1`` is the month that has just begun; so this schedule names the
previous month itself. The run key (month and tenant) keeps a re-evaluated tick from launching twice.
"""

import datetime as dt

import dagster as dg

from export_platform.exports.assets import exports_job
from export_platform.partitions import TENANT_DIMENSION, TenantMonth


def previous_month(instant: dt.datetime) -> str:
    return (instant.date().replace(day=1) - dt.timedelta(days=1)).strftime("%Y-%m")


@dg.schedule(
    name="monthly_close",
    job=exports_job,
    cron_schedule="0 6 1 * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description=(
        "At 06:00 UTC on the 1st, exports the month just ended for every tenant: the eight datasets and "
        "all their CSV, Excel and PDF files, one run per tenant."
    ),
)
def monthly_close(context: dg.ScheduleEvaluationContext) -> dg.SkipReason | list[dg.RunRequest]:
    month = previous_month(context.scheduled_execution_time)
    tenants = sorted(context.instance.get_dynamic_partitions(TENANT_DIMENSION))
    if not tenants:
        return dg.SkipReason("no tenants yet: tenant_sensor adds them")
    return [
        dg.RunRequest(
            run_key=f"monthly-close:{month}:{tenant}",
            partition_key=TenantMonth(tenant, month).key,
            tags={"export_platform/requested_by": "schedule:monthly_close"},
        )
        for tenant in tenants
    ]
