"""Renderer benchmark: our CSV, Excel and PDF writers against baselines on the same line items.

Each measurement runs in a fresh Python process, so its peak RSS is its own. Data is a 12-column,
sale_items-shaped Parquet file made once per size. Prints a table and writes JSON under bench/results/.

    .venv/bin/python bench/renderers.py --rows 100000 200000 [--formats csv xlsx pdf baselines]
    .venv/bin/python bench/renderers.py --rows 100000 --formats xlsx baseline_openpyxl_write_only
    .venv/bin/python bench/renderers.py --rows 100000 --formats xlsx pdf --overview --repeat 5

``--overview`` also measures each workbook and PDF with the sales overview (tiles and charts, computed
from the same rows inside the timed part, as ``build_report`` does) and prints what it adds; the
target is at most 5%. ``--repeat`` measures each kind in that many fresh processes and keeps the
fastest (all are in the JSON), as a loaded machine makes single runs vary by more than 5%.

Not part of the test run; ``end_to_end.py`` measures the real assets over PostgreSQL and S3.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

from baselines import CSV_BASELINES, write_csv_baseline
from measure import write_results

WORK = Path("/tmp/export-platform-bench")
ROW_GROUP_ROWS = 50_000  # as the dataset IO manager writes them
OVERVIEW = "+overview"


def make_data(rows: int) -> Path:
    import polars as pl

    path = WORK / f"line_items_{rows}.parquet"
    if path.exists():
        return path
    WORK.mkdir(parents=True, exist_ok=True)
    names = ["Widget, large", "=SUM(A1:A9)", "北京烤鸭礼盒", "Café crème", "Plain tea", "-50% clearance"]
    frame = pl.select(pl.int_range(rows, dtype=pl.Int64).alias("item_id")).with_columns(
        (pl.col("item_id") // 3).alias("sale_id"),
        pl.format("ACM-{}", pl.col("item_id") // 3).alias("receipt_number"),
        (pl.lit(1_790_000_000_000_000) + pl.col("item_id") * 1_000_000)
        .cast(pl.Datetime("us", "UTC"))
        .dt.convert_time_zone("America/New_York")
        .alias("sold_at"),
        pl.format("SKU-{}", pl.col("item_id") % 2000).alias("sku"),
        pl.lit(pl.Series(names)).gather(pl.col("item_id") % len(names)).alias("product"),
        pl.lit("Bakery").alias("category"),
        (pl.col("item_id") % 5 + 1).alias("quantity"),
        ((pl.col("item_id") % 20_000 + 100).cast(pl.Decimal(18, 2)) / 100)
        .cast(pl.Decimal(18, 2))
        .alias("unit_price"),
        ((pl.col("item_id") % 15_000 + 50).cast(pl.Decimal(18, 2)) / 100)
        .cast(pl.Decimal(18, 2))
        .alias("unit_cost"),
        pl.lit(0).cast(pl.Decimal(18, 2)).alias("discount"),
        ((pl.col("item_id") % 90_000 + 100).cast(pl.Decimal(18, 2)) / 100)
        .cast(pl.Decimal(18, 2))
        .alias("line_total"),
    )
    frame.write_parquet(path, row_group_size=ROW_GROUP_ROWS)
    return path


def measure(kind: str, rows: int) -> dict:
    """Run inside a fresh process: render ``rows`` line items one way and report time and peak RSS."""
    import polars as pl

    from export_platform.render.report import Report, SummaryItem, Table, small_streaming_chunks

    data = make_data(rows)
    out = WORK / f"out_{kind}_{rows}"
    lazy = pl.scan_parquet(data)
    table = Table.of("Line Items", lazy, {}, lazy.collect_schema().names())
    overview = kind.endswith(OVERVIEW)
    kind = kind.removesuffix(OVERVIEW)
    # Imports are nobody's cost here: every kind loads the writers and the overview before the clock
    # starts. (Loading the overview in its runs alone took 70 ms of shared imports off the writer's
    # time there, which made the overview look free.)
    import export_platform.render.csv
    import export_platform.render.pdf
    import export_platform.render.xlsx
    import export_platform.reports.overview  # noqa: F401

    report = Report(
        "sale_items",
        "Line Items",
        "acme",
        "Acme",
        "2026-10",
        "America/New_York",
        "USD",
        (SummaryItem("Rows", rows),),
        (table,),
    )
    if kind in CSV_BASELINES:
        seconds = write_csv_baseline(kind, data, out, WORK / f"out_csv_{rows}")
        return _result(kind, rows, seconds, out)
    started, cpu_started = time.perf_counter(), _cpu_seconds()
    if overview:
        report = _with_overview(report, lazy)
    with small_streaming_chunks():  # as the exports run the writers
        _write(kind, table, report, out)
    result = _result(kind + (OVERVIEW if overview else ""), rows, time.perf_counter() - started, out)
    return {**result, "cpu_seconds": round(_cpu_seconds() - cpu_started, 3)}


def _cpu_seconds() -> float:
    """This process's CPU time, every thread's (Polars reads on several): the work done, which other
    people's load on a shared machine stretches far less than the wall time."""
    times = os.times()
    return times.user + times.system


