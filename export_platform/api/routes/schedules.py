"""The tenant's export schedules: what each says, when they fall due, which are overdue, and running
one now. Anyone of the tenant may read them; only an admin may change them or run one.

The rules are ``TenantScheduleSpec``'s and ``check_schedule``'s (the ad-hoc request's validators over
each dataset, so a schedule that could never run is refused naming the field), as ``export-platform
schedules`` applies them, and ``export_schedule_sensor`` runs them: a schedule falls due at its time of
day in its own timezone, and each run covers the period its cadence names (``period_covered``).
A schedule's ``webhooks`` and ``slack_webhooks`` must be https URLs (http only to loopback) whose
hosts the tenant's ``webhook_hosts`` lists; the answer to the request that adds a webhook carries its
signing secret (``webhook_secrets``), shown that once.
Overdue means due more than ``OVERDUE_AFTER`` ago with no run the sensor launched for that due time
(the daemon is down, say, or the tenant is not yet a partition); Dagster is asked which runs exist.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Annotated, Any, TypeAlias

import sqlalchemy as sa
from fastapi import Depends, Query, Response
from pydantic import BaseModel, ValidationError

from export_platform.api.auth import Admin, Caller, Viewer, tenant_router
from export_platform.api.dagster_runs import DagsterRun
from export_platform.api.export_run import ExportRun, export_run, export_status_url
from export_platform.api.platform import Platform, current_platform
from export_platform.api.problems import Problem, ProblemDocument, invalid, not_found
from export_platform.api.request_bodies import body_model, refused_fields
from export_platform.api.run_tags import REQUESTED_BY_TAG, launch_tags
from export_platform.automation.tenant_schedule_sensor import DueExport
from export_platform.exports.scheduled_requests import ScheduleRefused, check_schedule
from export_platform.partitions import tenant_month_partitions
from export_platform.tracking.tenant_schedules import (
    TenantSchedule,
    TenantScheduleSpec,
    due_times,
    latest_due,
    partition_month,
    period_covered,
)

router = tenant_router(tags=["schedules"])
PlatformDep = Annotated[Platform, Depends(current_platform)]
OVERDUE_AFTER = dt.timedelta(minutes=10)
"""How late a run may start before its schedule counts as overdue: the sensor looks every minute,
and a run may wait in the queue behind others."""
RUN_KEY_TAG = "dagster/run_key"
"""Dagster's tag on a run a sensor requested with a run key: the sensor's run for one due time."""
LOOK_AHEAD = dt.timedelta(days=63)
"""Far enough for any schedule's next due time: a monthly one falls due within 31 days."""

if TYPE_CHECKING:
    ScheduleBody: TypeAlias = BaseModel
else:
    ScheduleBody = body_model(
        TenantScheduleSpec,
        "ScheduleBody",
        "What a schedule exports and when: daily, weekly (day_of_week, 0 = Monday) or monthly "
        "(day_of_month, 1-31 or last) at time_of_day in its timezone; each run exports the day, ISO week "
        "or month before the due day (period previous), or the month of the day before (period "
        "month_to_date), with options (an ad-hoc request's filters, CSV and file options, e.g. "
        '{"storefront": "Downtown", "compression": "zip"}), and e-mails it to recipients (or the '
        "tenant's default recipients), posts its file links to webhooks (signed JSON) and "
        "slack_webhooks (a Slack message), https URLs on the tenant's webhook_hosts.",
        leave_out=("tenant",),
    )


class ScheduleEntry(ScheduleBody):
    """A stored schedule: what it says, its id and state, and when it next falls due (null while it
    is inactive)."""

    schedule_id: str
    is_active: bool
    created_at: dt.datetime
    next_due_at: dt.datetime | None
    webhook_secrets: dict[str, str] | None = None
    """The signing secret of each webhook the request added, by URL: only in that answer."""


class ScheduleList(BaseModel):
    items: list[ScheduleEntry]


class DueTime(BaseModel):
    schedule_id: str
    name: str
    due_at: dt.datetime
    month: str
    """The month the run's period ends in (YYYY-MM)."""
    date_from: dt.date
    date_to: dt.date
    """The run's period, both days included, on the schedule's calendar."""


