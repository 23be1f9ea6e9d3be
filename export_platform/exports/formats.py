"""The export formats: their run config, how a report is rendered, and how the published file is read
back, with a reader independent of the writer, to count its rows for the artifact check.

CSV, Excel and PDF are each dataset's export assets; the CSV bundle (the workbook's sheets as CSV
files in one zip, ``render.csv_bundle``) is made on request only: ad-hoc exports and schedules.
Every format takes the same file options (``FileOptionsConfig``): which of the dataset's columns its
table lists, and whether the file is published compressed. A PDF also takes a page budget
(``PdfOptionsConfig``): past it the report ends with a note naming the files that hold every row, and
it records ``rows_in_pdf`` beside its ``record_count`` (the dataset's rows), which the read-back checks
against the note.
"""

from __future__ import annotations

import tempfile
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Generic, Literal, NamedTuple, TypeVar

import dagster as dg
import numpy as np
from pydantic import Field, model_validator

from export_platform.catalog import BUNDLE, EXPORT_FORMATS
from export_platform.exports.progress import DEFAULT_EVERY_S
from export_platform.render.compression import COMPRESSIONS, Compression
from export_platform.render.csv import CsvOptions, write_csv
from export_platform.render.csv_bundle import member_name, write_csv_bundle
from export_platform.render.pdf_note import DEFAULT_PAGE_BUDGET, StatedFigures, stated_figures
from export_platform.render.progress import Progress
from export_platform.render.report import NO_ROWS, Report
from export_platform.render.xlsx import EXCEL_MAX_ROWS, SHEET_NAME_LIMIT, write_workbook
from export_platform.reports.layouts import PDF_SKIPPED_TABLES

GZIP_ONLY_CSV = (
    "compression: gzip wraps a CSV file only; compress a workbook, PDF or CSV bundle with zip, or use none"
)


class FileOptionsConfig(dg.Config):
    """What every export's file may be asked to be, whatever its format: the export assets, the ad-hoc
    job and tenants' schedules take these fields, with these names and defaults."""

    columns: list[str] = Field(
        default=[],
        description="Only these columns of the dataset's table, in this order, each by its label "
        "(e.g. Receipt) or name (receipt_number); empty means every column. Other sheets stay whole.",
    )
    compression: Compression = Field(
        default="none",
        description=f"{' | '.join(COMPRESSIONS)}: zip publishes the file inside a zip (name.ext.zip); "
        "gzip wraps a CSV (name.csv.gz) and only a CSV.",
    )

    def file_options_asked(self) -> dict[str, Any]:
        """The file options set to other than their defaults, as the export history records them
        (an export that asks for none records what it recorded before there were any)."""
        return {
            name: value
            for name, field in FileOptionsConfig.model_fields.items()
            if (value := getattr(self, name)) != field.default
        }


class ExportConfig(FileOptionsConfig):
    """An export's run config: the file options and the progress interval. gzip is refused, naming
    the field, by every format but CSV (``gzip_allowed``), when the run builds its config."""

    gzip_allowed: ClassVar[bool] = False

    progress_every_s: float = Field(
        default=DEFAULT_EVERY_S,
        gt=0,
        description="While the file is written, log how far it has got every this many seconds.",
    )

    @model_validator(mode="after")
    def _compression_fits_the_format(self) -> ExportConfig:
        if self.compression == "gzip" and not self.gzip_allowed:
            raise ValueError(GZIP_ONLY_CSV)
        return self


class CsvOptionsConfig(dg.Config):
    """How a CSV file is written: the options the CSV export assets and the ad-hoc export job both
    take, defined once so a request uses the same names and defaults in either."""

    delimiter: Literal[",", ";", "\t"] = Field(
        default=",",
        description="Field delimiter: a comma, a semicolon (for locales that use a decimal comma) or a tab.",
    )
    include_bom: bool = Field(
        default=True, description="Start the file with a UTF-8 BOM so Excel detects UTF-8."
    )
    include_header: bool = Field(default=True, description="Write the column names as the first row.")

    @property
    def options(self) -> CsvOptions:
        return CsvOptions(self.delimiter, self.include_bom, self.include_header)


class CsvExportConfig(ExportConfig, CsvOptionsConfig):
    """A CSV export's run config: the CSV options, the file options and the progress interval."""

    gzip_allowed: ClassVar[bool] = True


