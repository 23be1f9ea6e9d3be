"""A report job per dataset, the tour's short path in the UI: each makes its dataset's export files
and exactly the datasets they read, so one run of it needs no earlier one."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from export_platform.consumer import latest_artifact
from export_platform.datasets import DATASETS
from export_platform.datasets.assets import dataset_assets
from export_platform.datasets.source_database import SourceDatabase
from export_platform.definitions import defs
from export_platform.exports.assets import export_assets
from export_platform.exports.report_jobs import build_report_job
from export_platform.storage.artifacts import ArtifactStore
from export_platform.storage.io_manager import DatasetParquetIOManager
from export_platform.tracking.history import ExportHistory
from export_platform_tests.support.materialize import ephemeral_instance
from export_platform_tests.support.seed_plan import MONTH, PARTITION, TENANT

FORMATS = ("csv", "xlsx", "pdf")


@pytest.mark.parametrize("dataset", [spec.name for spec in DATASETS])
def test_a_report_job_makes_every_file_of_its_dataset_and_what_they_read(dataset: str) -> None:
    graph = defs.resolve_asset_graph()
    files = {dg.AssetKey(f"{dataset}_{fmt}") for fmt in FORMATS} & graph.get_all_asset_keys()
    read = {parent for key in files for parent in graph.get(key).parent_keys}
    job = defs.resolve_job_def(f"{dataset}_report")
    assert files and dg.AssetKey(dataset) in read
    assert job.asset_layer.selected_asset_keys == files | read
    assert job.partitions_def == graph.get(dg.AssetKey(dataset)).partitions_def


def test_one_run_of_a_report_job_on_a_fresh_instance_publishes_its_files(
    sqlite_source: str, tmp_path: Path
) -> None:
    root = str(tmp_path / "artifacts")
    local = dg.Definitions(
        assets=[*dataset_assets, *export_assets],
        jobs=[build_report_job("invoices")],
        resources={
            "source": SourceDatabase(url=sqlite_source),
            "dataset_io_manager": DatasetParquetIOManager(root=root),
            "artifacts": ArtifactStore(root=root),
            "history": ExportHistory(url=sqlite_source),
        },
    )
    result = local.resolve_job_def("invoices_report").execute_in_process(
        partition_key=PARTITION, instance=ephemeral_instance(TENANT)
    )
    assert result.success
    made = {event.asset_key.to_user_string() for event in result.get_asset_materialization_events()}
    assert made == {"invoices", "invoices_csv", "invoices_xlsx", "invoices_pdf"}
    for fmt in FORMATS:
        assert latest_artifact(TENANT, "invoices", MONTH, fmt, root=root).size > 0
