"""Tenants' export schedules: what a schedule may say (validated in one place), where schedules are
stored, and when one falls due.

Due times are computed in the schedule's own timezone, so "06:00 in Lisbon" stays 06:00 across
daylight-saving changes. A time that does not exist on a spring-forward day runs as far past the jump
as it was asked for (02:30 in New York runs at 03:30); a time that happens twice on a fall-back day
runs at its first occurrence. A monthly
day past the month's end (31 in April, 29-31 in February) and ``last`` both mean the month's last day.

What a run covers follows the cadence, on the schedule's calendar (``period_covered``): daily, the day
before; weekly, the ISO week before; monthly, the month before; ``period="month_to_date"`` asks
instead for the month of the day before (the month just ended on the 1st). A schedule also keeps the
options an ad-hoc request takes (filters, CSV and file options) in ``options``; this layer only checks
their shape, and ``exports.scheduled_requests`` checks them as the ad-hoc request's own validators do
before a schedule is saved.

Besides e-mail, a schedule may send each run's files to ``webhooks`` (a signed JSON document) and to
``slack_webhooks`` (a Slack message). Each webhook gets its own signing secret when it is first saved
(``secrets.token_hex``, kept in the schedule's row, as the receiver needs the same to check the
signature); it stays while the URL stays in the schedule, and is shown only in the answer to the save
that made it. Whether a webhook's host is one the tenant allows is the tenant's settings' to say
(``NotificationSettings.refused_webhooks``), asked when a schedule is saved and again when it sends.
"""

from __future__ import annotations

import builtins
import calendar
import datetime as dt
import json
import re
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from export_platform.catalog import EXPORT_FORMATS, REQUEST_FORMAT_NAMES, REQUEST_FORMATS
from export_platform.partitions import validate_tenant_slug
from export_platform.plain_text import refuse_control_characters
from export_platform.tracking.notifications import EMAIL_ADDRESS, webhook_url_problem
from export_platform.tracking.schema import CADENCES, export_schedules

_TIME = re.compile(r"([01]\d|2[0-3]):([0-5]\d)")
PERIODS = ("previous", "month_to_date")
"""``previous``: the day, ISO week or month before the due day, as the cadence says; ``month_to_date``:
the month of the day before the due day."""
OPTION_VALUES = (str, int, bool, list)
"""What an option's value may be (JSON scalars and lists), before the ad-hoc validators see it."""


