"""Export history: one row per export attempt, moving pending -> processing -> success | failed, and
from success to emailed once a delivery was accepted.

Every row ends in ``emailed`` or ``failed`` (or stays ``success`` when nobody is meant to e-mail it:
an export not launched by a schedule). Two closings make sure of that, each recording why:
``close_unfinished`` fails the pending and processing rows of a run that ended without finishing them
(killed, canceled, deleted), and ``close_undelivered`` fails the ``success`` rows of a scheduled run
that can never be e-mailed (the run failed after them, the tenant has nobody allowed to receive them,
the server refused the message). ``failed`` rather than a new status: for a scheduled export the
e-mail is the point, and a delivery that will never happen is a failed attempt; its file and ``uri``
stay, and ``error_message`` says it was written but not delivered, and why.

Retention ends a row's story when it deletes its file: the ``success`` and ``emailed`` rows of that file
become ``expired`` (``ExportHistory.expire``), kept, with what was exported and when; rows are deleted
only by the history retention, years later.

A scheduled run's rows say which attempt they are (``attempt``: 1, then 2... for the retries of
``scheduled_export_retry_sensor``) and the first attempt's run id (``first_run_id``), read from the
run's tags (``run_attempt``), so every attempt links to the first in the history itself.

A transition is a single conditional UPDATE, so two processes can never move the same row
backwards or twice: an attempt to do so raises ``InvalidTransition``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import json
import re
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import dagster as dg
import sqlalchemy as sa
from pydantic import Field

from export_platform.errors import ExportPlatformError
from export_platform.plain_text import escaped
from export_platform.source.url import SourceUrl
from export_platform.tracking.schema import create_platform_tables, engine_for, export_history

# status -> the statuses it may be reached from
TRANSITIONS = {
    "processing": ("pending",),
    "success": ("processing",),
    "failed": ("pending", "processing"),
    "emailed": ("success",),
}
UNFINISHED = ("pending", "processing")
# How many rows one look at the history returns (a delivery tick, a check for unfinished runs).
BATCH = 1000


class InvalidTransition(ExportPlatformError):
    """A history row was asked to move to a status it cannot reach from where it is."""


@dataclass
class Attempt:
    """One export attempt inside ``ExportHistory.attempt``: the block records its file with ``published``."""

    id: str
    result: dict[str, Any] = field(default_factory=dict)

    def published(self, *, record_count: int, file_size_bytes: int, sha256: str, uri: str | None) -> None:
        """Record the file the attempt made; ``uri`` is None for one sent to a client, not stored."""
        self.result = {
            "record_count": record_count,
            "file_size_bytes": file_size_bytes,
            "sha256": sha256,
            "uri": uri,
        }


def failure_message(exc: BaseException) -> str:
    """What a failed row says: the error's type and message; for a ``dg.Failure`` raised on behalf of
    another error (a retry giving up, for example), that error's, which names what went wrong."""
    cause = exc.__cause__ if isinstance(exc, dg.Failure) and exc.__cause__ else exc
    return f"{type(cause).__name__}: {cause}"[:4000]


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@functools.cache
def _engine(url: str) -> sa.Engine:
    source = SourceUrl(url)
    engine = engine_for(source.sqlalchemy_url, source.dialect)
    create_platform_tables(engine)
    return engine


def _insert_pending(
    conn: sa.Connection,
    *,
    tenant: str,
    requested_by: str,
    dataset: str,
    fmt: str,
    partition_key: str | None,
    run_id: str | None,
    filters: Mapping[str, Any] | None = None,
    user_id: int | None = None,
    scheduled_attempt: tuple[int, str] | None = None,
) -> str:
    """Insert a ``pending`` attempt (``ExportHistory.start``) on ``conn``; returns its id."""
    entry_id = uuid.uuid4().hex
    conn.execute(
        sa.insert(export_history).values(
            id=entry_id,
            tenant_id=tenant,
            requested_by=requested_by,
            user_id=user_id,
            dataset=dataset,
            format=fmt,
            filters=json.dumps(dict(filters or {}), sort_keys=True, default=str),
            partition_key=partition_key,
            run_id=run_id,
            status="pending",
            created_at=_now(),
            attempt=scheduled_attempt[0] if scheduled_attempt else None,
            first_run_id=scheduled_attempt[1] if scheduled_attempt else None,
        )
    )
    return entry_id


STAMPS = {
    "processing": "started_at",
    "success": "finished_at",
    "failed": "finished_at",
    "emailed": "emailed_at",
}


def _move(conn: sa.Connection, entry_id: str, status: str, **values: Any) -> None:
    """``ExportHistory.move`` on ``conn``: one conditional UPDATE."""
    allowed = TRANSITIONS[status]
    updated = conn.execute(
        sa.update(export_history)
        .where(export_history.c.id == entry_id, export_history.c.status.in_(allowed))
        .values(status=status, **{STAMPS[status]: _now()}, **values)
    ).rowcount
    if updated != 1:
        raise InvalidTransition(f"export {entry_id} cannot move to {status!r} (allowed from {allowed})")


