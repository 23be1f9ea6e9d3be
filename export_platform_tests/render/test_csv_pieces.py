"""The CSV written a piece at a time (what the API sends while it reads) joins into exactly the file
``write_csv`` writes of the same rows, whatever the options, however the rows are split."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from export_platform.render.csv import CsvOptions, csv_pieces, write_csv
from export_platform.render.report import STREAMING_CHUNK_ROWS, Table

LABELS = {"item_id": "Item ID", "name": "Name", "amount": "Amount", "sold_at": "Sold At", "ok": "OK"}
TEXTS = ["=1+1", "plain, with comma", 'say "hi"', "line\nbreak", "\u200b@user", "北京", None]


def items(first: int, rows: int) -> pl.DataFrame:
    ids = range(first, first + rows)
    return pl.DataFrame(
        {
            "item_id": list(ids),
            "name": [TEXTS[i % len(TEXTS)] for i in ids],
            "amount": [f"{i % 1000 - 500}.{i % 100:02d}" for i in ids],
            "sold_at": [dt.datetime(2026, 10, 25, tzinfo=dt.UTC) + dt.timedelta(minutes=i) for i in ids],
            "ok": [None if i % 5 == 0 else i % 2 == 0 for i in ids],
        },
        schema={
            "item_id": pl.Int64,
            "name": pl.String,
            "amount": pl.String,
            "sold_at": pl.Datetime("us", "UTC"),
            "ok": pl.Boolean,
        },
    ).with_columns(
        pl.col("amount").cast(pl.Decimal(18, 2)), pl.col("sold_at").dt.convert_time_zone("Europe/Lisbon")
    )


def table(frame: pl.DataFrame) -> Table:
    return Table.of("Items", frame.lazy(), LABELS, list(LABELS))


@pytest.mark.parametrize(
    "options", [CsvOptions(), CsvOptions(";", False, True), CsvOptions("\t", True, False)]
)
def test_pieces_of_tables_in_a_row_join_into_the_file_of_them_all(
    tmp_path: Path, options: CsvOptions
) -> None:
    sizes = [0, 3, STREAMING_CHUNK_ROWS * 2 + 7, 0, 1]  # an empty first table still opens the file
    parts, first = [], 0
    for rows in sizes:
        parts.append(items(first, rows))
        first += rows
    whole = tmp_path / "whole.csv"
    write_csv(table(pl.concat(parts)), whole, options)

    pieces = [
        piece
        for position, part in enumerate(parts)
        for piece in csv_pieces(table(part), options, opening=position == 0)
    ]
    assert b"".join(pieces) == whole.read_bytes()
    assert len(pieces) == 1 + 1 + 3 + 1  # header; 3 rows; three pieces of the long table; the last row
    assert max(piece.count(b"\r\n") for piece in pieces) <= STREAMING_CHUNK_ROWS + 1


def test_a_table_without_rows_is_its_header_or_nothing() -> None:
    assert b"".join(csv_pieces(table(items(0, 0)), CsvOptions())) == (
        "\ufeffItem ID,Name,Amount,Sold At,OK\r\n".encode()
    )
    assert list(csv_pieces(table(items(0, 0)), CsvOptions(), opening=False)) == []
