"""A column selection changes the dataset's own table alone: the report's first table lists the chosen
columns in order, a PDF draws exactly them (not the page's usual few), and every other table stays
whole; compression round-trips any file byte for byte."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from export_platform.datasets import DATASETS_BY_NAME
from export_platform.render.compression import compress, decompress
from export_platform.reports.layouts import PDF_COLUMNS, build_report, flat_report
from export_platform.reports.tables import ReportOptions, TenantInfo, choose_columns, export_columns

TENANT = TenantInfo("acme", "Acme", "Europe/Berlin", "EUR")


def empty_frames(*datasets: str) -> dict[str, pl.LazyFrame]:
    return {name: pl.LazyFrame(schema=DATASETS_BY_NAME[name].schema_for("UTC")) for name in datasets}


def test_the_first_table_lists_the_chosen_columns_and_a_pdf_draws_exactly_them() -> None:
    chosen = choose_columns("sales", ["Total", "sold_at", "RECEIPT"])  # by label, name, label in capitals
    frames = empty_frames("sales", "sale_items")
    report = build_report("sales", frames, TENANT, "2026-10", ReportOptions(columns=chosen))
    sales, line_items = report.tables
    assert [c.name for c in sales.columns] == ["total", "sold_at", "receipt_number"]
    assert sales.frame.collect_schema().names() == ["total", "sold_at", "receipt_number"]
    assert [sales.columns[p].name for p in report.pdf_column_positions(sales)] == list(chosen)
    assert [c.name for c in line_items.columns] == export_columns("sale_items")  # the other sheet whole
    whole = build_report("sales", frames, TENANT, "2026-10")
    assert [whole.tables[0].columns[p].name for p in whole.pdf_column_positions(whole.tables[0])] == list(
        PDF_COLUMNS["Sales"]
    )
    flat = flat_report("sales", frames, TENANT, "2026-10", ReportOptions(columns=chosen))
    assert [c.label for c in flat.main_table.columns] == ["Total", "Sold At", "Receipt"]


@pytest.mark.parametrize("compression", ["zip", "gzip"])
def test_compression_round_trips_the_file(tmp_path: Path, compression: str) -> None:
    source = tmp_path / "report.csv"
    source.write_bytes(b"a,b\r\n" + bytes(range(256)) * 1000)
    packed = tmp_path / "report.csv.packed"
    compress(source, packed, "report.csv", compression)
    unpacked_into = tmp_path / "out"
    unpacked_into.mkdir()
    unpacked = decompress(packed, unpacked_into, compression)
    assert unpacked.read_bytes() == source.read_bytes() and packed.stat().st_size < source.stat().st_size
    again = tmp_path / "again"
    compress(source, again, "report.csv", compression)
    assert again.read_bytes() == packed.read_bytes()
