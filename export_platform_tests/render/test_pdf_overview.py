"""A PDF report's overview page: the KPI tiles and the charts come first, their labels (CJK, Arabic,
accented names) read back as the text the report holds, the page renders through poppler with ink in
every chart's plot, and "Page X of Y" counts the overview page; the edge cases (a chart with no
categories, a loss, a single category, a figure with no earlier month) draw sensibly."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from pypdf import PdfReader

from export_platform.render.charts import NO_CHART_DATA, Chart, Series, Tile
from export_platform.render.pdf import BOTTOM, MARGIN, PAGE_HEIGHT, PAGE_WIDTH, TOP, write_pdf
from export_platform.render.pdf_overview import SERIES_COLORS
from export_platform.render.report import Kind, Report, SummaryItem, Table
from export_platform.reports.overview import NO_DATA
from export_platform_tests.support.pdf_reading import drawn_texts, page_footer

PRODUCTS = ("茶 Green tea", "قهوة عربية", "Crème brûlée", "Zoë's Ñandú")
DAYS = tuple((dt.date(2026, 10, 1) + dt.timedelta(days=n)).isoformat() for n in range(31))
ONE_DAY = tuple(Decimal("125.50") if day == "2026-10-17" else Decimal("0.00") for day in DAYS)
CHARTS = (
    Chart(
        "Revenue and profit per day",
        "line",
        DAYS,
        (Series("Revenue", ONE_DAY), Series("Profit", tuple(-v for v in ONE_DAY))),
        Kind.MONEY,
    ),
    Chart(
        "Top 10 products by revenue",
        "bar",
        PRODUCTS,
        (Series("Revenue", (Decimal("900.00"), Decimal("450.25"), Decimal("-30.00"), Decimal("5.00"))),),
        Kind.MONEY,
    ),
    Chart(
        "Revenue by payment method", "bar", ("cash",), (Series("Revenue", (Decimal("10.00"),)),), Kind.MONEY
    ),
    Chart("Items to reorder", "bar", (), (Series("Units short", ()),), Kind.INTEGER),
)
TILES = (
    Tile("Revenue", Decimal("1325.75"), Kind.MONEY, ("vs 2026-09: +12.50%", f"vs 2025-10: {NO_DATA}")),
    Tile("Profit", Decimal("-30.00"), Kind.MONEY, ("vs 2026-09: -150.00%", f"vs 2025-10: {NO_DATA}")),
    Tile("Margin %", None, Kind.PERCENT, ("vs 2026-09: n/a", f"vs 2025-10: {NO_DATA}")),
)


def report(tiles: tuple[Tile, ...] = TILES, charts: tuple[Chart, ...] = CHARTS, rows: int = 40) -> Report:
    frame = pl.LazyFrame({"product": [PRODUCTS[n % 4] for n in range(rows)], "quantity": list(range(rows))})
    table = Table.of("Sales", frame, {}, ["product", "quantity"])
    return Report(
        "sales", "Sales", "acme", "Acme", "2026-10", "UTC", "USD",
        (SummaryItem("Rows", rows, Kind.INTEGER),), (table,), charts=charts, tiles=tiles,
    )  # fmt: skip


def test_the_first_page_is_the_overview_and_the_tables_follow(tmp_path: Path) -> None:
    path = tmp_path / "overview.pdf"
    written = write_pdf(report(), path, page_budget=0)
    pages = PdfReader(path).pages
    assert written.pages == len(pages) >= 2 and written.rows == {"Sales": 40}
    first = pages[0].extract_text()
    for chart in CHARTS:
        assert chart.title in first
    for tile in TILES:
        assert tile.label in first
        assert all(change in first for change in tile.changes)
    assert "1,325.75" in first and "-30.00" in first
    assert NO_CHART_DATA in first  # the chart without categories says so
    # Labels in every script the tables draw, drawn with the report's fonts, in logical order.
    drawn = " ".join(text.text for text in drawn_texts(pages[0]))
    for label in ("茶", "Green tea", "Crème brûlée", "Zoë's Ñandú", "cash", "2026-10-01"):
        assert label in drawn, label
    assert all(0 not in text.glyphs for text in drawn_texts(pages[0]))  # no character drawn as a box
    assert "Sales (40 rows)" not in first and "Sales (40 rows)" in pages[1].extract_text()
    assert [page_footer(page) for page in pages] == [(n, len(pages)) for n in range(1, len(pages) + 1)]


def test_arabic_labels_are_drawn_joined_as_the_tables_draw_them(tmp_path: Path) -> None:
    from export_platform.render.pdf import display_line

    path = tmp_path / "arabic.pdf"
    write_pdf(report(), path, page_budget=0)
    overview, table = (drawn_texts(page) for page in PdfReader(path).pages[:2])
    joined = display_line(PRODUCTS[1])
    assert any(text.text == joined for text in overview)
    assert any(text.text == joined for text in table)


def rendered(path: Path, tmp_path: Path) -> np.ndarray:
    """The first page as poppler draws it, RGB at 50 dpi (1 pixel per 1.44 points)."""
    assert shutil.which("pdftoppm"), "pdftoppm missing: scripts/ensure-poppler.sh installs poppler-utils"
    subprocess.run(
        ["pdftoppm", "-f", "1", "-l", "1", "-r", "50", "-singlefile", str(path), str(tmp_path / "page")],
        check=True,
        capture_output=True,
    )
    data = (tmp_path / "page.ppm").read_bytes()
    magic, width, height, depth, pixels = data.split(maxsplit=4)
    assert magic == b"P6" and depth == b"255"
    return np.frombuffer(pixels, dtype=np.uint8).reshape(int(height), int(width), 3)


def series_ink(image: np.ndarray, x0: float, y0: float, x1: float, y1: float) -> int:
    """Pixels in the box (page points, origin bottom left) close to a series colour."""
    scale = image.shape[1] / PAGE_WIDTH
    rows = slice(int((PAGE_HEIGHT - y1) * scale), int((PAGE_HEIGHT - y0) * scale))
    part = image[rows, int(x0 * scale) : int(x1 * scale)].astype(int)
    colours = [np.array([c.red, c.green, c.blue]) * 255 for c in SERIES_COLORS[:2]]
    return int(sum((np.abs(part - c).sum(axis=2) < 60).sum() for c in colours))


def test_the_overview_renders_with_ink_in_every_plot_and_none_for_the_empty_chart(tmp_path: Path) -> None:
    path = tmp_path / "overview.pdf"
    write_pdf(report(), path, page_budget=0)
    image = rendered(path, tmp_path)
    assert (image < 250).any(axis=2).mean() > 0.02  # not a blank page
    # The charts sit in a 2 x 2 grid below the tiles: quadrants of the area under the tiles.
    middle_x, charts_top = PAGE_WIDTH / 2, TOP - 100
    middle_y = (charts_top + BOTTOM) / 2
    quadrants = [
        (MARGIN, middle_y, middle_x, charts_top),
        (middle_x, middle_y, PAGE_WIDTH - MARGIN, charts_top),
        (MARGIN, BOTTOM, middle_x, middle_y),
        (middle_x, BOTTOM, PAGE_WIDTH - MARGIN, middle_y),
    ]
    ink = [series_ink(image, *quadrant) for quadrant in quadrants]
    assert all(pixels > 15 for pixels in ink[:3]), ink
    assert ink[3] == 0, ink  # "no data": a note, not a plot


def test_an_empty_month_draws_flat_charts_and_dashes(tmp_path: Path) -> None:
    zeros = (
        Chart("Revenue per day", "line", DAYS, (Series("Revenue", (Decimal("0.00"),) * 31),), Kind.MONEY),
        Chart("Top 10 products", "bar", (), (Series("Revenue", ()),), Kind.MONEY),
        Chart("Events per day by category", "line", DAYS, (), Kind.INTEGER),  # no category had events
    )
    tiles = (Tile("Revenue", Decimal("0.00"), Kind.MONEY, (f"vs 2026-09: {NO_DATA}",)),)
    path = tmp_path / "empty.pdf"
    written = write_pdf(report(tiles, zeros, rows=0), path, page_budget=0)
    text = PdfReader(path).pages[0].extract_text()
    assert written.pages == 2 and "Revenue per day" in text and text.count(NO_CHART_DATA) == 2
    assert "0.00" in text and f"vs 2026-09: {NO_DATA}" in text
    assert (rendered(path, tmp_path) < 250).any(axis=2).mean() > 0.01


def test_a_report_without_an_overview_has_no_overview_page(tmp_path: Path) -> None:
    path = tmp_path / "plain.pdf"
    write_pdf(report((), ()), path, page_budget=0)
    assert "Sales (40 rows)" in PdfReader(path).pages[0].extract_text()


def test_a_one_page_budget_keeps_its_page_for_the_summary_and_the_note(tmp_path: Path) -> None:
    path = tmp_path / "one.pdf"
    written = write_pdf(report(rows=400), path, page_budget=1)
    text = PdfReader(path).pages[0].extract_text()
    assert written.pages == 1 and "Rows left out of this report" in text
    assert "Top 10 products by revenue" not in text


@pytest.mark.parametrize("budget", [2, 3])
def test_the_overview_page_counts_in_the_page_budget(tmp_path: Path, budget: int) -> None:
    path = tmp_path / "budget.pdf"
    written = write_pdf(report(rows=2_000), path, page_budget=budget)
    pages = PdfReader(path).pages
    assert written.pages == len(pages) == budget
    assert "Top 10 products by revenue" in pages[0].extract_text()
    assert "Rows left out of this report" in pages[-1].extract_text()
