"""A PDF report's first page: the overview's KPI tiles, then its charts as vector graphics.

The plots (bars, lines, axes, gridlines, value labels) are reportlab's graphics package drawn onto
the report's own canvas; every text that may be a user's (chart titles, category labels, series
names, tile labels) is drawn with the report's fonts through ``pdf_text``, so a product named in CJK,
Arabic or with accents reads on this page as it does in the tables. Bar charts lie on their side,
categories down the left in reading direction, so a long product name stays level and legible; a
line chart runs over the period's days with as many day labels as fit.

The page draws what the report holds and computes nothing: a chart with no categories shows its title
and ``NO_CHART_DATA``; values may be negative (a loss), zero everywhere (an empty month) or a single
one (one product, one day).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from reportlab.graphics import renderPDF
from reportlab.graphics.charts.barcharts import HorizontalBarChart
from reportlab.graphics.charts.linecharts import HorizontalLineChart
from reportlab.graphics.shapes import Drawing
from reportlab.lib.colors import Color, HexColor
from reportlab.pdfgen.canvas import Canvas

from export_platform.render.charts import NO_CHART_DATA, Chart, Tile
from export_platform.render.pdf_text import FontSet, display_line, format_value
from export_platform.render.report import Report

SERIES_COLORS = tuple(
    HexColor(c) for c in ("#2E86C1", "#E67E22", "#27AE60", "#8E44AD", "#C0392B", "#7F8C8D", "#F1C40F")
)
TILE_FILL = HexColor("#F2F4F6")
GRID_COLOR = HexColor("#D5D8DC")
TILE_HEIGHT = 58.0
GAP = 10.0
TITLE_SIZE, LABEL_SIZE, AXIS_SIZE = 8.5, 6.5, 6.0
TILES_PER_ROW = 6
BAR_THICKNESS, BAR_GAP = 11.0, 8.0  # the most a bar and the space between categories take
AXIS_FONT = "EP-Sans"  # the regular chain's first font: axis figures are ASCII digits


@dataclass(frozen=True)
class Box:
    x: float
    y: float  # the bottom edge
    width: float
    height: float

    @property
    def top(self) -> float:
        return self.y + self.height


def has_overview_page(report: Report, page_budget: int) -> bool:
    """Whether the PDF starts with an overview page: when the report has tiles or charts, and the page
    budget is not a single page (that page holds the summary and the note on rows left out)."""
    return bool(report.tiles or report.charts) and page_budget != 1


def draw_overview(canvas: Canvas, report: Report, box: Box, regular: FontSet, bold: FontSet) -> None:
    """The overview within ``box`` of the page the canvas is on: a heading, the tiles, the charts."""
    y = box.top - 14
    bold.draw(canvas, box.x, y, display_line(f"Overview: {report.title} — {report.period}"), 13)
    y -= 8
    rows = [report.tiles[i : i + TILES_PER_ROW] for i in range(0, len(report.tiles), TILES_PER_ROW)]
    for row in rows:
        y -= TILE_HEIGHT
        width = (box.width - GAP * (len(row) - 1)) / len(row)
        for index, tile in enumerate(row):
            _tile(canvas, tile, Box(box.x + index * (width + GAP), y, width, TILE_HEIGHT), regular, bold)
        y -= GAP / 2
    charts = report.charts
    if not charts:
        return
    columns = 1 if len(charts) == 1 else 2
    lines = math.ceil(len(charts) / columns)
    height = (y - GAP - box.y - GAP * (lines - 1)) / lines
    width = (box.width - GAP * (columns - 1)) / columns
    for index, chart in enumerate(charts):
        line, column = divmod(index, columns)
        top = y - GAP - line * (height + GAP)
        _chart(canvas, chart, Box(box.x + column * (width + GAP), top - height, width, height), regular, bold)


def _tile(canvas: Canvas, tile: Tile, box: Box, regular: FontSet, bold: FontSet) -> None:
    canvas.setFillColor(TILE_FILL)
    canvas.rect(box.x, box.y, box.width, box.height, stroke=0, fill=1)
    canvas.setFillColorRGB(0, 0, 0)
    inner = box.width - 10
    regular.draw(canvas, box.x + 5, box.top - 11, _fit(tile.label, inner, 7, regular), 7)
    value = format_value(tile.value, tile.kind) or "–"
    bold.draw(canvas, box.x + 5, box.top - 27, _fit(value, inner, 13, bold), 13)
    for number, change in enumerate(tile.changes[:3]):
        regular.draw(canvas, box.x + 5, box.top - 39 - number * 8, _fit(change, inner, 6.5, regular), 6.5)


def _chart(canvas: Canvas, chart: Chart, box: Box, regular: FontSet, bold: FontSet) -> None:
    title_y = box.top - TITLE_SIZE
    bold.draw(canvas, box.x, title_y, _fit(chart.title, box.width * 0.6, TITLE_SIZE, bold), TITLE_SIZE)
    if chart.is_empty or not chart.series:  # no categories, or none with a value (a month without events)
        regular.draw(canvas, box.x, title_y - 16, NO_CHART_DATA, 7.5)
        return
    room = box.width - bold.width(chart.title, TITLE_SIZE) - 12
    _legend(canvas, chart, box.x + box.width, title_y, max(room, box.width * 0.4), regular)
    plot = Box(box.x, box.y, box.width, box.height - TITLE_SIZE - 8)
    if chart.style == "line":
        _line_chart(canvas, chart, plot, regular)
    else:
        _bar_chart(canvas, chart, plot, regular)


def _legend(canvas: Canvas, chart: Chart, right: float, y: float, room: float, font: FontSet) -> None:
    """Each series' colour and name, right-aligned on the title's line, as many as fit in ``room``."""
    x = right
    for index, series in reversed(list(enumerate(chart.series[: len(SERIES_COLORS) * 3]))):
        name = _fit(series.name, room / 2, LABEL_SIZE, font)
        width = font.width(name, LABEL_SIZE) + 12
        if right - (x - width) > room:
            break
        x -= width
        canvas.setFillColor(_color(index))
        canvas.rect(x, y, 6, 6, stroke=0, fill=1)
        canvas.setFillColorRGB(0, 0, 0)
        font.draw(canvas, x + 8, y, name, LABEL_SIZE)


def _bar_chart(canvas: Canvas, chart: Chart, box: Box, font: FontSet) -> None:
    """Horizontal bars, the first category at the top, its label left of it."""
    labels = [display_line(_cut(c)) for c in chart.categories]
    label_width = min(box.width * 0.35, max(font.width(label, LABEL_SIZE) for label in labels) + 6)
    # A few categories get bars of a readable thickness at the top, not the whole height.
    height = min(box.height - 14, len(labels) * (BAR_THICKNESS * len(chart.series) + BAR_GAP))
    plot = Box(box.x + label_width, box.top - height, box.width - label_width - 12, height)
    bars = HorizontalBarChart()
    bars.x, bars.y, bars.width, bars.height = 0, 0, plot.width, plot.height
    bars.data = _data(chart)[::-1]  # reportlab stacks a group's bars upwards: the first series on top
    bars.categoryAxis.categoryNames = list(chart.categories)
    bars.categoryAxis.visibleLabels = 0
    bars.categoryAxis.reverseDirection = 1
    bars.categoryAxis.visibleTicks = 0
    _value_axis(bars.valueAxis, chart)
    bars.valueAxis.visibleGrid = 1
    bars.barSpacing, bars.groupSpacing = 0.5, 3
    for index in range(len(chart.series)):
        bars.bars[index].fillColor = _color(len(chart.series) - 1 - index)
        bars.bars[index].strokeColor = None
    _draw(canvas, bars, plot)
    slot = plot.height / len(labels)
    canvas.setStrokeColor(GRID_COLOR)
    canvas.setLineWidth(0.3)
    for index in range(1, len(labels)):  # where one category's group of bars ends
        canvas.line(
            plot.x - label_width, plot.top - index * slot, plot.x + plot.width, plot.top - index * slot
        )
    for index, label in enumerate(labels):
        y = plot.top - (index + 0.5) * slot - LABEL_SIZE / 3
        text = _fit(label, label_width - 6, LABEL_SIZE, font)
        font.draw(canvas, plot.x - 4 - font.width(text, LABEL_SIZE), y, text, LABEL_SIZE)


def _line_chart(canvas: Canvas, chart: Chart, box: Box, font: FontSet) -> None:
    """One line per series over the categories (the period's days), with as many of their labels,
    evenly spaced, as fit under the plot."""
    left = 44.0
    plot = Box(box.x + left, box.y + 12, box.width - left - 8, box.height - 14)
    lines = HorizontalLineChart()
    lines.x, lines.y, lines.width, lines.height = 0, 0, plot.width, plot.height
    lines.data = _data(chart)
    lines.categoryAxis.categoryNames = list(chart.categories)
    lines.categoryAxis.visibleLabels = 0
    lines.joinedLines = 1
    lines.categoryAxis.visibleTicks = 0
    _value_axis(lines.valueAxis, chart)
    lines.valueAxis.visibleGrid = 1
    for index in range(len(chart.series)):
        lines.lines[index].strokeColor = _color(index)
        lines.lines[index].strokeWidth = 1.2
    _draw(canvas, lines, plot)
    labels = [display_line(_cut(c)) for c in chart.categories]
    slot = plot.width / len(labels)
    widest = max(font.width(label, AXIS_SIZE) for label in labels) + 6
    every = max(1, math.ceil(widest / slot))
    for index in range(0, len(labels), every):
        text = labels[index]
        x = plot.x + (index + 0.5) * slot - font.width(text, AXIS_SIZE) / 2
        font.draw(canvas, x, plot.y - 9, text, AXIS_SIZE)


def _data(chart: Chart) -> list[list[float | None]]:
    return [[None if v is None else float(v) for v in series.values] for series in chart.series]


def _value_axis(axis, chart: Chart) -> None:  # noqa: ANN001 - reportlab's value axes share no base type
    """A value axis over every value and 0 (bars start at 0; a loss goes below it), never a span of
    nothing (an empty month's zeros)."""
    values = [float(v) for s in chart.series for v in s.values if v is not None]
    low, high = min([0.0, *values]), max([0.0, *values])
    if low == high:
        high = low + 1
    axis.valueMin, axis.valueMax = low, high
    axis.maximumTicks = 6
    axis.labels.fontName, axis.labels.fontSize = AXIS_FONT, AXIS_SIZE
    axis.labelTextFormat = _axis_figure
    axis.gridStrokeColor = GRID_COLOR
    axis.gridStrokeWidth = 0.3


def _axis_figure(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


def _draw(canvas: Canvas, chart: HorizontalBarChart | HorizontalLineChart, box: Box) -> None:
    drawing = Drawing(box.width, box.height)
    drawing.add(chart)
    renderPDF.draw(drawing, canvas, box.x, box.y)


def _color(index: int) -> Color:
    return SERIES_COLORS[index % len(SERIES_COLORS)]


def _cut(text: str, limit: int = 40) -> str:
    """A category as a label: one line, at most ``limit`` characters (before joining and ordering)."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _fit(text: str, width: float, size: float, font: FontSet) -> str:
    """``text`` (already in display order) shortened with an ellipsis until it fits ``width``."""
    if font.width(text, size) <= width:
        return text
    while text and font.width(text + "…", size) > width:
        text = text[:-1]
    return text + "…"