class ExportHistory(dg.ConfigurableResource):
    """Reads and writes the ``export_history`` table of the platform's database."""

    url: str = Field(description="The database holding the platform schema (the source database's URL).")

    @property
    def engine(self) -> sa.Engine:
        return _engine(self.url)

    def start(
        self,
        *,
        tenant: str,
        requested_by: str,
        dataset: str,
        fmt: str,
        partition_key: str | None,
        run_id: str | None,
        filters: Mapping[str, Any] | None = None,
        user_id: int | None = None,
        scheduled_attempt: tuple[int, str] | None = None,
    ) -> str:
        """Record a new attempt as ``pending`` and return its id. ``user_id`` is the source user
        (``users.id``) an API token acts for; automation's attempts have none. ``scheduled_attempt``
        is a scheduled run's attempt number and first run id (``run_attempt``)."""
        with self.engine.begin() as conn:
            return _insert_pending(
                conn,
                tenant=tenant,
                requested_by=requested_by,
                dataset=dataset,
                fmt=fmt,
                partition_key=partition_key,
                run_id=run_id,
                filters=filters,
                user_id=user_id,
                scheduled_attempt=scheduled_attempt,
            )

    @contextlib.contextmanager
    def attempt(self, **start: Any) -> Iterator[Attempt]:
        """Record one export attempt around the block that makes its file: ``pending`` then
        ``processing`` on entry; ``success`` with what the block passed to ``Attempt.published``, or
        ``failed`` with ``failure_message`` if the block raises (the error then goes on). ``start``
        takes ``start``'s arguments."""
        # Both steps in one transaction: one commit, not two, per export (a run makes twenty-two).
        with self.engine.begin() as conn:
            entry = Attempt(_insert_pending(conn, **start))
            _move(conn, entry.id, "processing")
        try:
            yield entry
        except Exception as exc:
            self.move(entry.id, "failed", error_message=failure_message(exc))
            raise
        if not entry.result:
            self.move(entry.id, "failed", error_message="the export finished without publishing a file")
            raise InvalidTransition(f"export {entry.id} finished without publishing a file")
        self.move(entry.id, "success", **entry.result)

    def move(self, entry_id: str, status: str, **values: Any) -> None:
        """Move an attempt to ``status``, setting the given columns, if its current status allows it."""
        with self.engine.begin() as conn:
            _move(conn, entry_id, status, **values)

    def entries(
        self,
        *,
        tenant: str | None = None,
        status: str | None = None,
        run_id: str | None = None,
        limit: int = 50,
    ) -> list[dict]:
        """The newest attempts first, optionally for one tenant, one status and/or one run."""
        stmt = sa.select(export_history).order_by(export_history.c.created_at.desc()).limit(limit)
        if tenant is not None:
            stmt = stmt.where(export_history.c.tenant_id == tenant)
        if status is not None:
            stmt = stmt.where(export_history.c.status == status)
        if run_id is not None:
            stmt = stmt.where(export_history.c.run_id == run_id)
        with self.engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(stmt)]

    def close_unfinished(self, run_id: str, reason: str) -> int:
        """Fail the pending and processing rows of ``run_id``, a run that has ended and so will never
        finish them, with ``reason``; return how many there were."""
        with self.engine.begin() as conn:
            return conn.execute(
                sa.update(export_history)
                .where(export_history.c.run_id == run_id, export_history.c.status.in_(UNFINISHED))
                .values(status="failed", finished_at=_now(), error_message=reason[:4000])
            ).rowcount

    def mark_not_delivered(self, entry_ids: list[str], reason: str) -> int:
        """Note on the ``success`` rows among ``entry_ids`` that they had nobody to be e-mailed to:
        the export succeeded, so they stay ``success``, and ``awaiting_delivery`` leaves them out."""
        with self.engine.begin() as conn:
            return conn.execute(
                sa.update(export_history)
                .where(export_history.c.id.in_(entry_ids), export_history.c.status == "success")
                .values(error_message=reason[:4000])
            ).rowcount

    def expire(self, tenant: str, uris: list[str], reason: str) -> int:
        """Mark ``tenant``'s ``success`` and ``emailed`` rows of the files at ``uris``, which retention
        deleted, ``expired`` with ``reason``; return how many."""
        changed = 0
        with self.engine.begin() as conn:
            for start in range(0, len(uris), BATCH):
                changed += conn.execute(
                    sa.update(export_history)
                    .where(
                        export_history.c.tenant_id == tenant,
                        export_history.c.uri.in_(uris[start : start + BATCH]),
                        export_history.c.status.in_(("success", "emailed")),
                    )
                    .values(status="expired", error_message=reason[:4000])
                ).rowcount
        return changed

    def close_undelivered(self, entry_ids: list[str], reason: str) -> int:
        """Fail the ``success`` rows among ``entry_ids``, scheduled exports that will never be
        e-mailed, with ``reason``; their file, ``uri`` and ``finished_at`` stay as written."""
        with self.engine.begin() as conn:
            return conn.execute(
                sa.update(export_history)
                .where(export_history.c.id.in_(entry_ids), export_history.c.status == "success")
                .values(status="failed", error_message=reason[:4000])
            ).rowcount


