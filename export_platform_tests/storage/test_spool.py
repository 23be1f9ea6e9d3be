"""The Parquet spool streamed datasets are written to: every batch kept in order, dictionaries where
text repeats, statistics where filters use them, and nothing left behind when writing fails."""

from __future__ import annotations

import polars as pl
import pyarrow.parquet as pq
import pytest
from polars.testing import assert_frame_equal

from export_platform.storage.spool import ParquetSpool


def batches(count: int, rows: int) -> list[pl.DataFrame]:
    return [
        pl.DataFrame(
            {
                "item_id": range(b * rows, (b + 1) * rows),
                "receipt": [f"R-{b}-{i}" for i in range(rows)],
                "status": ["completed", "refunded"] * (rows // 2),
            }
        )
        for b in range(count)
    ]


def test_batches_are_kept_in_order_with_encodings_that_suit_each_column() -> None:
    written = batches(3, 1_000)
    spool = ParquetSpool.write(iter(written))
    try:
        assert_frame_equal(spool.scan().collect(), pl.concat(written))
        columns = {
            c.path_in_schema: c
            for c in (pq.ParquetFile(spool.path).metadata.row_group(0).column(i) for i in range(3))
        }
        assert columns["status"].has_dictionary_page and not columns["receipt"].has_dictionary_page
        assert columns["item_id"].is_stats_set and not columns["receipt"].is_stats_set
    finally:
        spool.discard()
    assert not spool.path.parent.exists()


def test_a_failing_batch_source_leaves_no_spool(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))

    def failing():
        yield from batches(1, 10)
        raise OSError("source lost")

    with pytest.raises(OSError, match="source lost"):
        ParquetSpool.write(failing())
    assert list(tmp_path.iterdir()) == []
