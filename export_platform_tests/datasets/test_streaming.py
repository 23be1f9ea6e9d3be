"""Streamed datasets: computed a batch at a time, they hold exactly the rows of the whole computation,
in the same order, whatever the batch size and wherever the batch boundaries fall."""

from __future__ import annotations

import datetime as dt
import itertools

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from export_platform.datasets import DATASETS
from export_platform.datasets.source_database import TIME_SLICES, SourceDatabase, time_slices
from export_platform.source.reads import read_batches
from export_platform_tests.support.seed_plan import MONTH, TENANT
from export_platform_tests.support.source_reads import reads_outside_a_snapshot

STREAMED = {spec.name: spec for spec in DATASETS if spec.stream is not None}


def test_the_large_datasets_are_the_streamed_ones() -> None:
    """The datasets that grow with a tenant's trade are never held whole; the reference data is."""
    assert set(STREAMED) == {"sale_items", "sales", "audit_log"}


@pytest.mark.parametrize("dataset", sorted(STREAMED))
def test_batches_make_the_whole_dataset(source_url: str, dataset: str) -> None:
    spec = STREAMED[dataset]
    reads = reads_outside_a_snapshot(source_url, TENANT)
    window = reads.window(MONTH)

    def small_batches(stmt, **params):
        return read_batches(reads.url, stmt, {"tenant": TENANT, **params}, tenant=TENANT, batch_rows=37)

    whole = spec.compute(reads.read, window)
    batches = list(spec.compute_batches(small_batches, window))
    assert whole.height > 100, dataset
    assert_frame_equal(pl.concat(batches), whole)


@pytest.mark.parametrize("dataset", sorted(STREAMED))
def test_a_snapshot_read_in_time_slices_is_the_one_read(postgresql_source: str, dataset: str) -> None:
    """Within a snapshot a period is read as ``TIME_SLICES`` shorter reads, chained: the same rows in
    the same order as one read of the whole period."""
    spec = STREAMED[dataset]
    with SourceDatabase(url=postgresql_source).tenant_reads(TENANT) as reads:
        window = reads.window(MONTH)
        batches = list(spec.compute_batches(reads.read_batches, window))
        whole = spec.compute(reads.read, window)
    assert len(batches) >= TIME_SLICES  # every slice of October holds rows, in batches of its own
    assert_frame_equal(pl.concat(batches), whole)


def test_time_slices_cover_the_period_exactly_once() -> None:
    start, end = dt.datetime(2026, 10, 1, 4, tzinfo=dt.UTC), dt.datetime(2026, 11, 1, 4, tzinfo=dt.UTC)
    slices = time_slices(start, end, 8)
    assert len(slices) == 8 and slices[0][0] == start and slices[-1][1] == end
    assert all(a < b for a, b in slices) and all(s[1] == t[0] for s, t in itertools.pairwise(slices))
    assert {b - a for a, b in slices} == {dt.timedelta(days=31) / 8}
    assert time_slices(start, start + dt.timedelta(seconds=3), 8) == [
        (start + dt.timedelta(seconds=i), start + dt.timedelta(seconds=i + 1)) for i in range(3)
    ]
    assert time_slices(start, start, 8) == [(start, start)]


def test_a_period_without_rows_still_gives_one_typed_batch(postgresql_source: str) -> None:
    spec = STREAMED["sale_items"]
    with SourceDatabase(url=postgresql_source).tenant_reads(TENANT) as reads:
        window = reads.window("2024-01")
        batches = list(spec.compute_batches(reads.read_batches, window))
    assert len(batches) == 1 and batches[0].is_empty()
    assert batches[0].schema == spec.schema_for(window.tenant.timezone)
