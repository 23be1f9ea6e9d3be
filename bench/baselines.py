"""The baselines both benchmarks set our CSV writer against, written from the same Parquet rows."""

from __future__ import annotations

import time
from pathlib import Path

OURS_LOCAL = "ours_csv_writer_local"
"""Our CSV writer on the baselines' terms: the dataset's export table from the same local Parquet."""

CSV_BASELINES = (
    "baseline_csv_dictwriter",
    "baseline_polars_write_csv",
    "baseline_duckdb_copy",
    "baseline_raw_bytes",
)


def write_csv_baseline(kind: str, parquet: Path, out: Path, ours: Path) -> float:
    """Write ``parquet``'s rows to ``out`` one baseline way; returns the seconds the writing took.

    ``ours`` is the CSV our writer produced from the same rows: the raw-bytes baseline writes those
    bytes again, the physical limit.
    """
    import csv

    import duckdb
    import polars as pl

    from export_platform.render.csv import CsvOptions, write_csv
    from export_platform.render.report import small_streaming_chunks
    from export_platform.reports.tables import dataset_table

    started = time.perf_counter()  # after the imports, which no contender should be charged for
    if kind == OURS_LOCAL:  # what the sale_items CSV export writes, formatting and neutralising
        with small_streaming_chunks():  # as the export runs it
            write_csv(dataset_table("sale_items", pl.scan_parquet(parquet)), out, CsvOptions())
    elif kind == "baseline_csv_dictwriter":  # how the old system wrote CSV: Python dicts, row by row
        records = pl.read_parquet(parquet).to_dicts()
        with out.open("w", newline="", encoding="utf-8") as target:
            writer = csv.DictWriter(target, fieldnames=list(records[0]))
            writer.writeheader()
            writer.writerows(records)
    elif kind == "baseline_polars_write_csv":
        pl.read_parquet(parquet).write_csv(out)
    elif kind == "baseline_duckdb_copy":
        duckdb.sql(f"COPY (SELECT * FROM read_parquet('{parquet}')) TO '{out}' (HEADER, DELIMITER ',')")
    elif kind == "baseline_raw_bytes":
        payload = ours.read_bytes()
        started = time.perf_counter()
        out.write_bytes(payload)
    else:
        raise ValueError(kind)
    return time.perf_counter() - started
