"""Native Excel charts on a workbook's Summary sheet, drawn from a small "Chart Data" sheet.

Each chart's categories and series are written as a block of cells on the chart-data sheet (a title
row, a header row naming the series, one row per category), and the chart on the Summary sheet
refers to those cells, so it stays live: edit a figure and Excel, LibreOffice or Google Sheets redraw
it. The charts never refer to the table sheets, so the fast sheet writer does no work for them.

Each reference also carries its cached values (what a reader shows before it recalculates, and all
that a viewer without a calculation engine shows): the same figures as the cells. openpyxl's chart
module writes the chart and drawing parts; their XML depends only on the charts, so the bytes stay
deterministic. A chart with no categories (a top 10 of an empty month) gets its title and a note on
the chart-data sheet and no plot, rather than an empty axis.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.chart import BarChart, LineChart
from openpyxl.chart.data_source import (
    AxDataSource,
    NumData,
    NumDataSource,
    NumRef,
    NumVal,
    StrData,
    StrRef,
    StrVal,
)
from openpyxl.chart.series import Series as ChartSeries
from openpyxl.chart.series import SeriesLabel
from openpyxl.descriptors import Integer
from openpyxl.descriptors.nested import NestedText
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter, quote_sheetname
from openpyxl.worksheet.worksheet import Worksheet

from export_platform.render.charts import NO_CHART_DATA, Chart
from export_platform.render.report import Kind
from export_platform.render.xlsx_sheet import CONTROL_CHARACTER_MARK, ILLEGAL_XML_CHARACTERS

CHART_DATA_SHEET = "Chart Data"
_ILLEGAL_XML_CHARACTERS = re.compile(ILLEGAL_XML_CHARACTERS)
CHART_COLUMN = "D"  # on the Summary sheet, right of its two columns of figures
CHART_ROWS = 16  # rows of the Summary sheet each chart takes, its height and a gap
CHART_WIDTH_CM, CHART_HEIGHT_CM = 18, 7.5
SERIES_COLUMN_WIDTH = 16  # a month's revenue in money format (1,234,567.89) shows whole, not as ###


@dataclass(frozen=True)
class ChartBlock:
    """Where one chart's cells are on the chart-data sheet: the header row, then one row per category."""

    chart: Chart
    header_row: int

    @property
    def first_row(self) -> int:
        return self.header_row + 1

    @property
    def last_row(self) -> int:
        return self.header_row + len(self.chart.categories)

    def cells(self, column: int) -> str:
        letter = get_column_letter(column)
        sheet = quote_sheetname(CHART_DATA_SHEET)
        return f"{sheet}!${letter}${self.first_row}:${letter}${self.last_row}"

    def name_cell(self, column: int) -> str:
        return f"{quote_sheetname(CHART_DATA_SHEET)}!${get_column_letter(column)}${self.header_row}"


def write_chart_data(
    workbook: Workbook, charts: Sequence[Chart], number_formats: Mapping[Kind, str]
) -> list[ChartBlock]:
    """The chart-data sheet, appended to ``workbook``; returns where each chart's cells are."""
    sheet = workbook.create_sheet(CHART_DATA_SHEET)
    sheet.column_dimensions["A"].width = 36
    for column in range(2, 2 + max((len(chart.series) for chart in charts), default=0)):
        sheet.column_dimensions[get_column_letter(column)].width = SERIES_COLUMN_WIDTH
    blocks: list[ChartBlock] = []
    row = 1
    for chart in charts:
        sheet.append([_cell(sheet, chart.title, font=Font(bold=True))])
        if chart.is_empty:
            sheet.append([_cell(sheet, NO_CHART_DATA)])
            sheet.append([])
            row += 3
            continue
        sheet.append([_cell(sheet, ""), *(_cell(sheet, s.name, font=Font(bold=True)) for s in chart.series)])
        blocks.append(ChartBlock(chart, row + 1))
        number_format = number_formats.get(chart.kind)
        for position, category in enumerate(chart.categories):
            values = (_cell(sheet, s.values[position], number_format=number_format) for s in chart.series)
            sheet.append([_cell(sheet, category), *values])
        sheet.append([])
        row += len(chart.categories) + 3
    return blocks


def add_charts(summary: Worksheet, blocks: Sequence[ChartBlock], number_formats: Mapping[Kind, str]) -> None:
    """One native chart per block, stacked down the Summary sheet right of its figures."""
    for position, block in enumerate(blocks):
        anchor = f"{CHART_COLUMN}{2 + position * CHART_ROWS}"
        summary.add_chart(_chart(block, number_formats.get(block.chart.kind)), anchor)


def _chart(block: ChartBlock, number_format: str | None) -> BarChart | LineChart:
    chart = LineChart() if block.chart.style == "line" else BarChart()
    if isinstance(chart, BarChart):
        chart.type = "col"
    chart.title = block.chart.title
    chart.width, chart.height = CHART_WIDTH_CM, CHART_HEIGHT_CM
    chart.y_axis.numFmt = number_format or "General"
    chart.y_axis.delete = chart.x_axis.delete = False  # openpyxl hides both axes by default
    categories = AxDataSource(strRef=StrRef(f=block.cells(1), strCache=_texts(block.chart.categories)))
    for index, series in enumerate(block.chart.series):
        column = index + 2
        values = NumData(
            formatCode=number_format,
            ptCount=len(series.values),
            pt=[_ExactNumVal(idx=i, v=str(v)) for i, v in enumerate(series.values) if v is not None],
        )
        chart.series.append(
            ChartSeries(
                idx=index,
                order=index,
                tx=SeriesLabel(strRef=StrRef(f=block.name_cell(column), strCache=_texts([series.name]))),
                cat=categories,
                val=NumDataSource(numRef=NumRef(f=block.cells(column), numCache=values)),
            )
        )
    return chart


class _ExactNumVal(NumVal):
    """A cached chart value written with its exact digits: openpyxl's own writes 16 significant
    digits of a float (9716.69 came out as 9716.690000000001)."""

    idx = Integer()
    v = NestedText(expected_type=str)


def _texts(texts: Sequence[str]) -> StrData:
    return StrData(ptCount=len(texts), pt=[StrVal(idx=i, v=_clean(t)) for i, t in enumerate(texts)])


def _clean(text: str) -> str:
    """Text XML 1.0 can carry, as the table sheets write it (a category may be any product's name)."""
    return _ILLEGAL_XML_CHARACTERS.sub(CONTROL_CHARACTER_MARK, text)


def _cell(
    sheet: Worksheet, value: object, *, font: Font | None = None, number_format: str | None = None
) -> WriteOnlyCell:
    cell = WriteOnlyCell(sheet, value=_clean(value) if isinstance(value, str) else value)
    if isinstance(value, str):
        cell.data_type = "s"  # a category is never a formula, whatever it starts with
    if font is not None:
        cell.font = font
    if number_format is not None and value is not None:
        cell.number_format = number_format
    return cell