def _with_overview(report, lines):
    """The report with the sales overview of the line items, each line read as a completed sale."""
    import dataclasses

    import polars as pl

    from export_platform.reports.overview import report_overview

    revenue = pl.col("line_total")
    sales = lines.select(
        "sold_at",
        "product",
        pl.lit("completed").alias("status"),
        pl.lit("card").alias("payment_method"),
        pl.lit("Main").alias("storefront"),
        revenue.alias("revenue"),
        (revenue - pl.col("unit_cost") * pl.col("quantity")).cast(pl.Decimal(18, 2)).alias("profit"),
    )
    tiles, charts = report_overview("sales", {"sales": sales, "sale_items": sales}, "2026-10")
    return dataclasses.replace(report, tiles=tiles, charts=charts)


def _write(kind: str, table, report, out: Path) -> None:
    if kind == "csv":
        from export_platform.render.csv import CsvOptions, write_csv

        write_csv(table, out, CsvOptions())
    elif kind == "xlsx":
        from export_platform.render.xlsx import write_workbook

        write_workbook(report, out)
    elif kind == "baseline_openpyxl_write_only":  # the workbook writer before xlsx_sheet: one cell at a time
        sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the tests package is not installed
        from export_platform_tests.support.xlsx_write_only import write_workbook_per_cell

        write_workbook_per_cell(report, out)
    elif kind == "pdf":
        from export_platform.render.pdf import write_pdf

        write_pdf(report, out, page_budget=0)  # every row: the writer's rate, not the budget's
    else:
        raise ValueError(kind)


def _result(kind: str, rows: int, seconds: float, out: Path) -> dict:
    return {
        "kind": kind,
        "rows": rows,
        "seconds": round(seconds, 3),
        "rows_per_s": round(rows / seconds),
        "mb_per_s": round(out.stat().st_size / 1e6 / seconds, 1),
        "bytes": out.stat().st_size,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def _run(kind: str, rows: int) -> dict:
    output = subprocess.run(
        [sys.executable, __file__, "--measure", kind, str(rows)], capture_output=True, text=True, check=True
    )
    return json.loads(output.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 200_000])
    parser.add_argument("--formats", nargs="+", default=["csv", "xlsx", "pdf", "baselines"])
    parser.add_argument("--overview", action="store_true", help="also xlsx and pdf with the overview")
    parser.add_argument(
        "--repeat", type=int, default=1, help="fresh processes per measurement; the fastest is kept"
    )
    parser.add_argument("--measure", nargs=2, metavar=("KIND", "ROWS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure[0], int(args.measure[1]))))
        return
    kinds = [k for k in args.formats if k != "baselines"]
    if "baselines" in args.formats:
        kinds = [
            "csv",
            *[k for k in kinds if k != "csv"],
            "baseline_csv_dictwriter",
            "baseline_polars_write_csv",
            "baseline_raw_bytes",
            *(["baseline_openpyxl_write_only"] if "xlsx" in kinds else []),
        ]
    if args.overview:
        kinds += [k + OVERVIEW for k in kinds if k in ("xlsx", "pdf")]
    results = []
    load_before = os.getloadavg()
    for rows in args.rows:
        make_data(rows)
        for kind in kinds:
            runs = [_run(kind, rows) for _ in range(args.repeat)]
            # The fastest run is the one other people's load on a shared machine disturbed least.
            r = {**min(runs, key=lambda run: run["seconds"]), "all_seconds": [run["seconds"] for run in runs]}
            results.append(r)
            print(
                f"{r['kind']:<28} {r['rows']:>10,} rows {r['seconds']:>8.2f} s {r['rows_per_s']:>10,} rows/s "
                f"{r['mb_per_s']:>7.1f} MB/s {r['peak_rss_mb']:>6} MB peak RSS"
                + (f" {r['cpu_seconds']:>8.2f} s CPU" if "cpu_seconds" in r else ""),
                flush=True,
            )
    by_kind = {(r["kind"], r["rows"]): r for r in results}
    for (kind, rows), r in by_kind.items():
        if kind.endswith(OVERVIEW):
            base = by_kind[(kind.removesuffix(OVERVIEW), rows)]
            wall = 100 * (r["seconds"] - base["seconds"]) / base["seconds"]
            cpu = 100 * (r["cpu_seconds"] - base["cpu_seconds"]) / base["cpu_seconds"]
            print(
                f"the overview adds {wall:+.1f}% wall time, {cpu:+.1f}% CPU time "
                f"to {base['kind']} at {rows:,} rows"
            )
    write_results("renderers", {"results": results}, load_before=load_before)


if __name__ == "__main__":
    main()