class DueTimes(BaseModel):
    items: list[DueTime]


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _entry(schedule: TenantSchedule, added_secrets: dict[str, str] | None = None) -> ScheduleEntry:
    """The schedule as the API shows it; with ``added_secrets`` when the request saved webhooks."""
    now = _now()
    upcoming = due_times(schedule, now, now + LOOK_AHEAD) if schedule.is_active else []
    return ScheduleEntry(
        **schedule.spec.model_dump(exclude={"tenant"}),
        schedule_id=schedule.id,
        is_active=schedule.is_active,
        created_at=schedule.created_at,
        next_due_at=upcoming[0] if upcoming else None,
        webhook_secrets=added_secrets or None,
    )


def _due(schedule: TenantSchedule, due: dt.datetime) -> DueTime:
    first, last = period_covered(schedule, due)
    return DueTime(
        schedule_id=schedule.id,
        name=schedule.spec.name,
        due_at=due,
        month=partition_month(schedule, due),
        date_from=first,
        date_to=last,
    )


def _owned(platform: Platform, caller: Caller, schedule_id: str) -> TenantSchedule:
    """The caller's tenant's schedule ``schedule_id``; the one 404 for any other."""
    schedule = platform.schedules.get(schedule_id)
    if schedule is None or schedule.spec.tenant != caller.tenant:
        raise not_found()
    return schedule


def _spec(platform: Platform, caller: Caller, body: BaseModel) -> TenantScheduleSpec:
    try:
        spec = check_schedule(TenantScheduleSpec(tenant=caller.tenant, **body.model_dump(exclude_unset=True)))
    except ValidationError as refused:
        raise refused_fields(refused, ScheduleBody.model_fields) from None
    except ScheduleRefused as refused:
        errors = [{"field": f"body.{refused.field}", "message": refused.message}]
        detail = "The request has invalid fields; see errors."
        raise Problem(422, "invalid_request", "Unprocessable Content", detail, errors=errors) from None
    settings = platform.notifications.get(caller.tenant)
    for name in ("webhooks", "slack_webhooks"):
        if refused_urls := settings.refused_webhooks(getattr(spec, name)):
            raise invalid(f"body.{name}", f"hosts not in the tenant's webhook_hosts: {refused_urls}")
    return spec


def _name_taken(name: str) -> Problem:
    detail = f"The tenant already has a schedule named {name!r}; choose another name."
    return Problem(409, "schedule_name_taken", "Conflict", detail)


CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"model": ProblemDocument, "description": "The tenant has a schedule of that name"}
}
UNAVAILABLE: dict[int | str, dict[str, Any]] = {
    503: {"model": ProblemDocument, "description": "Dagster or the platform database is unreachable"}
}


@router.get("/schedules", summary="The tenant's schedules, by name")
def list_schedules(caller: Viewer, platform: PlatformDep) -> ScheduleList:
    return ScheduleList(items=[_entry(s) for s in platform.schedules.list(tenant=caller.tenant)])


@router.post(
    "/schedules", status_code=201, summary="Create a schedule (admin); it starts active", responses=CONFLICT
)
def create_schedule(
    caller: Admin, platform: PlatformDep, body: ScheduleBody, response: Response
) -> ScheduleEntry:
    spec = _spec(platform, caller, body)
    try:
        schedule = platform.schedules.add(spec)
    except sa.exc.IntegrityError:
        raise _name_taken(spec.name) from None
    response.headers["Location"] = (
        f"{platform.config.public_url}/v1/tenants/{caller.tenant}/schedules/{schedule.id}"
    )
    return _entry(schedule, dict(schedule.webhook_secrets))


@router.get("/schedules/upcoming", summary="When the active schedules fall due in the coming days")
def upcoming_schedules(
    caller: Viewer, platform: PlatformDep, days: Annotated[int, Query(ge=1, le=31)] = 7
) -> DueTimes:
    now = _now()
    due = [
        _due(schedule, instant)
        for schedule in platform.schedules.list(tenant=caller.tenant, active_only=True)
        for instant in due_times(schedule, now, now + dt.timedelta(days=days))
    ]
    return DueTimes(items=sorted(due, key=lambda d: (d.due_at, d.name)))


@router.get(
    "/schedules/overdue",
    summary="Active schedules whose last due time passed with no run started for it",
    responses=UNAVAILABLE,
)
def overdue_schedules(caller: Viewer, platform: PlatformDep) -> DueTimes:
    now, dagster = _now(), platform.dagster
    overdue = []
    for schedule in platform.schedules.list(tenant=caller.tenant, active_only=True):
        due = latest_due(schedule, now)
        if due is None or due > now - OVERDUE_AFTER:
            continue
        if not any(dagster.any_run_tagged({RUN_KEY_TAG: key}) for key in DueExport(schedule, due).run_keys):
            overdue.append(_due(schedule, due))
    return DueTimes(items=sorted(overdue, key=lambda d: (d.due_at, d.name)))


