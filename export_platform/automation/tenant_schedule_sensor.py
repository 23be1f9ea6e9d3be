"""``export_schedule_sensor``: launches each tenant schedule's exports when it falls due, exactly once.

Exactly once, twice over: the cursor remembers the last due instant requested per schedule, and every
request carries a run key made of the schedule id and its due instant, which Dagster never launches
twice, so even a daemon that dies between launching and saving its cursor does not send twice. A
schedule missed while the daemon was down is requested once, for its latest due instant, when the
daemon comes back.
"""

import datetime as dt
import json
from dataclasses import dataclass

import dagster as dg

from export_platform.exports.assets import inputs_for
from export_platform.exports.formats import FORMATS_BY_NAME
from export_platform.partitions import TENANT_DIMENSION
from export_platform.plain_text import escaped
from export_platform.settings import schedule_check_seconds
from export_platform.tracking.history import ExportHistory
from export_platform.tracking.tenant_schedules import (
    TenantSchedule,
    TenantScheduleStore,
    latest_due,
    partition_month,
)


def now_utc() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class DueExport:
    schedule: TenantSchedule
    due: dt.datetime

    @property
    def run_key(self) -> str:
        return f"export-schedule:{self.schedule.id}:{self.due.isoformat()}"

    @property
    def partition_key(self) -> str:
        return f"{partition_month(self.schedule, self.due)}|{self.schedule.spec.tenant}"

    @property
    def asset_keys(self) -> list[dg.AssetKey]:
        """The schedule's exports and the datasets they read, refreshed in the same run."""
        spec = self.schedule.spec
        datasets = {
            name for d in spec.datasets for f in spec.formats for name in inputs_for(d, FORMATS_BY_NAME[f])
        }
        return [dg.AssetKey(name) for name in sorted(datasets) + self.schedule.export_assets]

    def run_request(self) -> dg.RunRequest:
        return dg.RunRequest(
            run_key=self.run_key,
            partition_key=self.partition_key,
            asset_selection=self.asset_keys,
            tags={
                "export_platform/schedule_id": self.schedule.id,
                "export_platform/due_at": self.due.isoformat(),
                "export_platform/requested_by": f"schedule:{self.schedule.spec.name}",
            },
        )


def plan_due_exports(
    schedules: list[TenantSchedule],
    now: dt.datetime,
    cursor: dict[str, str],
    tenants: set[str],
    problems: list[str] | None = None,
) -> tuple[list[DueExport], dict[str, str]]:
    """Which active schedules fell due since the cursor, and the cursor after requesting them. A
    schedule whose due time or run cannot be worked out (a stored zone, dataset or format that no longer
    exists) is left out and named in ``problems``, so it stops no other tenant's schedules."""
    due, cursor = [], dict(cursor)
    for schedule in schedules:
        try:
            instant = latest_due(schedule, now)
            if instant is not None:
                DueExport(schedule, instant).run_request()  # names a dataset or format that exists
        except (ValueError, KeyError) as exc:
            if problems is not None:
                problems.append(
                    f"schedule {schedule.id} of {schedule.spec.tenant}: {type(exc).__name__}: {exc}"
                )
            continue
        if not schedule.is_active or instant is None or schedule.spec.tenant not in tenants:
            continue
        if cursor.get(schedule.id, "") >= instant.isoformat():
            continue
        due.append(DueExport(schedule, instant))
        cursor[schedule.id] = instant.isoformat()
    return due, cursor


@dg.sensor(
    name="export_schedule_sensor",
    description=(
        "Runs each tenant's export schedules (daily, weekly or monthly, at a time of day in the schedule's "
        "own timezone) when they fall due: the chosen exports of the month before the due day, once per due "
        "time, even across daemon restarts. Manage schedules with `export-platform schedules`."
    ),
    minimum_interval_seconds=schedule_check_seconds(),
    target=dg.AssetSelection.groups("datasets", "exports"),
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def export_schedule_sensor(
    context: dg.SensorEvaluationContext, history: ExportHistory
) -> dg.SkipReason | dg.SensorResult:
    schedules, problems = TenantScheduleStore(history.engine).readable(active_only=True)
    tenants = set(context.instance.get_dynamic_partitions(TENANT_DIMENSION))
    due, cursor = plan_due_exports(
        schedules, now_utc(), json.loads(context.cursor or "{}"), tenants, problems
    )
    for problem in problems:  # one tenant's broken schedule; the others still run on this tick
        context.log.error(f"skipped {escaped(problem)}")
    if not due:
        return dg.SkipReason(f"{len(schedules)} active schedules, none due")
    for export in due:
        context.log.info(
            f"{export.schedule.spec.tenant}/{export.schedule.spec.name}: due {export.due}, "
            f"exporting {export.partition_key}"
        )
    return dg.SensorResult(
        run_requests=[e.run_request() for e in due], cursor=json.dumps(cursor, sort_keys=True)
    )
