"""Export history on SQLite and PostgreSQL: its own schema, legal transitions only, filters."""

from __future__ import annotations

import dagster as dg
import psycopg
import pytest

from export_platform.tracking.history import (
    ExportHistory,
    InvalidTransition,
    awaiting_delivery,
    requested_by,
    unfinished_runs,
)

START = {
    "tenant": "acme",
    "requested_by": "ana@acme.example",
    "dataset": "sales",
    "fmt": "csv",
    "partition_key": "2026-10|acme",
    "run_id": "r1",
}


@pytest.fixture
def history(source_url: str) -> ExportHistory:
    return ExportHistory(url=source_url)


def test_lifecycle_and_illegal_moves(history: ExportHistory) -> None:
    entry = history.start(**START, filters={"delimiter": ";"})
    row = next(r for r in history.entries(tenant="acme", limit=1000) if r["id"] == entry)
    assert row["status"] == "pending" and row["filters"] == '{"delimiter": ";"}'
    with pytest.raises(InvalidTransition):
        history.move(entry, "success")  # not started yet
    history.move(entry, "processing")
    history.move(entry, "success", record_count=12, file_size_bytes=345, sha256="ab" * 32, uri="s3://b/k")
    with pytest.raises(InvalidTransition):
        history.move(entry, "failed")  # a finished export stays finished
    history.move(entry, "emailed")
    with pytest.raises(InvalidTransition):
        history.move(entry, "emailed")  # never twice
    row = next(r for r in history.entries(tenant="acme", limit=1000) if r["id"] == entry)
    assert row["status"] == "emailed" and row["record_count"] == 12 and row["uri"] == "s3://b/k"
    assert row["started_at"] <= row["finished_at"] <= row["emailed_at"]


def test_filters_by_tenant_and_status(history: ExportHistory) -> None:
    failed = history.start(**{**START, "tenant": "globex"})
    history.move(failed, "failed", error_message="boom")
    rows = history.entries(tenant="globex", status="failed", limit=1000)
    assert failed in {r["id"] for r in rows}
    assert all(r["tenant_id"] == "globex" and r["status"] == "failed" for r in rows)


def test_postgres_tables_live_in_their_own_schema(postgresql_source: str) -> None:
    ExportHistory(url=postgresql_source).entries(limit=1)
    with psycopg.connect(postgresql_source) as conn:
        schemas = {
            r[0]
            for r in conn.execute(
                "SELECT table_schema FROM information_schema.tables WHERE table_name = 'export_history'"
            )
        }
    assert schemas == {"export_platform"}


def test_requested_by() -> None:
    assert requested_by({"dagster/schedule_name": "monthly_close"}) == "schedule:monthly_close"
    assert requested_by({"dagster/sensor_name": "export_schedule_sensor"}) == "sensor:export_schedule_sensor"
    assert requested_by({"export_platform/requested_by": "ana@acme.example"}) == "ana@acme.example"
    assert requested_by({}) == "manual"


def finished(history: ExportHistory, status: str, **changes) -> str:
    entry = history.start(**{**START, **changes})
    history.move(entry, "processing")
    if status == "failed":
        history.move(entry, "failed", error_message="boom")
        return entry
    history.move(entry, "success", record_count=1, file_size_bytes=1, uri="s3://b/k")
    if status == "emailed":
        history.move(entry, "emailed")
    return entry


def test_awaiting_delivery_holds_only_rows_a_delivery_may_send(history: ExportHistory) -> None:
    """Only successful rows of scheduled runs: not a look-alike requester (SQLite's LIKE ignores case),
    not closed rows. A schedule's run of a day or a week is an ad-hoc export (no partition): its rows
    wait too, and the delivery sends them only for a run the schedule sensor launched
    (``test_delivery``)."""
    tenant = {"tenant": "initech", "partition_key": "2026-10|initech"}
    deliverable = finished(history, "success", **tenant, requested_by="schedule:Monthly")
    finished(history, "success", **tenant, requested_by="SCHEDULE:Monthly")
    finished(history, "success", **tenant, requested_by="ana@initech.example")
    daily = finished(history, "success", **{**tenant, "partition_key": None}, requested_by="schedule:Daily")
    finished(history, "failed", **tenant, requested_by="schedule:Monthly")
    finished(history, "emailed", **tenant, requested_by="schedule:Monthly")
    closed = finished(history, "success", **tenant, requested_by="schedule:Monthly")
    assert history.close_undelivered([closed], "not delivered: run r1 ended FAILURE") == 1
    waiting = [r["id"] for r in awaiting_delivery(history, limit=100_000) if r["tenant_id"] == "initech"]
    assert waiting == [deliverable, daily]
    row = next(r for r in history.entries(tenant="initech", limit=100) if r["id"] == closed)
    assert (row["status"], row["uri"], row["error_message"]) == (
        "failed",
        "s3://b/k",
        "not delivered: run r1 ended FAILURE",
    )
    with pytest.raises(InvalidTransition):
        history.move(closed, "emailed")


