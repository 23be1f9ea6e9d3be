"""An export launched for a month whose dataset was never materialized (one asset picked in the UI)
fails at once, before it renders anything, with a one-line message naming the dataset, the partition
and the two ways out; its history row says the same, failed."""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg

from export_platform.datasets.assets import dataset_assets
from export_platform.datasets.source_database import SourceDatabase
from export_platform.exports.assets import export_assets, recorded_filters
from export_platform.exports.formats import PdfExportConfig
from export_platform.storage.artifacts import ArtifactStore
from export_platform.storage.io_manager import DatasetParquetIOManager
from export_platform.tracking.history import ExportHistory
from export_platform_tests.support.materialize import ephemeral_instance
from export_platform_tests.support.seed_plan import PARTITION, TENANT

MESSAGE = (
    "customers for 2026-10|acme has not been materialized: "
    "select it too, or run datasets_job for that partition"
)


def test_an_export_of_a_dataset_never_materialized_fails_at_once_saying_what_to_do(
    sqlite_source: str, tmp_path: Path
) -> None:
    root = str(tmp_path / "artifacts")
    history = ExportHistory(url=sqlite_source)
    instance = ephemeral_instance(TENANT)
    result = dg.materialize(
        [*dataset_assets, *export_assets],
        selection=["customers_pdf"],
        partition_key=PARTITION,
        instance=instance,
        resources={
            "source": SourceDatabase(url=sqlite_source),
            "dataset_io_manager": DatasetParquetIOManager(root=root),
            "artifacts": ArtifactStore(root=root),
            "history": history,
        },
        tags={"export_platform/requested_by": "analyst@acme.example"},
        raise_on_error=False,
    )

    assert not result.success
    [failure] = [e for e in result.all_events if e.is_step_failure]
    assert failure.step_key == "customers_pdf"
    data = failure.step_failure_data
    assert data.user_failure_data is not None and data.user_failure_data.description == MESSAGE
    assert data.error is not None and data.error.message.strip().endswith(f": {MESSAGE}")
    # Failed for good at the first attempt: no retry, nothing rendered or published.
    assert not [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_UP_FOR_RETRY]
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []

    [row] = history.entries(run_id=result.run_id)
    assert row["status"] == "failed" and row["error_message"] == MESSAGE
    assert (row["tenant_id"], row["dataset"], row["format"], row["partition_key"]) == (
        TENANT,
        "customers",
        "pdf",
        PARTITION,
    )
    assert row["requested_by"] == "analyst@acme.example" and row["finished_at"] is not None
    assert json.loads(row["filters"]) == recorded_filters(PdfExportConfig())
