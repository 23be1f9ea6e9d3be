"""The sales workbook's native charts: their parts are in the archive, each series refers to the
cells of the chart-data sheet that hold its figures, and the values cached in the chart are the
figures the oracle computes from the source rows; openpyxl opens the workbook with its charts, and
the same report gives the same bytes."""

from __future__ import annotations

import zipfile
from decimal import Decimal
from pathlib import Path
from xml.etree import ElementTree

import pytest
from openpyxl import load_workbook

from export_platform.datasets import DATASETS
from export_platform.render.xlsx import write_workbook
from export_platform.render.xlsx_charts import CHART_DATA_SHEET, NO_CHART_DATA
from export_platform.reports.layouts import build_report
from export_platform.reports.tables import TenantInfo
from export_platform_tests.oracle import SourceOracle
from export_platform_tests.oracle import overview as expected
from export_platform_tests.support.materialize import Materialized
from export_platform_tests.support.seed_plan import MONTH, TENANT

NS = {
    "c": "http://schemas.openxmlformats.org/drawingml/2006/chart",
    "a": "http://schemas.openxmlformats.org/drawingml/2006/main",
}
ACME = TenantInfo(TENANT, "Acme", "America/New_York", "USD")


def workbook_of(materialized: Materialized, dataset: str, path: Path) -> Path:
    frames = {d.name: materialized.frame(d.name).lazy() for d in DATASETS}
    write_workbook(build_report(dataset, frames, ACME, MONTH), path)
    return path


def charts_in(path: Path) -> list[dict]:
    """Each chart part's title and series: name, categories and values, each as reference and cache."""
    charts = []
    with zipfile.ZipFile(path) as archive:
        names = sorted(
            (n for n in archive.namelist() if n.startswith("xl/charts/chart")),
            key=lambda n: int(n.removeprefix("xl/charts/chart").removesuffix(".xml")),
        )
        for name in names:
            root = ElementTree.fromstring(archive.read(name))
            title = "".join(t.text or "" for t in root.find("c:chart/c:title", NS).iter(f"{{{NS['a']}}}t"))
            series = [
                {
                    "name": _reference(ser, "c:tx/c:strRef"),
                    "categories": _reference(ser, "c:cat/c:strRef"),
                    "values": _reference(ser, "c:val/c:numRef"),
                }
                for ser in root.iter(f"{{{NS['c']}}}ser")
            ]
            charts.append({"title": title, "series": series})
    return charts


def _reference(ser: ElementTree.Element, path: str) -> tuple[str, list]:
    """A series' reference (``c:f``) and its cached points in order (numbers as ``Decimal``)."""
    texts = ser.findall(f"{path}/c:strCache/c:pt", NS)
    numbers = ser.findall(f"{path}/c:numCache/c:pt", NS)
    ordered = sorted(texts or numbers, key=lambda p: int(p.get("idx")))
    values = [p.findtext("c:v", namespaces=NS) for p in ordered]
    return ser.findtext(f"{path}/c:f", namespaces=NS), values if texts else [Decimal(v) for v in values]


def cells(workbook, reference: str) -> list:
    sheet, cell_range = reference.rsplit("!", 1)
    assert sheet.strip("'") == CHART_DATA_SHEET  # never the big table sheets
    first, _, last = cell_range.replace("$", "").partition(":")
    rows = workbook[CHART_DATA_SHEET][f"{first}:{last or first}"]
    return [row[0].value for row in rows]


@pytest.mark.parametrize("dataset", ["sales", "customers"])
def test_chart_parts_refer_to_chart_data_and_cache_the_oracles_figures(
    dataset: str, materialized: Materialized, tmp_path: Path
) -> None:
    path = workbook_of(materialized, dataset, tmp_path / f"{dataset}.xlsx")
    _, want = expected.OVERVIEWS[dataset](SourceOracle(materialized.source_url, TENANT), MONTH)
    got = charts_in(path)
    drawn = {title: c for title, c in want.items() if c[0]}  # a chart without categories is a note
    assert [c["title"] for c in got] == list(drawn)
    workbook = load_workbook(path)
    try:
        for chart in got:
            categories, series = drawn[chart["title"]]
            assert [s["name"][1] for s in chart["series"]] == [[name] for name in series]
            for ser, (name, values) in zip(chart["series"], series.items(), strict=True):
                assert ser["categories"][1] == categories
                assert ser["values"][1] == [Decimal(v) for v in values]
                # The references hold those same figures: the chart stays live.
                assert cells(workbook, ser["name"][0]) == [name]
                assert cells(workbook, ser["categories"][0]) == categories
                assert [Decimal(str(v)) for v in cells(workbook, ser["values"][0])] == values
        assert workbook.sheetnames[-1] == CHART_DATA_SHEET
        assert len(workbook["Summary"]._charts) == len(drawn)
    finally:
        workbook.close()
    with zipfile.ZipFile(path) as archive:
        summary = archive.read("xl/worksheets/sheet1.xml").decode()
        assert "<drawing " in summary
        assert "xl/drawings/drawing1.xml" in archive.namelist()
    again = workbook_of(materialized, dataset, tmp_path / f"{dataset}-again.xlsx")
    assert again.read_bytes() == path.read_bytes()


def test_an_empty_month_has_zero_days_and_notes_for_empty_charts(
    tmp_path: Path, materialized: Materialized
) -> None:
    frames = {name: materialized.frame(name).lazy().head(0) for name in ("sales", "sale_items")}
    path = tmp_path / "empty.xlsx"
    write_workbook(build_report("sales", frames, ACME, "2026-02"), path)
    got = {c["title"]: c for c in charts_in(path)}
    assert list(got) == ["Revenue and profit per day"]  # the others have no categories at all
    per_day = got["Revenue and profit per day"]["series"]
    assert len(per_day[0]["categories"][1]) == 28
    assert all(v == 0 for s in per_day for v in s["values"][1])
    workbook = load_workbook(path, read_only=True)
    notes = [row[0] for row in workbook[CHART_DATA_SHEET].iter_rows(values_only=True) if row]
    assert notes.count(NO_CHART_DATA) == 3
    workbook.close()


def test_datasets_without_charts_have_no_chart_sheet(tmp_path: Path, materialized: Materialized) -> None:
    frames = {d.name: materialized.frame(d.name).lazy() for d in DATASETS}
    path = tmp_path / "sale_items.xlsx"
    write_workbook(build_report("sale_items", frames, ACME, MONTH), path)
    assert CHART_DATA_SHEET not in load_workbook(path, read_only=True).sheetnames
    with zipfile.ZipFile(path) as archive:
        assert not [n for n in archive.namelist() if "chart" in n or "drawing" in n]