@router.get("/schedules/{schedule_id}", summary="One schedule")
def get_schedule(caller: Viewer, platform: PlatformDep, schedule_id: str) -> ScheduleEntry:
    return _entry(_owned(platform, caller, schedule_id))


@router.put(
    "/schedules/{schedule_id}",
    summary="Replace what a schedule says (admin); its id and state stay",
    responses=CONFLICT,
)
def replace_schedule(
    caller: Admin, platform: PlatformDep, schedule_id: str, body: ScheduleBody
) -> ScheduleEntry:
    before = _owned(platform, caller, schedule_id)
    spec = _spec(platform, caller, body)
    try:
        replaced = platform.schedules.replace(schedule_id, spec)
    except sa.exc.IntegrityError:
        raise _name_taken(spec.name) from None
    if replaced is None:
        raise not_found()
    added = {u: s for u, s in replaced.webhook_secrets.items() if u not in before.webhook_secrets}
    return _entry(replaced, added)


@router.delete("/schedules/{schedule_id}", status_code=204, summary="Delete a schedule (admin)")
def delete_schedule(caller: Admin, platform: PlatformDep, schedule_id: str) -> Response:
    _owned(platform, caller, schedule_id)
    if not platform.schedules.remove(schedule_id):
        raise not_found()
    return Response(status_code=204)


def _set_active(platform: Platform, caller: Caller, schedule_id: str, active: bool) -> ScheduleEntry:
    _owned(platform, caller, schedule_id)
    if not platform.schedules.set_active(schedule_id, active):
        raise not_found()
    return _entry(_owned(platform, caller, schedule_id))


@router.post("/schedules/{schedule_id}/activate", summary="Activate a schedule (admin)")
def activate_schedule(caller: Admin, platform: PlatformDep, schedule_id: str) -> ScheduleEntry:
    return _set_active(platform, caller, schedule_id, True)


@router.post(
    "/schedules/{schedule_id}/deactivate", summary="Deactivate a schedule (admin): it stops falling due"
)
def deactivate_schedule(caller: Admin, platform: PlatformDep, schedule_id: str) -> ScheduleEntry:
    return _set_active(platform, caller, schedule_id, False)


@router.post(
    "/schedules/{schedule_id}/trigger",
    status_code=202,
    summary="Run a schedule's exports now (admin); poll status_url",
    responses={202: {"description": "Launched; Location is its status URL"}, **UNAVAILABLE},
)
def trigger_schedule(caller: Admin, platform: PlatformDep, schedule_id: str, response: Response) -> ExportRun:
    """The runs the sensor would launch were the schedule due now: its period before today in its
    timezone, with its options (one run of the monthly exports, or an ad-hoc export per dataset).
    They are recorded as the caller's (``requested_by``, ``user_id``), not the schedule's, so they
    are not e-mailed: their files are under ``artifacts``, and the schedule still runs at its own
    time. The answer and its Location are the first run's; a schedule of several datasets over a day
    or a week starts one run per dataset, each tagged with the schedule's id."""
    schedule = _owned(platform, caller, schedule_id)
    caller_tags = launch_tags(platform.config.source_url, caller)
    launched = []
    for request in DueExport(schedule, _now()).run_requests():
        assert request.job_name is not None  # the sensor names the job of each of its requests
        tags = {**request.tags, **caller_tags}
        run_config: dict[str, Any] = {}
        if request.partition_key is not None:
            tags.update(tenant_month_partitions.get_tags_for_partition_key(request.partition_key))
        else:
            ops = request.run_config["ops"]
            ops["run_adhoc_export"]["config"]["requested_by"] = caller_tags[REQUESTED_BY_TAG]
            run_config = {"ops": ops}
        assets = [key.to_user_string() for key in request.asset_selection or ()] or None
        run_id = platform.dagster.launch(
            request.job_name, run_config=run_config, tags=tags, asset_selection=assets
        )
        launched.append(DagsterRun(run_id, request.job_name, "QUEUED", tags, _now(), None, None))
    first = launched[0]
    response.headers["Location"] = export_status_url(platform.config.public_url, caller.tenant, first.run_id)
    return export_run(first, [], platform.config.public_url)
