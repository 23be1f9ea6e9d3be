"""Materialize one export of a partition whose datasets are already stored, as a run would."""

from __future__ import annotations

import dagster as dg

from export_platform.datasets.assets import dataset_assets
from export_platform.datasets.source_database import SourceDatabase
from export_platform.exports.assets import export_assets
from export_platform.storage.artifacts import ArtifactStore
from export_platform.storage.io_manager import DatasetParquetIOManager
from export_platform.tracking.history import ExportHistory
from export_platform_tests.support.materialize import ephemeral_instance

PART_SIZE = 5 * 1024 * 1024


def run_export(
    asset: str, partition: str, *, source_url: str, data_root: str, artifact_root: str, run_config=None
) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        [*dataset_assets, *export_assets],
        selection=[asset],
        partition_key=partition,
        instance=ephemeral_instance(partition.split("|")[1]),
        resources={
            "source": SourceDatabase(url=source_url),
            "dataset_io_manager": DatasetParquetIOManager(root=data_root),
            "artifacts": ArtifactStore(root=artifact_root, multipart_part_size=PART_SIZE),
            "history": ExportHistory(url=source_url),
        },
        run_config=run_config,
        raise_on_error=False,
    )


def history_of(result: dg.ExecuteInProcessResult, source_url: str) -> list[dict]:
    rows = ExportHistory(url=source_url).entries(limit=1000)
    return sorted((r for r in rows if r["run_id"] == result.run_id), key=lambda r: r["created_at"])


def retries(result: dg.ExecuteInProcessResult) -> int:
    return sum(1 for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_UP_FOR_RETRY)