class CsvBundleExportConfig(ExportConfig, CsvOptionsConfig):
    """A CSV bundle's run config: each CSV in it is written with the CSV options."""


class XlsxExportConfig(ExportConfig):
    max_rows_per_sheet: int = Field(
        default=EXCEL_MAX_ROWS,
        ge=2,
        le=EXCEL_MAX_ROWS,
        description="Rows per sheet, header included; longer tables continue on sheets named 'Name (2)', ...",
    )


class PdfOptionsConfig(dg.Config):
    """How long a PDF report may get: the option the PDF export assets and the ad-hoc export job both
    take, defined once so a request uses the same name and default in either."""

    page_budget: int = Field(
        default=DEFAULT_PAGE_BUDGET,
        ge=0,
        description="PDF: at most this many pages; the last one then says how many rows were left out "
        "and names the CSV and Excel files that hold them all. 0: no limit.",
    )


class PdfExportConfig(ExportConfig, PdfOptionsConfig):
    row_cap: int | None = Field(
        default=None,
        ge=1,
        description="Draw at most this many rows per table; the report states how many it left out.",
    )


class Written(NamedTuple):
    """What a writer put in a file: the dataset's rows (its report's main table), and for a PDF, which
    may leave rows out (page budget, row cap), how many of them it draws."""

    record_count: int
    rows_in_pdf: int | None = None


def _render_csv(report: Report, path: Path, config: CsvExportConfig, progress: Progress) -> Written:
    return Written(write_csv(report.main_table, path, config.options, progress))


def _render_xlsx(report: Report, path: Path, config: XlsxExportConfig, progress: Progress) -> Written:
    written = write_workbook(report, path, max_rows_per_sheet=config.max_rows_per_sheet, progress=progress)
    return Written(written[report.main_table.name])


def _render_csv_bundle(
    report: Report, path: Path, config: CsvBundleExportConfig, progress: Progress
) -> Written:
    return Written(write_csv_bundle(report, path, config.options, progress)[report.main_table.name])


def count_bundle_rows(path: Path, config: CsvBundleExportConfig, table_name: str) -> int:
    """Records in the bundle's CSV of ``table_name``, unpacked from the zip and counted as a CSV."""
    with tempfile.TemporaryDirectory(prefix="bundle-check-") as folder, zipfile.ZipFile(path) as archive:
        member = Path(archive.extract(member_name(table_name), folder))
        return count_csv_rows(member, config)


def _render_pdf(report: Report, path: Path, config: PdfExportConfig, progress: Progress) -> Written:
    from export_platform.render.pdf import write_pdf  # reportlab and its fonts load only when drawing

    written = write_pdf(
        report,
        path,
        row_cap=config.row_cap,
        page_budget=config.page_budget,
        skipped_tables=PDF_SKIPPED_TABLES,
        progress=progress,
    )
    main = report.main_table.name
    return Written(written.row_counts[main], written.rows[main])


CSV_COUNT_CHUNK = 4 * 1024 * 1024


def count_csv_rows(path: Path, config: CsvOptionsConfig) -> int:
    """Records in the file: line breaks outside quoted fields, a chunk at a time.

    RFC 4180 quoting makes this exact: a field with a line break is quoted, and a quote inside it is
    doubled, so a line break ends a record exactly when the quotes before it are even in number. Python's
    ``csv`` module counts the same 10M rows in 27 s, and Polars' reader maps the whole file into
    memory; this reads 4 MiB at a time with NumPy.
    """
    records, inside_quotes, last = 0, 0, b""
    with path.open("rb") as source:
        while chunk := source.read(CSV_COUNT_CHUNK):
            data = np.frombuffer(chunk, dtype=np.uint8)
            # 1 after an odd number of quotes (counting those of earlier chunks), 0 after an even one
            parity = np.bitwise_xor.accumulate((data == ord('"')).view(np.uint8)) ^ inside_quotes
            records += int(np.count_nonzero((data == ord("\n")) & (parity == 0)))
            inside_quotes, last = int(parity[-1]), chunk[-1:]
    body_bytes = path.stat().st_size - (3 if config.include_bom else 0)
    if body_bytes > 0 and last != b"\n":
        records += 1  # a last record without a line break
    return records - (1 if config.include_header and records else 0)


