"""The artifact check's CSV row count, on the dialects and edge cases the writer can produce."""

from __future__ import annotations

from pathlib import Path

import pytest

from export_platform.exports import formats
from export_platform.exports.formats import CsvExportConfig, count_csv_rows

BOM = "\ufeff"


@pytest.mark.parametrize(
    ("text", "config", "rows"),
    [
        (f"{BOM}A,B\r\n", CsvExportConfig(), 0),
        (BOM, CsvExportConfig(include_header=False), 0),
        ("", CsvExportConfig(include_bom=False, include_header=False), 0),
        (f'{BOM}A,B\r\n1,"two\r\nlines"\r\n3,"a ""quote"", and a comma"\r\n', CsvExportConfig(), 2),
        ('A;B\r\n"x;y";2\r\n"multi\nline";3\r\n', CsvExportConfig(delimiter=";", include_bom=False), 2),
        (
            'a\tb\r\n"q""x"\t2\r\n',
            CsvExportConfig(delimiter="\t", include_bom=False, include_header=False),
            2,
        ),
    ],
    ids=["header-only", "bom-only", "empty", "quoted-breaks", "semicolon", "tab-no-header"],
)
@pytest.mark.parametrize("chunk", [formats.CSV_COUNT_CHUNK, 3], ids=["one-chunk", "3-byte-chunks"])
def test_counts_records_not_lines(
    tmp_path: Path, monkeypatch, text: str, config: CsvExportConfig, rows: int, chunk: int
) -> None:
    """Quoted line breaks and doubled quotes, also when a chunk boundary falls inside a quoted field."""
    monkeypatch.setattr(formats, "CSV_COUNT_CHUNK", chunk)
    path = tmp_path / "export.csv"
    path.write_bytes(text.encode())
    assert count_csv_rows(path, config) == rows
