"""What a published CSV holds, for a consumer that loads it back into typed columns: each column's
name, header label and type, and the formula guard the CSV writer put on text cells."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from export_platform.catalog import EXPORT_FORMATS
from export_platform.datasets import DATASETS_BY_NAME
from export_platform.render.csv import FORMULA_TRIGGER
from export_platform.reports.tables import export_columns

GUARDED_FORMULA = "^'" + FORMULA_TRIGGER.removeprefix("^")
"""A text cell the CSV writer prefixed with an apostrophe so that a spreadsheet would not run it:
drop the first character of a cell matching this (a Rust-regex pattern, as Polars takes) to restore it."""


@dataclass(frozen=True)
class ExportColumn:
    name: str  # the dataset's column name
    label: str  # the CSV header
    dtype: pl.DataType  # its type, timestamps in UTC


def exported_datasets(format: str) -> tuple[str, ...]:
    """The datasets published in ``format`` (``csv``, ``xlsx`` or ``pdf``), in the platform's order."""
    return tuple(dataset for dataset, formats in EXPORT_FORMATS.items() if format in formats)


def dataset_title(dataset: str) -> str:
    return DATASETS_BY_NAME[dataset].title


def csv_columns(dataset: str) -> tuple[ExportColumn, ...]:
    """The columns of ``dataset``'s CSV, in file order, with the types they had in the dataset."""
    spec = DATASETS_BY_NAME[dataset]
    schema = spec.schema_for("UTC")
    return tuple(ExportColumn(name, spec.labels[name], schema[name]) for name in export_columns(dataset))