class TenantScheduleSpec(BaseModel):
    """A schedule as a tenant asks for it. Invalid input fails here, naming the field."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tenant: str
    name: str = Field(min_length=1, max_length=200)
    datasets: tuple[str, ...] = Field(min_length=1)
    formats: tuple[str, ...] = Field(min_length=1)
    cadence: str
    time_of_day: str = "06:00"
    day_of_week: int | None = Field(default=None, ge=0, le=6)
    day_of_month: str | None = None
    timezone: str = "UTC"
    recipients: tuple[str, ...] = ()
    subject: str | None = None
    message: str | None = None
    period: str = "previous"
    options: dict[str, Any] = Field(default_factory=dict)
    webhooks: tuple[str, ...] = ()
    slack_webhooks: tuple[str, ...] = ()

    @field_validator("tenant")
    @classmethod
    def _tenant(cls, value: str) -> str:
        return validate_tenant_slug(value)

    @field_validator("name", "subject")
    @classmethod
    def _one_line(cls, value: str | None, info: ValidationInfo) -> str | None:
        # The name is in the default subject, in requested_by ("schedule:<name>") and in logs.
        return refuse_control_characters(str(info.field_name), value)

    @field_validator("message")
    @classmethod
    def _body(cls, value: str | None) -> str | None:
        return refuse_control_characters("message", value, allow="\n\t")

    @field_validator("datasets")
    @classmethod
    def _datasets(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [d for d in value if d not in EXPORT_FORMATS]
        if unknown:
            raise ValueError(f"unknown dataset(s) {unknown}; choose from {sorted(EXPORT_FORMATS)}")
        return tuple(dict.fromkeys(value))

    @field_validator("formats")
    @classmethod
    def _formats(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [f for f in value if f not in REQUEST_FORMAT_NAMES]
        if unknown:
            raise ValueError(f"unknown format(s) {unknown}; choose from {', '.join(REQUEST_FORMAT_NAMES)}")
        return tuple(dict.fromkeys(value))

    @field_validator("period")
    @classmethod
    def _period(cls, value: str) -> str:
        if value not in PERIODS:
            raise ValueError(f"period must be one of {', '.join(PERIODS)}")
        return value

    @field_validator("options")
    @classmethod
    def _options(cls, value: dict[str, Any]) -> dict[str, Any]:
        bad = sorted(name for name, v in value.items() if not isinstance(v, OPTION_VALUES))
        if bad:
            raise ValueError(f"options {bad}: a value must be text, a number, true/false or a list")
        return dict(sorted(value.items()))

    @field_validator("cadence")
    @classmethod
    def _cadence(cls, value: str) -> str:
        if value not in CADENCES:
            raise ValueError(f"cadence must be one of {', '.join(CADENCES)}")
        return value

    @field_validator("time_of_day")
    @classmethod
    def _time(cls, value: str) -> str:
        if not _TIME.fullmatch(value):
            raise ValueError("time_of_day must be HH:MM on a 24-hour clock")
        return value

    @field_validator("day_of_month")
    @classmethod
    def _day_of_month(cls, value: str | None) -> str | None:
        if value is not None and value != "last" and not (value.isdigit() and 1 <= int(value) <= 31):
            raise ValueError("day_of_month must be 1-31 or 'last'")
        return value

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown timezone {value!r}; use an IANA name such as Europe/Lisbon") from exc
        return value

    @field_validator("recipients")
    @classmethod
    def _recipients(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        bad = [r for r in value if not EMAIL_ADDRESS.fullmatch(r)]
        if bad:
            raise ValueError(f"not e-mail addresses: {bad}")
        return value

    @field_validator("webhooks", "slack_webhooks")
    @classmethod
    def _webhooks(cls, value: tuple[str, ...], info: ValidationInfo) -> tuple[str, ...]:
        for url in value:
            if problem := webhook_url_problem(url):
                raise ValueError(f"{info.field_name}: {url!r} {problem}")
        return tuple(dict.fromkeys(value))

    @model_validator(mode="after")
    def _consistent(self) -> TenantScheduleSpec:
        if (self.cadence == "weekly") != (self.day_of_week is not None):
            raise ValueError("day_of_week is required for weekly schedules and only for them")
        if (self.cadence == "monthly") != (self.day_of_month is not None):
            raise ValueError("day_of_month is required for monthly schedules and only for them")
        missing = [f"{d}_{f}" for d in self.datasets for f in self.formats if f not in REQUEST_FORMATS[d]]
        if missing:
            raise ValueError(f"no such export(s): {missing}")
        return self


@dataclass(frozen=True)
class TenantSchedule:
    id: str
    spec: TenantScheduleSpec
    is_active: bool
    created_at: dt.datetime
    webhook_secrets: Mapping[str, str] = field(default_factory=dict, repr=False)
    """Each of ``spec.webhooks``' signing secret, by URL."""

    @property
    def export_assets(self) -> list[str]:
        return [f"{d}_{f}" for d in self.spec.datasets for f in self.spec.formats]

    @property
    def runs_monthly_exports(self) -> bool:
        """Whether a run is the tenant's month of the monthly export assets: a month-long period, no
        options, and only formats those assets have. Any other run is an ad-hoc export of its period."""
        spec = self.spec
        return (
            (spec.period == "month_to_date" or spec.cadence == "monthly")
            and not spec.options
            and all(f in EXPORT_FORMATS[d] for d in spec.datasets for f in spec.formats)
        )


def _days_matching(spec: TenantScheduleSpec, day: dt.date) -> bool:
    if spec.cadence == "daily":
        return True
    if spec.cadence == "weekly":
        return day.weekday() == spec.day_of_week
    assert spec.day_of_month is not None  # required of monthly schedules
    last = calendar.monthrange(day.year, day.month)[1]
    wanted = last if spec.day_of_month == "last" else min(int(spec.day_of_month), last)
    return day.day == wanted


def due_at(spec: TenantScheduleSpec, day: dt.date) -> dt.datetime:
    """The UTC instant the schedule is due on ``day`` (a date in the schedule's timezone)."""
    hour, minute = map(int, spec.time_of_day.split(":"))
    # fold=0: a repeated (fall-back) time is its first occurrence; a skipped (spring-forward) time is
    # read with the offset before the change, i.e. it runs that much after the clocks jumped.
    return dt.datetime.combine(day, dt.time(hour, minute), ZoneInfo(spec.timezone)).astimezone(dt.UTC)


