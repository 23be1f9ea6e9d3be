"""Each dataset's overview (headline figures, their change against earlier months, every chart's
series) equals what the oracle computes from the source rows, on SQLite and PostgreSQL; the edge
cases (an empty month, one day, one product, negative profit, a first month) give sensible figures."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
import polars as pl
import pytest

from export_platform.datasets.headlines import HEADLINES
from export_platform.render.report import Kind
from export_platform.reports.overview import (
    NO_DATA,
    Overview,
    build_overview,
    change,
    months_compared,
    report_overview,
)
from export_platform.reports.overview_charts import sales_charts
from export_platform.storage.earlier_partitions import stored_partition
from export_platform.storage.object_store import object_store
from export_platform_tests.oracle import SourceOracle
from export_platform_tests.oracle import overview as expected
from export_platform_tests.support.materialize import materialize_datasets
from export_platform_tests.support.seed_plan import MONTH, TENANT

PREVIOUS = "2026-09"  # the seed's first month: nothing before it


@pytest.fixture(scope="module")
def two_months(source_url: str, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """acme's September and October datasets in one artifact root, and October's materialization."""
    root = tmp_path_factory.mktemp("overview-artifacts")
    results = {}
    for month in (PREVIOUS, MONTH):
        result = materialize_datasets(source_url, str(root), f"{month}|{TENANT}")
        assert result.success, [e.message for e in result.all_events if e.is_failure]
        results[month] = result
    return root, results


@pytest.fixture(scope="module")
def oracle(source_url: str) -> SourceOracle:
    return SourceOracle(source_url, TENANT)


def overview_of(root: Path, dataset: str, month: str) -> Overview:
    store = object_store(str(root))
    frames = {
        name: frame
        for name in ("sales", "sale_items", "customers", "inventory", "audit_log", "invoices", "accounts")
        if (frame := stored_partition(store, TENANT, name, month)) is not None
    }
    earlier = [stored_partition(store, TENANT, dataset, m) for m in months_compared(month)]
    return build_overview(dataset, frames, month, *earlier)


def charts_of(overview: Overview) -> dict:
    return {
        chart.title: (list(chart.categories), {s.name: list(s.values) for s in chart.series})
        for chart in overview.charts
    }


@pytest.mark.parametrize("dataset", sorted(expected.OVERVIEWS))
def test_overview_equals_the_figures_of_the_source_rows(
    dataset: str, two_months: tuple[Path, dict], oracle: SourceOracle
) -> None:
    root, _ = two_months
    overview = overview_of(root, dataset, MONTH)
    figures, charts = expected.OVERVIEWS[dataset](oracle, MONTH)
    earlier, _ = expected.OVERVIEWS[dataset](oracle, PREVIOUS)
    assert {k.name: k.value for k in overview.kpis} == figures
    assert charts_of(overview) == charts
    assert any(values for _, series in charts.values() for values in series.values() if any(values))
    for kpi in overview.kpis:
        points = kpi.kind is Kind.PERCENT
        assert kpi.month_ago.month == PREVIOUS and kpi.month_ago.available
        assert kpi.month_ago.value == earlier[kpi.name]
        assert kpi.month_ago.change == expected.change(figures[kpi.name], earlier[kpi.name], points)
        # No partition a year earlier: said so, with no figure.
        assert kpi.year_ago.month == "2025-10" and not kpi.year_ago.available
        assert kpi.year_ago.value is None and kpi.year_ago.change_text == NO_DATA


def test_sales_changed_between_the_two_months(two_months: tuple[Path, dict]) -> None:
    """The comparison is not vacuous: the seed's two months differ, so the changes are figures."""
    root, _ = two_months
    revenue = next(k for k in overview_of(root, "sales", MONTH).kpis if k.name == "revenue")
    assert revenue.month_ago.change is not None and revenue.month_ago.change != 0
    assert revenue.month_ago.change_text.startswith(("+", "-"))


def test_a_first_month_has_no_previous_month(two_months: tuple[Path, dict], oracle: SourceOracle) -> None:
    root, _ = two_months
    overview = overview_of(root, "sales", PREVIOUS)
    figures, charts = expected.sales(oracle, PREVIOUS)
    assert {k.name: k.value for k in overview.kpis} == figures
    assert charts_of(overview) == charts
    assert all(not k.month_ago.available and k.month_ago.change_text == NO_DATA for k in overview.kpis)


