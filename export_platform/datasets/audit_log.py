"""Audit log: every recorded event of the month, with who, from where, and its payload made readable.

Events are those in the tenant's local calendar month, in time order (then by event ID). The user is
looked up among the tenant's users as they are now (current name and email). The category, the
one-line description and the readable payload are derived per event; each column's description says how.
The user's ID is kept for the ad-hoc ``user_id`` filter but not exported (the exports' columns are
the published ones, ``csv_columns``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import polars as pl
import sqlalchemy as sa

from export_platform.datasets.spec import (
    LOCAL_TIME,
    Column,
    DatasetSpec,
    TenantBatchReader,
    TenantReader,
    tenant_of,
)
from export_platform.datasets.window import ReportWindow
from export_platform.source import schema as s

INVALID_JSON_MARK = "[invalid JSON] "


def events_in_window() -> sa.Select:
    e, u = s.audit_events, s.users
    return (
        sa.select(
            e.c.id.label("event_id"),
            e.c.occurred_at,
            e.c.event_type,
            e.c.entity_type,
            e.c.entity_id,
            e.c.user_id,
            u.c.email.label("user_email"),
            u.c.name.label("user_name"),
            e.c.ip_address,
            e.c.user_agent,
            e.c.event_data,
            e.c.tenant_id,
        )
        .outerjoin(u, sa.and_(u.c.id == e.c.user_id, tenant_of(u)))
        .where(
            tenant_of(e),
            e.c.occurred_at >= sa.bindparam("start", type_=s.Timestamp),
            e.c.occurred_at < sa.bindparam("end", type_=s.Timestamp),
        )
        .order_by(e.c.occurred_at, e.c.id)
    )


def readable_json(text: str | None) -> str | None:
    """One line, keys sorted, every script kept as itself; text that is not JSON is kept, marked."""
    if text is None:
        return None
    try:
        readable = json.dumps(json.loads(text), ensure_ascii=False, sort_keys=True, separators=(", ", ": "))
    except (ValueError, RecursionError):  # RecursionError: nesting deeper than the parser's stack
        return INVALID_JSON_MARK + text
    # A payload may escape a lone surrogate ("\\ud800"), which no UTF-8 text can hold: keep it escaped.
    return readable.encode("utf-8", "backslashreplace").decode("utf-8")


def describe_events(events: pl.DataFrame) -> pl.DataFrame:
    return events.with_columns(
        pl.col("event_type").str.split_exact(".", 1).struct.field("field_0").alias("category"),
        pl.col("event_data").map_elements(readable_json, return_dtype=pl.String, skip_nulls=True),
        pl.concat_str(
            pl.col("event_type"),
            pl.when(pl.col("entity_type").is_not_null()).then(
                pl.concat_str(
                    pl.lit(" on "), pl.col("entity_type"), pl.lit(" #"), pl.col("entity_id").fill_null("?")
                )
            ),
            pl.when(pl.col("user_name").is_not_null()).then(
                pl.concat_str(pl.lit(" by "), pl.col("user_name"))
            ),
            ignore_nulls=True,
        ).alias("description"),
    )


def build_audit_log(read: TenantReader, window: ReportWindow) -> pl.DataFrame:
    return describe_events(read(events_in_window(), start=window.start_utc, end=window.end_utc))


def stream_audit_log(read: TenantBatchReader, window: ReportWindow) -> Iterator[pl.DataFrame]:
    for batch in read(events_in_window(), start=window.start_utc, end=window.end_utc):
        yield describe_events(batch)


AUDIT_LOG = DatasetSpec(
    name="audit_log",
    title="Audit Log",
    description=(
        "Every event recorded in the month (sales, payments, refunds, stock, customers, credit, logins, "
        "settings), in time order: who did it, from which IP address and user agent, on what, and the "
        "event's data as readable JSON. Events cannot be edited, so this is the compliance trail."
    ),
    columns=(
        Column("event_id", pl.Int64, "Event ID"),
        Column("occurred_at", LOCAL_TIME, "Time", "In the tenant's timezone"),
        Column("category", pl.String, "Category", "The event type up to its first dot (sale, stock, credit)"),
        Column("event_type", pl.String, "Event Type"),
        Column("entity_type", pl.String, "Entity Type"),
        Column("entity_id", pl.String, "Entity ID"),
        Column("user_id", pl.Int64, "User ID", "The user who acted; empty for a system event"),
        Column("user_email", pl.String, "User Email", "The user's current email; empty for a system event"),
        Column("user_name", pl.String, "User", "The user's current name; empty for a system event"),
        Column("ip_address", pl.String, "IP Address"),
        Column("user_agent", pl.String, "User Agent"),
        Column(
            "description",
            pl.String,
            "Description",
            'The event type, then " on <entity type> #<entity ID, or ? when unknown>" when the event names '
            'an entity type, then " by <user>" when it has a user',
        ),
        Column(
            "event_data",
            pl.String,
            "Event Data",
            "The payload as one line of JSON with its keys sorted and every script shown as itself; text "
            f"that is not JSON is kept as it is after {INVALID_JSON_MARK.strip()!r}",
        ),
        Column("tenant_id", pl.String, "Tenant"),
    ),
    key=("event_id",),
    build=build_audit_log,
    kind="period",
    stream=stream_audit_log,
    csv_columns=(
        "event_id",
        "occurred_at",
        "category",
        "event_type",
        "entity_type",
        "entity_id",
        "user_email",
        "user_name",
        "ip_address",
        "user_agent",
        "description",
        "event_data",
    ),
)
