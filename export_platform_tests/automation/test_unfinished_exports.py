"""A run that ended without finishing its exports (killed and failed by the run monitor, canceled,
deleted) leaves rows pending or processing; the sensor closes them as failed with the reason and
leaves alone the rows of runs still going. On a real Dagster instance."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from export_platform.automation.unfinished_exports import plan_closures, unfinished_export_sensor
from export_platform.tracking.history import ExportHistory

Status = dg.DagsterRunStatus


def test_plan_closes_only_runs_that_ended() -> None:
    statuses = {
        "running": Status.STARTED,
        "queued": Status.QUEUED,
        "starting": Status.STARTING,
        "failed": Status.FAILURE,
        "canceled": Status.CANCELED,
        "succeeded": Status.SUCCESS,
        "gone": None,
    }
    assert plan_closures(statuses) == {
        "failed": "run failed ended FAILURE before this export finished",
        "canceled": "run canceled ended CANCELED before this export finished",
        "succeeded": "run succeeded ended SUCCESS before this export finished",
        "gone": "run gone no longer exists, so this export never finished",
    }


def start_run(instance: dg.DagsterInstance) -> str:
    return instance.add_run(dg.DagsterRun(job_name="exports_job", status=Status.STARTED)).run_id


def unfinished_row(history: ExportHistory, run_id: str, status: str, fmt: str = "csv") -> str:
    entry = history.start(
        tenant="acme",
        requested_by="schedule:Monthly",
        dataset="sales",
        fmt=fmt,
        partition_key="2026-10|acme",
        run_id=run_id,
    )
    if status != "pending":
        history.move(entry, "processing")
    if status == "success":
        history.move(entry, "success", record_count=1, file_size_bytes=1, uri="file:///x.csv")
    return entry


def test_the_sensor_closes_rows_of_ended_runs_and_keeps_live_ones(tmp_path: Path) -> None:
    history = ExportHistory(url=f"sqlite:///{tmp_path / 'platform.db'}")
    instance = dg.DagsterInstance.ephemeral()
    runs = {name: start_run(instance) for name in ("live", "killed", "canceled", "deleted")}
    # What the run monitor records once it finds a run's worker dead, what a cancel records, a deletion.
    instance.report_run_failed(instance.get_run_by_id(runs["killed"]))
    instance.report_run_canceled(instance.get_run_by_id(runs["canceled"]))
    instance.delete_run(runs["deleted"])
    rows = {
        (name, status): unfinished_row(history, run_id, status, fmt)
        for name, run_id in runs.items()
        for status, fmt in (("pending", "pdf"), ("processing", "csv"))
    }
    written = unfinished_row(history, runs["killed"], "success", "xlsx")  # finished before the kill

    context = dg.build_sensor_context(instance=instance, resources={"history": history})
    result = unfinished_export_sensor(context)

    assert result.skip_message == "closed the unfinished exports of 3 ended runs"
    by_id = {r["id"]: r for r in history.entries(limit=100)}
    expected = {
        "live": ("pending", "processing", None),
        "killed": ("failed", "failed", f"run {runs['killed']} ended FAILURE before this export finished"),
        "canceled": (
            "failed",
            "failed",
            f"run {runs['canceled']} ended CANCELED before this export finished",
        ),
        "deleted": (
            "failed",
            "failed",
            f"run {runs['deleted']} no longer exists, so this export never finished",
        ),
    }
    for name, (pending, processing, reason) in expected.items():
        assert by_id[rows[name, "pending"]]["status"] == pending, name
        assert by_id[rows[name, "processing"]]["status"] == processing, name
        assert by_id[rows[name, "processing"]]["error_message"] == reason, name
    assert by_id[rows["killed", "processing"]]["finished_at"] is not None
    assert by_id[written]["status"] == "success"
    again = unfinished_export_sensor(
        dg.build_sensor_context(instance=instance, resources={"history": history})
    )
    assert again.skip_message == "no ended run left any"
