"""``export_schedule_sensor``: launches each tenant schedule's exports when it falls due, exactly once.

Exactly once, twice over: the cursor remembers the last due instant requested per schedule, and every
request carries a run key made of the schedule id and its due instant, which Dagster never launches
twice, so even a daemon that dies between launching and saving its cursor does not send twice. A
schedule missed while the daemon was down is requested once, for its latest due instant, when the
daemon comes back.

What a run exports is the schedule's period (``period_covered``: the day, ISO week or month before the
due day, or the month to date) with its options. Two kinds of run do that, each by the job made for it:

- a month-long period with no options, in the monthly exports' formats
  (``TenantSchedule.runs_monthly_exports``), is one run of ``exports_job`` for the tenant's month: the
  same files, at the same keys, as the monthly close writes, so the month is exported once whoever
  asks for it;
- any other (a day, a week, filters, CSV or file options, a CSV bundle) is an ``adhoc_export`` run per
  dataset over the period's days, with the schedule's options, writing to ``{tenant}/adhoc/{run_id}/``.

Every run carries the schedule id and due time in its tags (the delivery sensor's and the retry
sensor's way back to the schedule), and its run key is the schedule id, the due instant and, for
ad-hoc runs, the dataset: deterministic, so once per due time still holds across restarts.
"""

import datetime as dt
import json
from dataclasses import dataclass

import dagster as dg

from export_platform.exports.adhoc import adhoc_export
from export_platform.exports.assets import exports_job, inputs_for
from export_platform.exports.formats import FORMATS_BY_NAME
from export_platform.exports.scheduled_requests import adhoc_run_config, check_schedule
from export_platform.partitions import TENANT_DIMENSION
from export_platform.plain_text import escaped
from export_platform.settings import schedule_check_seconds
from export_platform.tracking.history import ExportHistory
from export_platform.tracking.tenant_schedules import (
    TenantSchedule,
    TenantScheduleStore,
    latest_due,
    partition_month,
    period_covered,
)

SCHEDULE_TAG = "export_platform/schedule_id"
DUE_TAG = "export_platform/due_at"


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

    @property
    def run_keys(self) -> list[str]:
        """The run keys of the due time's runs (``run_requests``), worked out without checking it."""
        if self.schedule.runs_monthly_exports:
            return [self.run_key]
        return [f"{self.run_key}:{dataset}" for dataset in self.schedule.spec.datasets]

    @property
    def tags(self) -> dict[str, str]:
        return {
            SCHEDULE_TAG: self.schedule.id,
            DUE_TAG: self.due.isoformat(),
            "export_platform/requested_by": f"schedule:{self.schedule.spec.name}",
        }

    def run_requests(self) -> list[dg.RunRequest]:
        """The runs that export the schedule's period: one of the monthly exports, or an ad-hoc
        export per dataset (see the module's docstring). Raises ``ValueError`` for a schedule that
        could never run (``check_schedule``)."""
        if self.schedule.runs_monthly_exports:
            return [
                dg.RunRequest(
                    run_key=self.run_key,
                    job_name=exports_job.name,
                    partition_key=self.partition_key,
                    asset_selection=self.asset_keys,
                    tags=self.tags,
                )
            ]
        spec = check_schedule(self.schedule.spec)
        first, last = period_covered(self.schedule, self.due)
        return [
            dg.RunRequest(
                run_key=run_key,
                job_name=adhoc_export.name,
                run_config={
                    "ops": {"run_adhoc_export": {"config": adhoc_run_config(spec, dataset, first, last)}}
                },
                tags=self.tags,
            )
            for dataset, run_key in zip(spec.datasets, self.run_keys, strict=True)
        ]


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
                DueExport(schedule, instant).run_requests()  # a schedule that can run
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
        "own timezone) when they fall due, once per due time, even across daemon restarts: the chosen "
        "exports of the day, ISO week or month before the due day (or the month to date), with the "
        "schedule's filters and file options. Manage schedules with `export-platform schedules`."
    ),
    minimum_interval_seconds=schedule_check_seconds(),
    jobs=[exports_job, adhoc_export],
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
        first, last = period_covered(export.schedule, export.due)
        context.log.info(
            f"{export.schedule.spec.tenant}/{escaped(export.schedule.spec.name)}: due {export.due}, "
            f"exporting {first} to {last}"
        )
    return dg.SensorResult(
        run_requests=[r for e in due for r in e.run_requests()], cursor=json.dumps(cursor, sort_keys=True)
    )
