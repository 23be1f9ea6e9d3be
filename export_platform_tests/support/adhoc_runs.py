"""Run the ``adhoc_export`` job in process against a source and a local artifact folder, and read
back what it left: its files and its history rows."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from export_platform.datasets.source_database import SourceDatabase
from export_platform.exports.adhoc import adhoc_export
from export_platform.storage.artifacts import ArtifactStore
from export_platform.tracking.history import ExportHistory
from export_platform_tests.support.seed_plan import TENANT


def run_adhoc(source_url: str, root: Path | str, **request: object) -> dg.ExecuteInProcessResult:
    """One ad-hoc request for the test tenant (unless it names another) into ``root``, a folder or
    an ``s3://`` URL; a failure is returned."""
    return adhoc_export.execute_in_process(
        run_config={"ops": {"run_adhoc_export": {"config": {"tenant": TENANT, **request}}}},
        resources={
            "source": SourceDatabase(url=source_url),
            "artifacts": ArtifactStore(root=str(root)),
            "history": ExportHistory(url=source_url),
        },
        instance=dg.DagsterInstance.ephemeral(),
        raise_on_error=False,
    )


def run_sensor_request(
    request: dg.RunRequest,
    instance: dg.DagsterInstance,
    source_url: str,
    history: ExportHistory,
    root: Path | str,
    sensor: str = "export_schedule_sensor",
) -> dg.ExecuteInProcessResult:
    """A sensor's ``adhoc_export`` request run as the daemon runs it (Dagster tags it with the sensor
    that asked); a failure is returned."""
    return adhoc_export.execute_in_process(
        run_config=request.run_config,
        instance=instance,
        tags={**request.tags, "dagster/sensor_name": sensor},
        resources={
            "source": SourceDatabase(url=source_url),
            "artifacts": ArtifactStore(root=str(root)),
            "history": history,
        },
        raise_on_error=False,
    )


def adhoc_files(root: Path, result: dg.ExecuteInProcessResult) -> dict[str, Path]:
    """The run's published files by name."""
    return {p.name: p for p in (root / TENANT / "adhoc" / result.run_id).iterdir()}


def history_rows(source_url: str, run_id: str) -> list[dict]:
    return [e for e in ExportHistory(url=source_url).entries(limit=100_000) if e["run_id"] == run_id]