_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_RELATIONSHIP_ID = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
_PACKAGE_RELATIONSHIP = "{http://schemas.openxmlformats.org/package/2006/relationships}Relationship"
SHEET_ROW_TAG = f"{_MAIN}row"


def count_xlsx_rows(path: Path, table_name: str) -> int:
    """Data rows on the table's sheet and its continuation sheets.

    The sheets are found through the workbook's own index (``xl/workbook.xml`` and its relationships)
    and their XML is scanned for row elements with lxml; a damaged zip, index or sheet fails here.
    openpyxl's ``load_workbook`` is not used: even read-only it parses every sheet whole while looking
    for a ``<dimension>`` element, which streamed sheets cannot carry (their size is known only at the
    end). That took 141 s of the 155 s check of a sales workbook with 1M line items.
    """
    from lxml import etree

    first = table_name[:SHEET_NAME_LIMIT]
    total = 0
    with zipfile.ZipFile(path) as archive:
        for name, part in _sheet_parts(archive):
            if name != first and not _is_continuation(name, table_name):
                continue
            rows, second_row_cell = 0, None
            with archive.open(part) as source:
                for _, row in etree.iterparse(source, tag=SHEET_ROW_TAG):
                    rows += 1
                    if rows == 2:
                        second_row_cell = _first_cell(row)
                    row.clear(keep_tail=False)
                    while row.getprevious() is not None:
                        del row.getparent()[0]
            data = rows - 1  # below the header
            if data == 1 and _cell_text(archive, second_row_cell) == NO_ROWS:
                data = 0
            total += data
    return total


def _sheet_parts(archive: zipfile.ZipFile) -> list[tuple[str, str]]:
    """(sheet name, zip entry of its XML) for every sheet, in the workbook's order."""
    from lxml import etree

    targets = {
        rel.get("Id"): rel.get("Target")
        for rel in etree.fromstring(archive.read("xl/_rels/workbook.xml.rels")).iter(_PACKAGE_RELATIONSHIP)
    }
    parts = []
    for sheet in etree.fromstring(archive.read("xl/workbook.xml")).iter(f"{_MAIN}sheet"):
        target = targets[sheet.get(_RELATIONSHIP_ID)]
        parts.append((sheet.get("name"), target.lstrip("/") if target.startswith("/") else f"xl/{target}"))
    return parts


def _first_cell(row: Any) -> tuple[str | None, str | None] | None:
    """A row's first cell as (type, text or shared-string index), kept after the row is cleared."""
    cell = row.find(f"{_MAIN}c")
    if cell is None:
        return None
    kind = cell.get("t")
    if kind == "inlineStr":
        return kind, "".join(t.text or "" for t in cell.iter(f"{_MAIN}t"))
    return kind, cell.findtext(f"{_MAIN}v")


def _cell_text(archive: zipfile.ZipFile, cell: tuple[str | None, str | None] | None) -> str | None:
    """The text of a cell from ``_first_cell``, however it is stored: inline, as a formula's string
    result, or in the shared string table (read only here, for the one cell that needs it)."""
    if cell is None:
        return None
    kind, value = cell
    if kind == "s" and value is not None:
        from lxml import etree

        strings = etree.fromstring(archive.read("xl/sharedStrings.xml")).findall(f"{_MAIN}si")
        return "".join(t.text or "" for t in strings[int(value)].iter(f"{_MAIN}t"))
    return value


def _is_continuation(sheet: str, table_name: str) -> bool:
    base, _, rest = sheet.rpartition(" (")
    return rest.endswith(")") and rest[:-1].isdigit() and table_name.startswith(base)


def count_pdf_rows(path: Path) -> int:
    """The row count the report states in its metadata; reading fails on a damaged file."""
    return read_pdf_back(path, None).record_count


class PdfReadBack(NamedTuple):
    """What a PDF report says of its rows: in its metadata, and in the note on its last page when it
    left rows out (None when it has no such note, or ``stated`` was not asked for)."""

    record_count: int
    rows_in_pdf: int
    rows_left_out: int
    stated: StatedFigures | None

    def consistent(self) -> bool:
        """The metadata and the note agree: a note exactly when rows were left out, with the same
        figures."""
        if self.stated is None:
            return self.rows_left_out == 0 and self.rows_in_pdf == self.record_count
        return self.stated == StatedFigures(self.rows_left_out, self.rows_in_pdf, self.record_count)


