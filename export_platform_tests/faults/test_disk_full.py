"""The local disk fills while an artifact is written: the temporary file is removed, nothing appears
under the final name, and the error names the file. Each test runs twice: on a 4 MiB tmpfs (ENOSPC;
skipped where the tests may not mount one, which needs root), and under an ``RLIMIT_FSIZE`` of the
same size (EFBIG), which any user can set and which is how a quota-limited folder fails."""

from __future__ import annotations

import multiprocessing
import os
import resource
import signal
import subprocess
import traceback
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from export_platform.storage.io_manager import DatasetParquetIOManager
from export_platform.storage.layout import dataset_key, export_key
from export_platform_tests.support.big_source import BIG_PARTITION, BigSource
from export_platform_tests.support.export_runs import history_of, run_export

pytestmark = pytest.mark.faults

DISK_BYTES = 4 * 1024 * 1024


@pytest.fixture(params=["tmpfs", "file-size limit"])
def small_disk(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Path, bool]]:
    """A folder on a 4 MiB filesystem (``True``), or a plain folder whose writer gets a size limit."""
    folder = tmp_path / "disk"
    folder.mkdir()
    mounted = False
    if request.param == "tmpfs":
        mount = ["mount", "-t", "tmpfs", "-o", f"size={DISK_BYTES}", "tmpfs", str(folder)]
        if os.geteuid() != 0 or subprocess.run(mount, capture_output=True).returncode != 0:
            pytest.skip("mounting a tmpfs needs root; the file-size limit variant covers this machine")
        mounted = True
    try:
        yield folder, mounted
    finally:
        if mounted:
            subprocess.run(["umount", str(folder)], check=True)


def _limited(work, args, mounted: bool, results) -> None:
    try:
        if not mounted:
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (DISK_BYTES, DISK_BYTES))
        results.put(("done", work(*args)))
    except BaseException:
        results.put(("crashed", traceback.format_exc()))


def in_child(work, args: tuple, mounted: bool):
    """Run ``work(*args)`` in a fresh process (with the file-size limit if no small disk was mounted)."""
    context = multiprocessing.get_context("spawn")  # Polars' thread pool does not survive a fork
    results = context.Queue()
    process = context.Process(target=_limited, args=(work, args, mounted, results))
    process.start()
    status, outcome = results.get(timeout=240)
    process.join(timeout=60)
    assert status == "done", outcome
    return outcome


def export_sale_items(disk: str, source_url: str, data_root: str) -> tuple:
    result = run_export(
        "sale_items_csv", BIG_PARTITION, source_url=source_url, data_root=data_root, artifact_root=disk
    )
    failures = [e.event_specific_data.error.to_string() for e in result.all_events if e.is_step_failure]
    history = history_of(result, source_url)
    return result.success, failures, [(r["status"], r["error_message"]) for r in history]


def store_sales_parquet(disk: str) -> str | None:
    frame = pl.DataFrame({"tenant_id": ["acme"] * 400_000, "n": range(400_000)}).with_columns(
        pl.col("n").hash().cast(pl.String).alias("noise")
    )
    manager = DatasetParquetIOManager(root=disk)
    context = dg.build_output_context(asset_key=dg.AssetKey("sales"), partition_key=BIG_PARTITION)
    try:
        manager.handle_output(context, frame)
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def files_under(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def test_export_on_a_full_disk_fails_naming_the_file(
    big_source: BigSource, big_line_items: Path, small_disk: tuple[Path, bool]
) -> None:
    disk, mounted = small_disk
    success, failures, history = in_child(
        export_sale_items, (str(disk), big_source.url, str(big_line_items)), mounted
    )
    final = disk / export_key("acme", "sale_items", "2026-10", "csv")
    assert not success and len(failures) == 1  # not retried: a full disk stays full
    [(status, message)] = history
    assert status == "failed" and message.startswith("StorageFull: ") and str(final) in message
    assert f"while writing {final}" in failures[0]
    assert files_under(disk) == []  # neither the file, its temporary file, nor a manifest


def test_dataset_parquet_on_a_full_disk_fails_naming_the_file(small_disk: tuple[Path, bool]) -> None:
    disk, mounted = small_disk
    error = in_child(store_sales_parquet, (str(disk),), mounted)
    final = disk / dataset_key("acme", "sales", "2026-10")
    assert error is not None and error.startswith("StorageFull: ") and str(final) in error
    assert files_under(disk) == []
