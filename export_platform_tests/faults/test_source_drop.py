"""The PostgreSQL source drops the connection in the middle of a large read: a proxy in front of the
server cuts the connection after the first megabyte of rows has arrived."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from sqlalchemy.engine import make_url

from export_platform.datasets import DATASETS_BY_NAME
from export_platform_tests.support.big_source import BIG_PARTITION, SALE_ITEMS, BigSource
from export_platform_tests.support.cuttable_proxy import CuttableProxy
from export_platform_tests.support.export_runs import retries
from export_platform_tests.support.materialize import materialize_datasets
from export_platform_tests.support.source_reads import reads_outside_a_snapshot

pytestmark = pytest.mark.faults

MID_READ = 1024 * 1024  # the line items' rows are ~10 MB on the wire; the tenant lookup is ~1 kB


def through_proxy(source: BigSource) -> tuple[CuttableProxy, str]:
    url = make_url(source.url)
    proxy = CuttableProxy(url.port or 5432)
    proxy.up()
    return proxy, url.set(port=proxy.port).render_as_string(hide_password=False)


def stored_files(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def test_connection_dropped_on_every_attempt_fails_and_stores_nothing(
    big_source: BigSource, tmp_path: Path
) -> None:
    proxy, url = through_proxy(big_source)
    try:
        proxy.drop_connections_after(MID_READ, count=1_000)
        # The step's first read (the tenant) is small and passes; the line items' read is cut.
        result = materialize_datasets(url, str(tmp_path), BIG_PARTITION, assets=SALE_ITEMS)
    finally:
        proxy.down()
    assert not result.success  # every attempt was cut: the step gives up after its retries
    assert retries(result) == 3
    failure = next(e for e in result.all_events if e.is_step_failure).event_specific_data.error.to_string()
    assert "SourceUnavailable" in failure and f"127.0.0.1:{proxy.port}" in failure
    assert proxy.drops_left == 1_000 - 4  # four attempts, each with its read cut
    assert stored_files(tmp_path) == []  # no Parquet under its final name, and no temporary file


def test_connection_dropped_on_the_first_attempt_is_retried_cleanly(
    big_source: BigSource, tmp_path: Path
) -> None:
    proxy, url = through_proxy(big_source)
    try:
        proxy.drop_connections_after(MID_READ, count=1)
        result = materialize_datasets(url, str(tmp_path), BIG_PARTITION, assets=SALE_ITEMS)
    finally:
        proxy.down()
    assert proxy.drops_left == 0
    assert result.success and retries(result) == 1
    assert stored_files(tmp_path) == ["acme/data/sale_items/2026-10.parquet"]
    reads = reads_outside_a_snapshot(big_source.url, "acme")
    expected = DATASETS_BY_NAME["sale_items"].compute(reads.read, reads.window("2026-10"))
    stored = pl.read_parquet(tmp_path / "acme/data/sale_items/2026-10.parquet")
    assert stored.height == expected.height > 100_000
    assert stored.equals(expected)
