"""Streamed datasets: computed a batch at a time, they hold exactly the rows of the whole computation,
in the same order, whatever the batch size and wherever the batch boundaries fall."""

from __future__ import annotations

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from export_platform.datasets import DATASETS
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
