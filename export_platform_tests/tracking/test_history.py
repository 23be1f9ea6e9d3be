"""Export history on SQLite and PostgreSQL: its own schema, legal transitions only, filters."""

from __future__ import annotations

import psycopg
import pytest

from export_platform.tracking.history import ExportHistory, InvalidTransition, requested_by

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
