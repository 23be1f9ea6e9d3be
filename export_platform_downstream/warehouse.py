"""Load a published CSV export back into typed columns, and where the warehouse keeps its tables.

The CSV is read through the consumer API (found by manifest.json, sha256 verified), then every column
gets its dataset's type again: exact decimals, timestamps in UTC (one zone for a table across tenants),
dates, booleans, integers, and text with the platform's formula guard (a leading apostrophe) removed.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from export_platform.consumer import GUARDED_FORMULA, Artifact, csv_columns


def table_key(dataset: str, tenant: str, month: str) -> str:
    """Hive-style layout: ``pl.scan_parquet(root + "/sales/**/*.parquet", hive_partitioning=True)``
    reads the whole table with ``tenant`` and ``month`` columns."""
    return f"{dataset}/tenant={tenant}/month={month}/data.parquet"


def warehouse_schema(dataset: str) -> pl.Schema:
    """The CSV's columns, by their dataset names, with the types they are loaded as."""
    return pl.Schema({column.name: column.dtype for column in csv_columns(dataset)})


def load_csv(path: Path, dataset: str) -> pl.DataFrame:
    """A CSV export of ``dataset`` (default options: comma, BOM, header) as a typed frame."""
    schema = warehouse_schema(dataset)
    by_label = {column.label: column.name for column in csv_columns(dataset)}
    raw = pl.read_csv(path, infer_schema=False, encoding="utf8")
    if list(raw.columns) != list(by_label):
        raise ValueError(
            f"{path.name}: columns {raw.columns} are not the {dataset} export's {list(by_label)}"
        )
    return raw.rename(by_label).select(_typed(name, dtype) for name, dtype in schema.items())


def _typed(name: str, dtype: pl.DataType) -> pl.Expr:
    text = pl.col(name)
    if isinstance(dtype, pl.Datetime):
        return text.str.to_datetime("%Y-%m-%dT%H:%M:%S%:z", time_zone="UTC").cast(dtype).alias(name)
    if dtype == pl.Date:
        return text.str.to_date("%Y-%m-%d").alias(name)
    if dtype == pl.Boolean:
        return pl.when(text == "true").then(True).when(text == "false").then(False).alias(name)
    if dtype == pl.String:
        return pl.when(text.str.contains(GUARDED_FORMULA)).then(text.str.slice(1)).otherwise(text).alias(name)
    return text.cast(dtype).alias(name)


def load_artifact(artifact: Artifact) -> pl.DataFrame:
    """The verified CSV artifact as a typed frame; its row count must be the one the manifest records."""
    with artifact.open() as file:
        frame = load_csv(Path(file.name), artifact.dataset)
    if frame.height != artifact.record_count:
        raise ValueError(
            f"{artifact.uri}: read {frame.height} rows, manifest.json records {artifact.record_count}"
        )
    return frame