def test_each_dataset_materialization_records_its_headline_figures(
    two_months: tuple[Path, dict], oracle: SourceOracle
) -> None:
    _, results = two_months
    events = {
        e.asset_key.to_user_string(): e.materialization.metadata
        for e in results[MONTH].get_asset_materialization_events()
    }
    for dataset, compute in expected.OVERVIEWS.items():
        figures, _ = compute(oracle, MONTH)
        metadata = events[dataset]
        for name, value in figures.items():
            recorded = metadata[name]
            if isinstance(value, int):
                assert recorded == dg.MetadataValue.int(value), (dataset, name)
            else:
                assert isinstance(recorded, dg.FloatMetadataValue) and recorded.value == float(value)
    assert set(HEADLINES) == set(expected.OVERVIEWS)
    assert not {"revenue", "events"} & set(events["sale_items"])


def test_the_change_rule() -> None:
    money = Kind.MONEY
    assert change(money, Decimal("110.00"), Decimal("100.00")) == Decimal("10.00")
    assert change(money, Decimal("1.00"), Decimal("3.00")) == Decimal("-66.67")
    assert change(money, Decimal("400.02"), Decimal("400.00")) == Decimal("0.01")  # 0.005: half away
    assert change(money, Decimal("399.98"), Decimal("400.00")) == Decimal("-0.01")
    assert change(money, Decimal("-50.00"), Decimal("-100.00")) == Decimal("50.00")  # a loss halved
    assert change(money, Decimal("5.00"), Decimal("0.00")) is None
    assert change(Kind.INTEGER, 3, 2) == Decimal("50.00")
    assert change(Kind.PERCENT, Decimal("12.50"), Decimal("20.25")) == Decimal("-7.75")  # points
    assert change(Kind.PERCENT, None, Decimal("20.25")) is None


ZONED = pl.Datetime("us", "America/New_York")


def sales_frames(rows: list[dict], lines: list[dict]) -> dict[str, pl.LazyFrame]:
    """Just the columns the sales overview reads, typed as the datasets type them."""
    sale_schema = {
        "sold_at": ZONED,
        "status": pl.String,
        "payment_method": pl.String,
        "storefront": pl.String,
        "revenue": pl.Decimal(18, 2),
        "profit": pl.Decimal(18, 2),
    }
    line_schema = {"status": pl.String, "product": pl.String, "revenue": pl.Decimal(18, 2)}
    return {
        "sales": pl.LazyFrame(rows, schema=sale_schema),
        "sale_items": pl.LazyFrame(lines, schema=line_schema),
    }


def test_an_empty_month_has_every_day_at_zero_and_no_margin() -> None:
    overview = build_overview("sales", sales_frames([], []), "2026-02", None, None)
    kpis = {k.name: k.value for k in overview.kpis}
    assert kpis == {
        "completed_sales": 0,
        "revenue": Decimal("0.00"),
        "profit": Decimal("0.00"),
        "margin_pct": None,
    }
    charts = {c.title: c for c in overview.charts}
    per_day = charts["Revenue and profit per day"]
    assert len(per_day.categories) == 28 and per_day.categories[0] == "2026-02-01"
    assert all(v == 0 for s in per_day.series for v in s.values)
    assert charts["Top 10 products by revenue"].is_empty
    assert charts["Revenue by payment method"].is_empty