def awaiting_delivery(history: ExportHistory, limit: int = BATCH) -> list[dict]:
    """Successful exports of scheduled runs, not e-mailed yet, oldest first: the rows a delivery may
    still send. Scheduled means ``requested_by`` starts with ``schedule:`` (compared case-sensitively,
    as LIKE on SQLite is not) and the row has a run (and a partition, unless the schedule's run was an
    ad-hoc export of its period). The delivery sensor closes the
    ones that can never be sent (``ExportHistory.close_undelivered``), so they leave this list and
    cannot keep a newer one out of it."""
    prefix = "schedule:"
    stmt = (
        sa.select(export_history)
        .where(
            export_history.c.status == "success",
            sa.func.substr(export_history.c.requested_by, 1, len(prefix)) == prefix,
            export_history.c.run_id.is_not(None),
            export_history.c.error_message.is_(None),  # not marked "not delivered: nobody to send to"
        )
        .order_by(export_history.c.created_at, export_history.c.id)
        .limit(limit)
    )
    with history.engine.connect() as conn:
        return [dict(row._mapping) for row in conn.execute(stmt)]


def unfinished_runs(history: ExportHistory, limit: int | None = BATCH) -> dict[str, int]:
    """The runs that have pending or processing rows, oldest first, with how many rows each."""
    first = sa.func.min(export_history.c.created_at)
    stmt = (
        sa.select(export_history.c.run_id, sa.func.count())
        .where(export_history.c.status.in_(UNFINISHED), export_history.c.run_id.is_not(None))
        .group_by(export_history.c.run_id)
        .order_by(first, export_history.c.run_id)
        .limit(limit)
    )
    with history.engine.connect() as conn:
        return dict(conn.execute(stmt).all())


# Requesters that the delivery sensor treats as a schedule's; only automation may write them.
RESERVED_REQUESTER = re.compile(r"\s*(schedule|sensor):", re.IGNORECASE)


def requested_by(tags: Mapping[str, str]) -> str:
    """Who asked for a run, from its tags: a schedule, a sensor, a named user, or a manual launch.
    Control characters are stored escaped: a tag is free text, and this value is printed."""
    if "export_platform/requested_by" in tags:
        value = escaped(tags["export_platform/requested_by"])
        launched_by_automation = "dagster/schedule_name" in tags or "dagster/sensor_name" in tags
        if RESERVED_REQUESTER.match(value) and not launched_by_automation:
            return f"tag:{value}"  # anyone may tag a run; only schedules and sensors speak for one
        return value
    if "dagster/schedule_name" in tags:
        return f"schedule:{tags['dagster/schedule_name']}"
    if "dagster/sensor_name" in tags:
        return f"sensor:{tags['dagster/sensor_name']}"
    return escaped(tags.get("user") or "manual")


ATTEMPT_TAG = "export_platform/attempt"
FIRST_RUN_TAG = "export_platform/first_run_id"
"""The tags ``scheduled_export_retry_sensor`` gives a retry: its attempt number, the first run's id."""


def run_attempt(tags: Mapping[str, str], run_id: str | None) -> tuple[int, str] | None:
    """Which attempt of a schedule's run ``run_id`` is, and the first attempt's run id (a first
    attempt has no tags for it: 1 and its own id); None for a run no schedule launched, as
    ``requested_by`` tells from the same tags."""
    if run_id is None or not requested_by(tags).startswith("schedule:"):
        return None
    attempt = tags.get(ATTEMPT_TAG, "1")
    if not attempt.isascii() or not attempt.isdigit():
        raise ValueError(f"run tag {ATTEMPT_TAG} must be an attempt number, not {attempt!r}")
    return int(attempt), tags.get(FIRST_RUN_TAG, run_id)[:64]


USER_ID_TAG = "export_platform/user_id"
"""The run tag naming the source user (``users.id``) an API token launched the run for."""


def requesting_user(tags: Mapping[str, str]) -> int | None:
    """The user an API token launched a run for, from its ``USER_ID_TAG``; None for runs launched
    otherwise. The history rows the run makes carry it, as the audit log requires."""
    value = tags.get(USER_ID_TAG)
    if value is None:
        return None
    if not value.isascii() or not value.isdigit():
        raise ValueError(f"run tag {USER_ID_TAG} must be a user id (users.id), not {value!r}")
    return int(value)
