"""End to end across both code locations: a real dagster-daemon runs workspace.yaml; once an export of
sales_csv lands in the instance, the downstream location's automation sensor launches warehouse_sales
for that partition, which loads the CSV into the Parquet table."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from export_platform.consumer import latest_artifact
from export_platform.datasets.assets import dataset_assets
from export_platform.datasets.source_database import SourceDatabase
from export_platform.exports.assets import export_assets
from export_platform.storage.artifacts import ArtifactStore
from export_platform.storage.io_manager import DatasetParquetIOManager
from export_platform.tracking.history import ExportHistory
from export_platform_downstream.warehouse import table_key
from export_platform_tests.support.project import PROJECT
from export_platform_tests.support.seed_plan import MONTH, PARTITION, TENANT
from export_platform_tests.support.webserver import instance_home

pytestmark = pytest.mark.daemon

DEADLINE_SECONDS = 180


def sensor_ticks(instance: dg.DagsterInstance, name: str) -> int:
    from dagster._core.definitions.run_request import InstigatorType

    states = [
        s for s in instance.all_instigator_state(instigator_type=InstigatorType.SENSOR) if s.name == name
    ]
    return sum(len(instance.get_ticks(s.instigator_origin_id, s.selector_id)) for s in states)


def warehouse_runs(instance: dg.DagsterInstance) -> list[dg.DagsterRun]:
    return [r for r in instance.get_runs() if dg.AssetKey("warehouse_sales") in (r.asset_selection or ())]


def wait_for(condition, what: str, daemon: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + DEADLINE_SECONDS
    while not condition():
        assert daemon.poll() is None, log.read_text()[-3000:]
        assert time.monotonic() < deadline, f"timed out waiting for {what}:\n{log.read_text()[-3000:]}"
        time.sleep(1)


def test_daemon_loads_a_landed_export_into_the_warehouse(sqlite_source: str, tmp_path: Path) -> None:
    artifacts, warehouse = tmp_path / "artifacts", tmp_path / "warehouse"
    instance = instance_home(tmp_path / "home", [TENANT])
    env = {
        **os.environ,
        "DAGSTER_HOME": str(tmp_path / "home"),
        "EXPORT_SOURCE_URL": sqlite_source,
        "EXPORT_ARTIFACT_ROOT": str(artifacts),
        "EXPORT_WAREHOUSE_ROOT": str(warehouse),
    }
    log = tmp_path / "daemon.log"
    daemon = subprocess.Popen(
        [str(Path(sys.executable).parent / "dagster-daemon"), "run", "-w", "workspace.yaml"],
        cwd=PROJECT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log.open("w"),
        start_new_session=True,
    )
    table = warehouse / table_key("sales", TENANT, MONTH)
    try:
        # Automation reacts to exports that land after it has looked once.
        wait_for(lambda: sensor_ticks(instance, "warehouse_automation") > 0, "a first tick", daemon, log)
        exported = dg.materialize(
            [*dataset_assets, *export_assets],
            selection=["sales", "sales_csv"],
            partition_key=PARTITION,
            instance=instance,
            resources={
                "source": SourceDatabase(url=sqlite_source),
                "dataset_io_manager": DatasetParquetIOManager(root=str(artifacts)),
                "artifacts": ArtifactStore(root=str(artifacts)),
                "history": ExportHistory(url=sqlite_source),
            },
        )
        assert exported.success
        # The run worker belongs to the daemon's process group: stopping the daemon before the run
        # has recorded its end would kill it half-way, so wait for the end while the daemon lives.
        wait_for(
            lambda: any(run.is_finished for run in warehouse_runs(instance)),
            "the warehouse run to finish",
            daemon,
            log,
        )
    finally:
        os.killpg(daemon.pid, signal.SIGTERM)
        daemon.wait(timeout=60)
    runs = warehouse_runs(instance)
    assert len(runs) == 1 and runs[0].tags["dagster/partition"] == PARTITION
    assert runs[0].tags.get("dagster/from_automation_condition") == "true"
    assert runs[0].is_success
    assert table.is_file()
    assert (
        pl.read_parquet(table).height
        == latest_artifact(TENANT, "sales", MONTH, root=str(artifacts)).record_count
    )
