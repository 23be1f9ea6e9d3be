"""A CSV bundle: the workbook as CSV files, one zip with a CSV per sheet, named as the sheets are
(``Summary.csv``, ``Sales.csv``, ``Line Items.csv``), so a CSV user has everything the Excel file shows.

The Summary CSV has the Summary sheet's rows in its places (title; tenant, period, time zone and
currency; a blank row; each figure's label and value; with an overview, a blank row, then each
headline figure's label, value and changes), without a header. Each table's CSV is the one
``write_csv`` makes of it, with the same options, so a table's file reads exactly as a plain CSV export
of it would; one table is one file, however many continuation sheets it needs in Excel. Zip members
carry a fixed timestamp, so the same report always bundles to the same bytes.

The bundle is offered to ad-hoc exports and tenants' schedules, not as a fourth export asset per
dataset: the monthly run already publishes each dataset's flat CSV and its workbook, and seven more
steps in every tenant-month run would add to the fixed cost per step that the platform works to cut
(a partition run is 26 steps), for a file any request can make from the same tables on demand.
"""

from __future__ import annotations

import datetime as dt
import tempfile
import zipfile
from pathlib import Path

import polars as pl

from export_platform.render.charts import OVERVIEW_HEADING
from export_platform.render.compression import add_to_zip
from export_platform.render.csv import CsvOptions, neutralise_formula, sink_formatted, write_csv
from export_platform.render.progress import Progress
from export_platform.render.report import Kind, Report

SUMMARY = "Summary"


def member_name(sheet: str) -> str:
    """The bundle's file for a sheet: its name, with characters a file name cannot hold replaced."""
    return "".join("_" if c in '/\\:*?"<>|' else c for c in sheet) + ".csv"


def summary_text(value: object) -> str | None:
    """A Summary value as its CSV text: exact decimals, ISO dates and times, true/false."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.isoformat(timespec="seconds")
    return str(value)  # dates in ISO form, integers, decimals at their scale


SummaryRow = tuple[str | None, str | None, bool, str | None]


def summary_rows(report: Report) -> list[SummaryRow]:
    """The Summary sheet's rows as (label, value, whether the value is text, the overview's changes),
    in order: the overview's block, as the workbook has it, after an empty row."""
    rows: list[SummaryRow] = [
        (report.title, None, True, None),
        ("Tenant", f"{report.tenant_name} ({report.tenant})", True, None),
        ("Period", report.period, True, None),
        ("Time zone", report.timezone, True, None),
        ("Currency", report.currency, True, None),
        (None, None, True, None),
    ]
    rows += [(i.label, summary_text(i.value), i.kind is Kind.TEXT, None) for i in report.summary]
    if report.tiles:
        rows += [(None, None, True, None), (OVERVIEW_HEADING, None, True, None)]
        rows += [(t.label, summary_text(t.value), False, "; ".join(t.changes)) for t in report.tiles]
    return rows


def write_summary_csv(report: Report, path: Path, options: CsvOptions) -> None:
    """The Summary sheet as two columns of text (three with an overview: its changes); labels and
    text values that a spreadsheet would run as a formula get the apostrophe every CSV cell of text
    gets, numbers never do."""
    rows = summary_rows(report)
    frame = pl.LazyFrame(
        {
            "label": [label for label, _, _, _ in rows],
            "value": [value for _, value, _, _ in rows],
            "text": [text for _, _, text, _ in rows],
            "changes": [changes for _, _, _, changes in rows],
        },
        schema={"label": pl.String, "value": pl.String, "text": pl.Boolean, "changes": pl.String},
    )
    formatted = frame.select(
        neutralise_formula(pl.col("label")).alias("label"),
        pl.when(pl.col("text"))
        .then(neutralise_formula(pl.col("value")))
        .otherwise(pl.col("value"))
        .alias("value"),
        *([neutralise_formula(pl.col("changes")).alias("changes")] if report.tiles else []),
    )
    sink_formatted(formatted, path, CsvOptions(options.delimiter, options.include_bom, False), opening=True)


def write_csv_bundle(
    report: Report, path: Path, options: CsvOptions, progress: Progress | None = None
) -> dict[str, int]:
    """Write the bundle of ``report`` to ``path``; returns the data rows written per table."""
    written: dict[str, int] = {}
    with (
        tempfile.TemporaryDirectory(prefix="csv-bundle-") as folder,
        zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as archive,
    ):
        summary = Path(folder) / member_name(SUMMARY)
        write_summary_csv(report, summary, options)
        add_to_zip(archive, summary, summary.name)
        for table in report.tables:
            member = Path(folder) / member_name(table.name)
            written[table.name] = write_csv(table, member, options, progress)
            add_to_zip(archive, member, member.name)
            member.unlink()
    return written