def read_pdf_back(path: Path, main_table: str | None) -> PdfReadBack:
    """The row figures of a PDF report: its metadata's, and, with ``main_table`` and when the metadata
    says rows were left out, the note's on the last page (reached through the page tree's last kids,
    so a long report's pages are not all listed). Reading fails on a damaged file.

    pypdf is given the open file, not its path: with a path it reads the whole file into memory first,
    and listing ``reader.pages`` builds an object for every page. On the 1.1 GB, 344,052-page sales
    report of 10M line items that took 67 s and 3.2 GB (the export's peak: 3.6 GB); reading the page
    tree's own count and the metadata through the cross-reference table takes 4.9 s and 358 MB. It
    reads in strict mode, so a file that is cut short or is not a PDF is refused rather than repaired."""
    from pypdf import PdfReader

    with path.open("rb") as file:
        reader = PdfReader(file, strict=True)
        # pypdf types every dictionary value as a PdfObject, which has no items; these are dictionaries.
        pages: Any = reader.trailer["/Root"]["/Pages"]  # type: ignore[index]
        if not pages["/Count"]:
            raise ValueError("PDF has no pages")
        metadata: Mapping[str, Any] = reader.metadata or {}
        keywords = dict(
            part.split("=", 1) for part in str(metadata.get("/Keywords", "")).split() if "=" in part
        )
        record_count = int(keywords["record_count"])
        rows_in_pdf = int(keywords.get("rows_in_pdf", record_count))
        left_out = int(keywords.get("rows_left_out", 0))
        stated = None
        if main_table is not None and left_out:
            stated = stated_figures(_last_page(reader, pages).extract_text(), main_table)
    return PdfReadBack(record_count, rows_in_pdf, left_out, stated)


def _last_page(reader: Any, node: Any) -> Any:
    """The page tree's last leaf, as a page pypdf reads text from."""
    from pypdf import PageObject

    reference = None
    while "/Kids" in node:
        reference = node["/Kids"][-1]
        node = reference.get_object()
    page = PageObject(reader, reference)
    page.update(node)
    return page


ConfigT = TypeVar("ConfigT", bound=ExportConfig)


@dataclass(frozen=True)
class ExportFormat(Generic[ConfigT]):
    name: str  # the asset-key suffix and what a request names
    extension: str  # the file name's ending
    label: str
    content_type: str
    kind: str
    config_type: type[ConfigT]
    render: Callable[[Report, Path, ConfigT, Progress], Written]
    count_rows: Callable[[Path, ConfigT, Report], int]


CSV = ExportFormat(
    "csv",
    "csv",
    "CSV",
    "text/csv; charset=utf-8",
    "csv",
    CsvExportConfig,
    _render_csv,
    lambda path, config, report: count_csv_rows(path, config),
)
XLSX = ExportFormat(
    "xlsx",
    "xlsx",
    "Excel workbook",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "excel",
    XlsxExportConfig,
    _render_xlsx,
    lambda path, config, report: count_xlsx_rows(path, report.main_table.name),
)
PDF = ExportFormat(
    "pdf",
    "pdf",
    "PDF report",
    "application/pdf",
    "pdf",
    PdfExportConfig,
    _render_pdf,
    lambda path, config, report: count_pdf_rows(path),
)

CSV_BUNDLE = ExportFormat(
    BUNDLE,
    f"{BUNDLE}.zip",
    "CSV bundle",
    "application/zip",
    "csv",
    CsvBundleExportConfig,
    _render_csv_bundle,
    lambda path, config, report: count_bundle_rows(path, config, report.main_table.name),
)

FORMATS_BY_NAME: dict[str, ExportFormat] = {fmt.name: fmt for fmt in (CSV, XLSX, PDF, CSV_BUNDLE)}
# Every export the platform offers, in the order of ``catalog.EXPORT_FORMATS``.
EXPORTS: tuple[tuple[str, ExportFormat], ...] = tuple(
    (dataset, FORMATS_BY_NAME[name]) for dataset, names in EXPORT_FORMATS.items() for name in names
)