def latest_due(schedule: TenantSchedule, now: dt.datetime) -> dt.datetime | None:
    """The most recent due instant at or before ``now`` and not before the schedule existed."""
    zone = ZoneInfo(schedule.spec.timezone)
    today = now.astimezone(zone).date()
    for back in range(0, 63):
        day = today - dt.timedelta(days=back)
        if not _days_matching(schedule.spec, day):
            continue
        instant = due_at(schedule.spec, day)
        if instant <= now:
            return instant if instant >= schedule.created_at else None
    return None


def due_times(schedule: TenantSchedule, after: dt.datetime, until: dt.datetime) -> list[dt.datetime]:
    """The instants the schedule falls due later than ``after`` and no later than ``until``, earliest
    first."""
    zone = ZoneInfo(schedule.spec.timezone)
    first, last = after.astimezone(zone).date(), until.astimezone(zone).date()
    days = [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]
    instants = [due_at(schedule.spec, day) for day in days if _days_matching(schedule.spec, day)]
    return [instant for instant in instants if after < instant <= until]


def period_covered(schedule: TenantSchedule, due: dt.datetime) -> tuple[dt.date, dt.date]:
    """The first and last day (both included) of what a run due at ``due`` exports, on the schedule's
    calendar: the day, ISO week or month before the due day, or the month to date (see ``PERIODS``)."""
    due_day = due.astimezone(ZoneInfo(schedule.spec.timezone)).date()
    day_before = due_day - dt.timedelta(days=1)
    if schedule.spec.period == "month_to_date":
        return day_before.replace(day=1), day_before
    if schedule.spec.cadence == "daily":
        return day_before, day_before
    if schedule.spec.cadence == "weekly":
        monday = due_day - dt.timedelta(days=due_day.weekday())
        return monday - dt.timedelta(days=7), monday - dt.timedelta(days=1)
    month_start = due_day.replace(day=1)
    return (month_start - dt.timedelta(days=1)).replace(day=1), month_start - dt.timedelta(days=1)


def partition_month(schedule: TenantSchedule, due: dt.datetime) -> str:
    """The month a run covers (YYYY-MM): the month its period ends in, which for a run of the monthly
    exports is the whole period (``TenantSchedule.runs_monthly_exports``)."""
    return period_covered(schedule, due)[1].strftime("%Y-%m")


