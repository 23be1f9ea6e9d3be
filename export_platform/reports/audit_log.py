"""The audit log report: event and user counts, the busiest event types and users."""

from __future__ import annotations

import polars as pl

from export_platform.render.report import Kind, SummaryItem
from export_platform.reports.tables import (
    DEFAULT_OPTIONS,
    Frames,
    ReportOptions,
    Sections,
    count,
    dataset_table,
    one_row,
)


def audit_log_report(frames: Frames, options: ReportOptions = DEFAULT_OPTIONS) -> Sections:
    audit = frames["audit_log"]
    totals = one_row(
        audit,
        pl.len().alias("events"),
        pl.col("event_type").n_unique().alias("types"),
        pl.col("user_email").drop_nulls().n_unique().alias("users"),
        pl.col("occurred_at").min().alias("first"),
        pl.col("occurred_at").max().alias("last"),
    )
    top_types = (
        audit.group_by("event_type").len().sort(["len", "event_type"], descending=[True, False]).head(5)
    )
    top_users = (
        audit.drop_nulls("user_email")
        .group_by("user_email")
        .len()
        .sort(["len", "user_email"], descending=[True, False])
        .head(5)
    )
    summary = (
        count("Events", totals["events"]),
        count("Event types", totals["types"]),
        count("Users", totals["users"]),
        SummaryItem("First event", totals["first"], Kind.DATETIME),
        SummaryItem("Last event", totals["last"], Kind.DATETIME),
        *(count(f"Events: {t}", n) for t, n in top_types.collect().iter_rows()),
        *(count(f"By user: {u}", n) for u, n in top_users.collect().iter_rows()),
    )
    return summary, (dataset_table("audit_log", audit, "Audit Logs", options),)