def test_one_day_one_product_and_a_loss() -> None:
    import datetime as dt
    from zoneinfo import ZoneInfo

    late = dt.datetime(2026, 10, 31, 23, 30, tzinfo=ZoneInfo("America/New_York"))  # 1 November in UTC
    sales = [
        {
            "sold_at": late,
            "status": "completed",
            "payment_method": "cash",
            "storefront": "Main",
            "revenue": Decimal("10.00"),
            "profit": Decimal("-2.50"),
        },
        {
            "sold_at": late,
            "status": "refunded",
            "payment_method": "card",
            "storefront": "Main",
            "revenue": Decimal("0.00"),
            "profit": Decimal("0.00"),
        },
    ]
    lines = [
        {"status": "completed", "product": "Tea", "revenue": Decimal("10.00")},
        {"status": "refunded", "product": "Tea", "revenue": Decimal("0.00")},
    ]
    earlier = sales_frames(sales[:1], [])["sales"].with_columns(
        pl.lit(Decimal("5.00")).cast(pl.Decimal(18, 2)).alias("profit")
    )
    overview = build_overview("sales", sales_frames(sales, lines), "2026-10", earlier, None)
    kpis = {k.name: k for k in overview.kpis}
    assert kpis["margin_pct"].value == Decimal("-25.00")
    assert kpis["margin_pct"].month_ago.change == Decimal("-75.00")  # from 50.00% to -25.00%: points
    assert kpis["profit"].month_ago.change == Decimal("-150.00")
    assert kpis["revenue"].month_ago.change == Decimal("0.00")
    charts = {c.title: c for c in overview.charts}
    per_day = charts["Revenue and profit per day"]
    values = dict(zip(per_day.categories, per_day.series[0].values, strict=True))
    assert values["2026-10-31"] == Decimal("10.00") and sum(values.values()) == Decimal("10.00")
    assert per_day.series[1].values[-1] == Decimal("-2.50")
    top = charts["Top 10 products by revenue"]
    assert top.categories == ("Tea",) and top.series[0].values == (Decimal("10.00"),)
    methods = charts["Revenue by payment method"]  # the refunded card sale earned nothing
    assert methods.categories == ("cash",)


def test_an_adhoc_period_charts_the_days_asked() -> None:
    """An ad-hoc export names its period by days; its per-day chart spans exactly those days."""
    charts = sales_charts(sales_frames([], []), "2026-10-30 to 2026-11-02")
    assert charts[0].categories == ("2026-10-30", "2026-10-31", "2026-11-01", "2026-11-02")


def test_tiles_word_each_comparison_and_an_adhoc_period_has_none() -> None:
    """What a report's tiles say: the change in percent (points for the margin), "n/a" where the rule
    gives none, "no data" without the earlier partition; an ad-hoc run of days compares nothing."""
    sale = {
        "sold_at": dt.datetime(2026, 10, 5, 12, tzinfo=ZoneInfo("America/New_York")),
        "status": "completed",
        "payment_method": "cash",
        "storefront": "Main",
        "revenue": Decimal("10.00"),
        "profit": Decimal("-2.50"),
    }
    earlier = sales_frames([{**sale, "profit": Decimal("5.00")}], [])["sales"]
    tiles, charts = report_overview("sales", sales_frames([sale], []), "2026-10", (earlier, None))
    said = {tile.label: (tile.value, tile.changes) for tile in tiles}
    assert said == {
        "Completed sales": (1, ("vs 2026-09: +0.00%", f"vs 2025-10: {NO_DATA}")),
        "Revenue": (Decimal("10.00"), ("vs 2026-09: +0.00%", f"vs 2025-10: {NO_DATA}")),
        "Profit": (Decimal("-2.50"), ("vs 2026-09: -150.00%", f"vs 2025-10: {NO_DATA}")),
        "Margin %": (Decimal("-25.00"), ("vs 2026-09: -75.00 pts", f"vs 2025-10: {NO_DATA}")),
    }
    nothing_before, _ = report_overview(
        "sales", sales_frames([], []), "2026-10", (sales_frames([], [])["sales"], None)
    )
    assert {t.label: t.changes[0] for t in nothing_before}["Revenue"] == "vs 2026-09: n/a"  # from 0.00
    adhoc, adhoc_charts = report_overview("sales", sales_frames([sale], []), "2026-10-01 to 2026-10-07")
    assert all(tile.changes == () for tile in adhoc) and len(adhoc_charts[0].categories) == 7
    assert [c.title for c in charts] == [c.title for c in adhoc_charts]


def test_bills_chart_debits_and_credits_per_week_by_account_type(
    two_months: tuple[Path, dict], oracle: SourceOracle
) -> None:
    """Bills have no headline figures, only these charts, equal to the journal lines' sums."""
    root, _ = two_months
    store = object_store(str(root))
    frames = {name: stored_partition(store, TENANT, name, MONTH) for name in ("bills", "accounts")}
    overview = build_overview("bills", frames, MONTH, None, None)
    assert overview.kpis == ()
    charts = expected.bills(oracle, MONTH)
    assert charts_of(overview) == charts
    debits, credits = (charts[f"{side} per week by account type"][1] for side in ("Debits", "Credits"))
    assert sum(sum(v) for v in debits.values()) == sum(sum(v) for v in credits.values()) > 0