class TenantScheduleStore:
    """Schedules in the platform's ``export_schedules`` table."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    def add(self, spec: TenantScheduleSpec, now: dt.datetime | None = None) -> TenantSchedule:
        """Save a new schedule, with a new signing secret for each of its webhooks."""
        schedule = TenantSchedule(
            uuid.uuid4().hex, spec, True, now or dt.datetime.now(dt.UTC), _secrets_for(spec, {})
        )
        with self.engine.begin() as conn:
            conn.execute(
                sa.insert(export_schedules).values(
                    id=schedule.id,
                    tenant_id=spec.tenant,
                    **_spec_columns(spec, schedule.webhook_secrets),
                    is_active=True,
                    created_at=schedule.created_at,
                )
            )
        return schedule

    def replace(self, schedule_id: str, spec: TenantScheduleSpec) -> TenantSchedule | None:
        """Make schedule ``schedule_id`` of ``spec``'s tenant say ``spec``; its id, tenant, state and
        creation time stay, and so do the secrets of the webhooks it keeps (a new webhook gets a new
        one). The schedule as saved; None if the tenant has no such schedule."""
        with self.engine.begin() as conn:
            row = conn.execute(
                sa.select(export_schedules)
                .where(export_schedules.c.id == schedule_id, export_schedules.c.tenant_id == spec.tenant)
                .with_for_update()
            ).first()
            if row is None:
                return None
            kept = _schedule(row._mapping)
            secrets_now = _secrets_for(spec, kept.webhook_secrets)
            conn.execute(
                sa.update(export_schedules)
                .where(export_schedules.c.id == schedule_id)
                .values(**_spec_columns(spec, secrets_now))
            )
        return TenantSchedule(schedule_id, spec, kept.is_active, kept.created_at, secrets_now)

    def list(self, *, tenant: str | None = None, active_only: bool = False) -> list[TenantSchedule]:
        """The stored schedules; a row that cannot be read is an error here (see ``readable``)."""
        schedules, problems = self.readable(tenant=tenant, active_only=active_only)
        if problems:
            raise ValueError("; ".join(problems))
        return schedules

    def readable(
        self, *, tenant: str | None = None, active_only: bool = False
    ) -> tuple[builtins.list[TenantSchedule], builtins.list[str]]:
        """The stored schedules that can be read, and a line for each row that cannot (its stored JSON
        broken): the sensor runs the others rather than failing the whole listing."""
        stmt = sa.select(export_schedules).order_by(export_schedules.c.tenant_id, export_schedules.c.name)
        if tenant is not None:
            stmt = stmt.where(export_schedules.c.tenant_id == tenant)
        if active_only:
            stmt = stmt.where(export_schedules.c.is_active.is_(True))
        schedules: builtins.list[TenantSchedule] = []
        problems: builtins.list[str] = []
        with self.engine.connect() as conn:
            for row in conn.execute(stmt):
                try:
                    schedules.append(_schedule(row._mapping))
                except (ValueError, TypeError) as exc:
                    reason = type(exc).__name__
                    problems.append(f"schedule {row.id} of {row.tenant_id}: unreadable ({reason})")
        return schedules, problems

    def get(self, schedule_id: str) -> TenantSchedule | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(export_schedules).where(export_schedules.c.id == schedule_id)
            ).first()
        return _schedule(row._mapping) if row is not None else None

    def set_active(self, schedule_id: str, active: bool) -> bool:
        with self.engine.begin() as conn:
            return (
                conn.execute(
                    sa.update(export_schedules)
                    .where(export_schedules.c.id == schedule_id)
                    .values(is_active=active)
                ).rowcount
                == 1
            )

    def remove(self, schedule_id: str) -> bool:
        with self.engine.begin() as conn:
            return (
                conn.execute(sa.delete(export_schedules).where(export_schedules.c.id == schedule_id)).rowcount
                == 1
            )


def _secrets_for(spec: TenantScheduleSpec, kept: Mapping[str, str]) -> dict[str, str]:
    """A signing secret for each of ``spec``'s webhooks: the one it had (``kept``), else a new one."""
    return {url: kept.get(url) or secrets.token_hex(32) for url in spec.webhooks}


def _spec_columns(spec: TenantScheduleSpec, webhook_secrets: Mapping[str, str]) -> dict[str, object]:
    """What a schedule says, as its row's columns hold it, with its webhooks' secrets."""
    values = spec.model_dump()
    return {
        "name": spec.name,
        "datasets": json.dumps(spec.datasets),
        "formats": json.dumps(spec.formats),
        "cadence": spec.cadence,
        "time_of_day": spec.time_of_day,
        "day_of_week": spec.day_of_week,
        "day_of_month": spec.day_of_month,
        "timezone": spec.timezone,
        "recipients": json.dumps(spec.recipients),
        "subject": values["subject"],
        "message": values["message"],
        "period": spec.period,
        "options": json.dumps(spec.options, sort_keys=True),
        "webhooks": json.dumps([{"url": url, "secret": webhook_secrets[url]} for url in spec.webhooks]),
        "slack_webhooks": json.dumps(spec.slack_webhooks),
    }


def _schedule(row: sa.RowMapping) -> TenantSchedule:
    """A stored schedule, read as it was saved: it was checked then, and re-checking it here would let
    one row saved before a newer rule (a subject with a line break) stop every tenant's schedules.
    What reaches an e-mail header is checked again when the delivery is built."""
    created = row["created_at"]
    webhooks = json.loads(row["webhooks"])
    spec = TenantScheduleSpec.model_construct(
        tenant=row["tenant_id"],
        name=row["name"],
        datasets=tuple(json.loads(row["datasets"])),
        formats=tuple(json.loads(row["formats"])),
        cadence=row["cadence"],
        time_of_day=row["time_of_day"],
        day_of_week=row["day_of_week"],
        day_of_month=row["day_of_month"],
        timezone=row["timezone"],
        recipients=tuple(json.loads(row["recipients"])),
        subject=row["subject"],
        message=row["message"],
        period=row["period"],
        options=json.loads(row["options"]),
        webhooks=tuple(hook["url"] for hook in webhooks),
        slack_webhooks=tuple(json.loads(row["slack_webhooks"])),
    )
    return TenantSchedule(
        row["id"],
        spec,
        row["is_active"],
        created if created.tzinfo else created.replace(tzinfo=dt.UTC),
        {hook["url"]: hook["secret"] for hook in webhooks},
    )
