"""The sales overview's per-day chart sums rows per quarter hour before it applies the time zone
(overview_charts._quarter_hour); it must give each row's own local day: sales a second either side
of local midnight, on the days clocks change, in zones whose offsets are half and three-quarter hours."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import polars as pl
import pytest

from export_platform.reports.overview_charts import sales_charts


@pytest.mark.parametrize("zone", ["America/New_York", "Asia/Kolkata", "Asia/Kathmandu", "Australia/Eucla"])
def test_each_sale_counts_on_its_own_local_day(zone: str) -> None:
    local = ZoneInfo(zone)
    times = []
    for day in (dt.date(2026, 3, 8), dt.date(2026, 4, 5), dt.date(2026, 10, 4), dt.date(2026, 11, 1)):
        midnight = dt.datetime.combine(day, dt.time(), local)
        times += [midnight - dt.timedelta(seconds=1), midnight, midnight + dt.timedelta(hours=2, minutes=59)]
    times = [t.astimezone(dt.UTC) for t in times]
    amounts = [Decimal(n + 1) * Decimal("1.01") for n in range(len(times))]
    sales = pl.LazyFrame(
        {
            "sold_at": pl.Series(times, dtype=pl.Datetime("us", "UTC")),
            "status": ["completed"] * len(times),
            "payment_method": ["card"] * len(times),
            "storefront": ["Main"] * len(times),
            "product": ["Tea"] * len(times),
            "revenue": pl.Series(amounts, dtype=pl.Decimal(18, 2)),
            "profit": pl.Series(amounts, dtype=pl.Decimal(18, 2)),
        }
    ).with_columns(pl.col("sold_at").dt.convert_time_zone(zone))
    expected: dict[str, Decimal] = {}
    for moment, amount in zip(times, amounts, strict=True):
        day = moment.astimezone(local).date().isoformat()
        expected[day] = expected.get(day, Decimal("0.00")) + amount
    for month in ("2026-03", "2026-04", "2026-10", "2026-11"):
        per_day = sales_charts({"sales": sales, "sale_items": sales}, month)[0]
        got = dict(zip(per_day.categories, per_day.series[0].values, strict=True))
        want = {day: value for day, value in expected.items() if day.startswith(month)}
        assert {day: value for day, value in got.items() if value} == want, month
