"""A long export logs how far it has got while it renders, in the run's own log."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import dagster as dg

from export_platform.datasets.assets import dataset_assets
from export_platform.datasets.source_database import SourceDatabase
from export_platform.exports.assets import export_assets
from export_platform.exports.progress import progress_line, progress_logged
from export_platform.render.progress import Progress
from export_platform.storage.artifacts import ArtifactStore
from export_platform.storage.io_manager import DatasetParquetIOManager
from export_platform.tracking.history import ExportHistory
from export_platform_tests.support.materialize import ephemeral_instance
from export_platform_tests.support.seed_plan import MONTH, TENANT


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []
        self.logged = threading.Event()

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())
        self.logged.set()

    def wait_for(self, text: str, timeout_s: float = 5) -> bool:
        while self.logged.wait(timeout_s):
            self.logged.clear()
            if any(text in line for line in self.lines):
                return True
        return False


def test_progress_is_logged_while_the_writer_works(tmp_path: Path) -> None:
    log = logging.getLogger("export-progress-test")
    log.setLevel(logging.INFO)
    handler = _Lines()
    log.addHandler(handler)
    path = tmp_path / "out.csv"
    try:
        with progress_logged(log, "acme/exports/sales/2026-10/sales.pdf", path, every_s=0.01) as progress:
            path.write_bytes(b"x" * 2_500_000)
            progress.start_table("Sales", 100_000)
            progress.advance(40_000)
            assert handler.wait_for("40,000"), f"no progress line while the writer was busy: {handler.lines}"
        line = next(line for line in handler.lines if "40,000" in line)
        assert line.startswith(
            "acme/exports/sales/2026-10/sales.pdf: Sales: 40,000 of 100,000 rows (40%), 2.5 MB written after"
        )
        assert line.endswith(" rows/s")
        # The reporter stops with the writer: nothing is logged once the file is done.
        count = len(handler.lines)
        threading.Event().wait(0.05)
        assert len(handler.lines) == count
    finally:
        log.removeHandler(handler)


def test_progress_line_reads_well_before_and_between_tables() -> None:
    progress = Progress()
    assert progress_line("k", progress, 0, 0.0) == "k: starting, 0.0 MB written after 0 s"
    progress.start_table("Sales", 10)
    progress.advance(10)
    progress.start_table("Line Items")  # a writer that does not know the table's length
    progress.advance(20)
    assert progress.total_rows == 30
    assert progress_line("k", progress, 12_345_678, 3.0) == (
        "k: Line Items: 20 rows, 12.3 MB written after 3 s, 10 rows/s"
    )


def test_an_export_run_logs_its_progress(sqlite_source: str, tmp_path: Path) -> None:
    """A real materialization of a PDF export, with progress every few milliseconds: the run's log
    has lines naming the file being written, its table and its row count so far."""
    partition = f"{MONTH}|{TENANT}"
    instance = ephemeral_instance(TENANT)
    result = dg.materialize(
        [*dataset_assets, *export_assets],
        selection=dg.AssetSelection.assets("sales_pdf").upstream(),
        partition_key=partition,
        instance=instance,
        resources={
            "source": SourceDatabase(url=sqlite_source),
            "dataset_io_manager": DatasetParquetIOManager(root=str(tmp_path)),
            "artifacts": ArtifactStore(root=str(tmp_path)),
            "history": ExportHistory(url=sqlite_source),
        },
        run_config={"ops": {"sales_pdf": {"config": {"progress_every_s": 0.005}}}},
    )
    assert result.success
    messages = [e.user_message for e in instance.all_logs(result.run_id) if e.step_key == "sales_pdf"]
    progress = [m for m in messages if m.startswith(f"{TENANT}/exports/sales/{MONTH}/") and "written" in m]
    assert progress, messages
    assert any(" rows" in m and ("Sales: " in m or "Line Items: " in m) for m in progress), progress