def test_closing_a_runs_unfinished_rows_touches_nothing_else(history: ExportHistory) -> None:
    base = {**START, "tenant": "umbrella", "partition_key": "2026-10|umbrella", "run_id": "dead"}
    pending = history.start(**base)
    processing = history.start(**base)
    history.move(processing, "processing")
    done = finished(history, "success", **base)
    other = history.start(**{**base, "run_id": "alive"})
    assert unfinished_runs(history, limit=None).keys() >= {"dead", "alive"}
    assert history.close_unfinished("dead", "run dead ended CANCELED before this export finished") == 2
    rows = {r["id"]: r for r in history.entries(tenant="umbrella", limit=100)}
    assert [rows[e]["status"] for e in (pending, processing, done, other)] == [
        "failed",
        "failed",
        "success",
        "pending",
    ]
    assert rows[processing]["error_message"] == "run dead ended CANCELED before this export finished"
    assert "dead" not in unfinished_runs(history, limit=None)


def test_requested_by_from_a_tag_is_stored_escaped() -> None:
    forged = "ana\r\n2026-01-01 00:00:00  globex  sales_csv  success\x1b[2K"
    assert requested_by({"export_platform/requested_by": forged}) == (
        "ana\\r\\n2026-01-01 00:00:00  globex  sales_csv  success\\x1b[2K"
    )


def test_only_schedules_and_sensors_can_tag_a_run_as_theirs() -> None:
    """Anyone who can launch a run can tag it; a schedule's requester (which the delivery sensor
    e-mails) counts only on a run a schedule or sensor launched."""
    forged = {"export_platform/requested_by": "schedule:Monthly"}
    assert requested_by(forged) == "tag:schedule:Monthly"
    assert requested_by({"export_platform/requested_by": " SENSOR:x"}) == "tag: SENSOR:x"
    assert requested_by({**forged, "dagster/sensor_name": "export_schedule_sensor"}) == "schedule:Monthly"
    assert requested_by({**forged, "dagster/schedule_name": "monthly_close"}) == "schedule:Monthly"
    assert requested_by({"export_platform/requested_by": "ana@acme.example"}) == "ana@acme.example"


def _row(history: ExportHistory, entry_id: str) -> dict:
    return next(r for r in history.entries(tenant="acme", limit=1000) if r["id"] == entry_id)


def test_an_attempt_records_its_file_or_its_error(history: ExportHistory) -> None:
    """The monthly exports and the ad-hoc job record attempts through this one block; a ``dg.Failure``
    raised for another error (a retry giving up) records that error, whichever path raised it."""
    with history.attempt(**START) as done:
        assert _row(history, done.id)["status"] == "processing"
        done.published(record_count=3, file_size_bytes=40, sha256="cd" * 32, uri="file:///x.csv")
    assert _row(history, done.id)["status"] == "success" and _row(history, done.id)["record_count"] == 3

    with pytest.raises(dg.Failure), history.attempt(**START) as failed:
        try:
            raise ConnectionResetError("S3 went away")
        except ConnectionResetError as exc:
            raise dg.Failure("gave up after 3 tries") from exc
    row = _row(history, failed.id)
    assert row["status"] == "failed" and row["error_message"] == "ConnectionResetError: S3 went away"

    with pytest.raises(InvalidTransition, match="without publishing"), history.attempt(**START) as empty:
        pass
    assert _row(history, empty.id)["status"] == "failed"
