"""End-to-end benchmark: the real assets from PostgreSQL through Parquet to artifacts in an S3 server,
with the baselines on the same rows in the same run.

    .venv/bin/python bench/end_to_end.py --items 1000000 [--assets sale_items sale_items_csv ...]

1. Seeds a PostgreSQL database (``EXPORT_BENCH_PG_URL``'s server, default 127.0.0.1:5432) with one
   tenant whose month holds ``--items`` line items, with its sales and audit events in proportion
   (customers, products and stock as generated for up to a million; once: a database that already
   holds them in this layout is reused).
2. Starts moto's S3 server on 127.0.0.1 and materializes each asset for that tenant's month, each in
   a fresh process (Dagster's in-process executor, the production resources), so each peak RSS is
   the asset's own. Datasets come first, so exports read their Parquet from S3.
3. After ``sale_items``, runs its query twice more with the rows thrown away as they arrive: through
   the ADBC driver the asset uses (``baseline_adbc_discard``: the server and the driver's decoding),
   and as a binary COPY to ``psql`` (``baseline_pg_copy_discard``: the server alone). The source read
   alone is compared with these two limits.
4. Runs our CSV writer alone on the downloaded ``sale_items`` Parquet (``ours_csv_writer_local``:
   the baselines' terms, no S3 in between), then the baselines on the same rows: a row-by-row
   ``csv.DictWriter`` over Python dicts (how the old system wrote CSV), Polars ``write_csv``, DuckDB
   ``COPY ... TO``, and a raw write of the bytes our CSV export produced (the physical limit).

Prints a table and writes JSON under bench/results/. With ``BENCH_PROFILE=1`` each measurement also
writes a pyinstrument profile to /tmp/export-platform-bench/profile_<asset>.txt. Not part of the test
run.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from baselines import CSV_BASELINES, OURS_LOCAL, write_csv_baseline
from measure import write_results

WORK = Path("/tmp/export-platform-bench")
MONTH = "2026-10"
DAYS_IN_MONTH = 31
ITEMS_PER_SALE = 3  # the generator's average
BUCKET = "bench"
DATASETS = ["sale_items", "sales", "customers", "inventory", "audit_log", "bills", "accounts"]
EXPORTS = [
    "sale_items_csv",
    *(f"{d}_{f}" for d in DATASETS[1:] for f in ("csv", "xlsx", "pdf")),
]
BASELINES = list(CSV_BASELINES)


def pg_url(items: int) -> str:
    server = os.environ.get("EXPORT_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432")
    return f"{server.rstrip('/')}/ep_bench_items_{items}"


GENERATED_ITEMS_MAX = 1_000_000  # above this, the generated month is copied on the server


SEED_LAYOUT = 2  # 2: the audit events are copied with the sales; a database seeded otherwise is rebuilt


def replicate_month(url: str, copies: int) -> None:
    """Copy the month's sales, line items and audit events ``copies`` times on the server, with new
    ids and receipt numbers: ten million generated rows would need about ten GB of memory in the
    generator. The audit log grows with the sales, as a busier tenant's would."""
    import psycopg

    from export_platform.source import schema

    def columns(table, replaced: dict[str, str]) -> tuple[str, str]:
        names = [c.name for c in table.columns]
        return ", ".join(names), ", ".join(replaced.get(n, n) for n in names)

    copied = (schema.sales, schema.sale_items, schema.audit_events)
    with psycopg.connect(url, autocommit=True) as conn:
        max_sale, max_item, max_event = (
            conn.execute(f"SELECT max(id) FROM {table.name}").fetchone()[0] for table in copied
        )
        for k in range(1, copies + 1):
            for table, base, replaced in (
                (
                    schema.sales,
                    max_sale,
                    {"id": f"id + {k * max_sale}", "receipt_number": f"receipt_number || '-R{k}'"},
                ),
                (
                    schema.sale_items,
                    max_item,
                    {"id": f"id + {k * max_item}", "sale_id": f"sale_id + {k * max_sale}"},
                ),
                (schema.audit_events, max_event, {"id": f"id + {k * max_event}"}),
            ):
                names, values = columns(table, replaced)
                conn.execute(
                    f"INSERT INTO {table.name} ({names}) SELECT {values} FROM {table.name} WHERE id <= {base}"
                )
            print(f"  seed: copy {k}/{copies} of the month's sales, line items and audit events", flush=True)
        for table in copied:
            conn.execute(f"ANALYZE {table.name}")


def seed_once(items: int) -> tuple[str, str, dict]:
    """Create and seed the benchmark database unless it already holds the data; returns its URL.

    Up to ``GENERATED_ITEMS_MAX`` line items are generated; larger months are that many generated
    and copied on the server (``replicate_month``)."""
    import psycopg

    from export_platform.source.demo_data import SeedPlan
    from export_platform.source.seeding import seed
    from export_platform.source.url import SourceUrl

    url = pg_url(items)
    admin, name = url.rsplit("/", 1)
    with psycopg.connect(f"{admin}/postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
    layout, rows, tenant = 0, 0, None
    if exists:
        with psycopg.connect(url, autocommit=True) as conn:
            layout = (
                conn.execute(
                    "SELECT count(*) FROM information_schema.tables WHERE table_name = 'bench_seed_layout'"
                ).fetchone()[0]
                and conn.execute("SELECT max(layout) FROM bench_seed_layout").fetchone()[0]
            )
            rows = conn.execute("SELECT count(*) FROM sale_items").fetchone()[0] if layout else 0
            tenant = conn.execute("SELECT min(id) FROM tenants").fetchone()[0] if layout else None
    seeding = {"seconds": 0.0, "reused": True}
    if layout != SEED_LAYOUT or rows < items * 0.9:
        with psycopg.connect(f"{admin}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
        generated = min(items, GENERATED_ITEMS_MAX)
        plan = SeedPlan(
            tenants=1,
            months=1,
            sales_per_day=round(generated / ITEMS_PER_SALE / DAYS_IN_MONTH),
            end_month=MONTH,
        )
        started = time.perf_counter()
        counts = seed(SourceUrl(url), plan, progress=lambda line: print("  seed:", line, flush=True))
        copies = round(items / generated) - 1
        if copies:
            replicate_month(url, copies)
        with psycopg.connect(url, autocommit=True) as conn:
            # Statistics, hint bits and the visibility map as on a database in use, rather than left
            # to whichever measurement reads the new rows first.
            conn.execute("VACUUM (ANALYZE)")
        seeding = {
            "seconds": round(time.perf_counter() - started, 1),
            "reused": False,
            "generated_rows": dict(counts),
            "server_side_copies": copies,
        }
        with psycopg.connect(url) as conn:
            tenant = conn.execute("SELECT min(id) FROM tenants").fetchone()[0]
            conn.execute("CREATE TABLE bench_seed_layout (layout integer NOT NULL)")
            conn.execute("INSERT INTO bench_seed_layout VALUES (%s)", (SEED_LAYOUT,))
    return url, tenant, seeding


def peak_rss_mb() -> int:
    """This process's peak resident memory. ``ru_maxrss`` would do, but Linux carries it over from the
    parent (which holds the S3 server's objects) across fork and exec; VmHWM starts afresh at exec."""
    status = Path("/proc/self/status").read_text()
    kilobytes = next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM"))
    return round(int(kilobytes) / 1024)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_s3() -> object:
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    os.environ.update(
        AWS_ENDPOINT_URL=f"http://127.0.0.1:{port}",
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",
        AWS_DEFAULT_REGION="us-east-1",
    )
    import boto3

    boto3.client("s3").create_bucket(Bucket=BUCKET)
    return server


def measure_asset(asset: str, source_url: str, tenant: str) -> dict:
    """Inside a fresh process: materialize one asset for the tenant's month and report on it."""
    started = time.perf_counter()
    import dagster as dg

    from export_platform.datasets.assets import dataset_assets
    from export_platform.datasets.source_database import SourceDatabase
    from export_platform.exports.assets import export_assets
    from export_platform.partitions import TENANT_DIMENSION
    from export_platform.storage.artifacts import ArtifactStore
    from export_platform.storage.io_manager import DatasetParquetIOManager
    from export_platform.tracking.history import ExportHistory

    imported = time.perf_counter()
    root = f"s3://{BUCKET}/platform"
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(TENANT_DIMENSION, [tenant])
    result = dg.materialize(
        [*dataset_assets, *export_assets],
        selection=[asset],
        partition_key=f"{MONTH}|{tenant}",
        instance=instance,
        resources={
            "source": SourceDatabase(url=source_url),
            "dataset_io_manager": DatasetParquetIOManager(root=root),
            "artifacts": ArtifactStore(root=root),
            "history": ExportHistory(url=source_url),
        },
        raise_on_error=True,
    )
    finished = time.perf_counter()
    event = result.get_asset_materialization_events()[0].materialization
    metadata = {k: v.value for k, v in event.metadata.items()}
    rows = metadata.get("record_count", metadata.get("dagster/row_count"))
    size = metadata.get("file_size_bytes")
    step = finished - imported
    render_s = metadata.get("render_s")
    read_s = metadata.get("read_s")
    return {
        "kind": asset,
        "rows": rows,
        "seconds": round(step, 3),
        "import_s": round(imported - started, 3),
        "asset_s": metadata.get("duration_s"),
        "render_s": render_s,
        "render_rows_per_s": round(rows / render_s) if rows and render_s else None,
        "read_s": read_s,
        "read_rows_per_s": round(rows / read_s) if rows and read_s else None,
        "rows_per_s": round(rows / step) if rows else None,
        "mb_per_s": round(size / 1e6 / step, 1) if size else None,
        "bytes": size,
        "peak_rss_mb": peak_rss_mb(),
    }


def fetch_sale_items(tenant: str) -> tuple[Path, Path]:
    """The stored sale_items Parquet and our sale_items CSV, downloaded once for the baselines."""
    import boto3

    WORK.mkdir(parents=True, exist_ok=True)
    s3 = boto3.client("s3")
    parquet, ours = WORK / "e2e_sale_items.parquet", WORK / "e2e_sale_items.csv"
    s3.download_file(BUCKET, f"platform/{tenant}/data/sale_items/{MONTH}.parquet", str(parquet))
    name = f"sale_items_{tenant}_{MONTH}.csv"
    s3.download_file(BUCKET, f"platform/{tenant}/exports/sale_items/{MONTH}/{name}", str(ours))
    return parquet, ours


def measure_baseline(kind: str, parquet: Path, ours: Path, repeats: str = "1") -> dict:
    """Inside a fresh process: write the same rows one baseline way, ``repeats`` times; the median."""
    import statistics

    import polars as pl

    out = WORK / f"e2e_{kind}.csv"
    rows = pl.scan_parquet(parquet).select(pl.len()).collect().item()
    runs = []
    for _ in range(int(repeats)):
        out.unlink(missing_ok=True)
        runs.append(write_csv_baseline(kind, parquet, out, ours))
    seconds = statistics.median(runs)
    size = out.stat().st_size
    return {
        "kind": kind,
        "rows": rows,
        "seconds": round(seconds, 3),
        "runs_s": [round(r, 3) for r in runs],
        "rows_per_s": round(rows / seconds),
        "mb_per_s": round(size / 1e6 / seconds, 1),
        "bytes": size,
        "peak_rss_mb": peak_rss_mb(),
    }


def source_statement(source_url: str, tenant: str) -> tuple[str, int]:
    """The ``sale_items`` query exactly as the asset sends it (casts and literals included), and how
    many rows it returns."""
    import psycopg

    from export_platform.datasets.sale_items import items_in_window
    from export_platform.datasets.source_database import TenantReads
    from export_platform.source.column_types import as_the_driver_reads_best
    from export_platform.source.reads import _compile_inline
    from export_platform.source.url import SourceUrl

    url = SourceUrl(source_url)
    window = TenantReads(url, tenant).window(MONTH)
    stmt = as_the_driver_reads_best(url, items_in_window())
    params = {"tenant": tenant, "start": window.start_utc, "end": window.end_utc}
    sql = _compile_inline(url, stmt, params)
    with psycopg.connect(source_url) as conn:
        rows = conn.execute(f"SELECT count(*) FROM ({sql}) AS q").fetchone()[0]
    return sql, rows


def as_reader(tenant: str, statement: str) -> str:
    """``statement`` in a transaction under the reader role and the tenant's row-level security."""
    from export_platform.source.security import READER_ROLE, TENANT_SETTING

    return (
        f'BEGIN; SET LOCAL ROLE "{READER_ROLE}"; '
        f"SELECT set_config('{TENANT_SETTING}', '{tenant}', true); {statement}; ROLLBACK;"
    )


def measure_source_limit(source_url: str, tenant: str) -> dict:
    """Inside a fresh process: the ``sale_items`` query, as the asset sends it, copied out of
    PostgreSQL in the binary COPY format the driver reads, by ``psql`` (a C client that writes the
    bytes to /dev/null): what the server alone can deliver on this machine."""
    sql, rows = source_statement(source_url, tenant)
    started = time.perf_counter()
    with open(os.devnull, "wb") as sink:
        subprocess.run(
            [
                "psql",
                "-X",
                "-q",
                "-d",
                source_url,
                "-c",
                as_reader(tenant, f"COPY ({sql}) TO STDOUT (FORMAT binary)"),
            ],
            stdout=sink,
            check=True,
        )
    seconds = time.perf_counter() - started
    return {
        "kind": "baseline_pg_copy_discard",
        "rows": rows,
        "seconds": round(seconds, 3),
        "rows_per_s": round(rows / seconds),
        "peak_rss_mb": peak_rss_mb(),
    }


def measure_driver_limit(source_url: str, tenant: str) -> dict:
    """Inside a fresh process: the same query through the ADBC driver the asset uses, each record
    batch dropped as it arrives: the server and the driver's decoding, without our conversion or
    Parquet writing."""
    import adbc_driver_postgresql.dbapi as driver

    from export_platform.source.reads import _batch_options
    from export_platform.source.security import READER_ROLE, TENANT_SETTING
    from export_platform.source.url import SourceUrl

    sql, rows = source_statement(source_url, tenant)
    started = time.perf_counter()
    with driver.connect(source_url) as conn, conn.cursor() as cursor:
        cursor.execute(f'SET LOCAL ROLE "{READER_ROLE}"')
        cursor.execute(f"SELECT set_config('{TENANT_SETTING}', '{tenant}', true)")
        cursor.adbc_statement.set_options(**_batch_options(SourceUrl(source_url), 100_000))
        cursor.execute(sql)
        received = sum(batch.num_rows for batch in cursor.fetch_record_batch())
    seconds = time.perf_counter() - started
    if received != rows:
        raise RuntimeError(f"the driver delivered {received} rows of {rows}")
    return {
        "kind": "baseline_adbc_discard",
        "rows": rows,
        "seconds": round(seconds, 3),
        "rows_per_s": round(rows / seconds),
        "peak_rss_mb": peak_rss_mb(),
    }


def run_measurement(*args: str) -> dict:
    output = subprocess.run(
        [sys.executable, __file__, "--measure", *args], capture_output=True, text=True, env=os.environ
    )
    if output.returncode:  # recorded, so one failure does not lose the rest of a long run
        print(f"{args[0]} failed:\n{output.stderr[-4000:]}", file=sys.stderr, flush=True)
        last_line = output.stderr.strip().splitlines()[-1] if output.stderr.strip() else "failed"
        return {"kind": args[0], "error": last_line}
    return json.loads(output.stdout.strip().splitlines()[-1])


def show(r: dict) -> None:
    if "error" in r:
        print(f"{r['kind']:<28} FAILED: {r['error']}", flush=True)
        return

    def figure(key: str, fmt: str) -> str:
        return format(r[key], fmt) if r.get(key) is not None else "-"

    print(
        f"{r['kind']:<28} {figure('rows', ','):>11} rows {r['seconds']:>8.2f} s "
        f"{figure('rows_per_s', ','):>10} rows/s "
        f"{figure('mb_per_s', '.1f'):>7} MB/s {r['peak_rss_mb']:>6} MB peak RSS"
        + (f"   writer alone {figure('render_rows_per_s', ','):>10} rows/s" if r.get("render_s") else "")
        + (f"   source read alone {figure('read_rows_per_s', ','):>10} rows/s" if r.get("read_s") else ""),
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=1_000_000, help="line items in the tenant's month")
    parser.add_argument("--assets", nargs="+", default=[*DATASETS, *EXPORTS], help="assets to measure")
    parser.add_argument("--baselines", nargs="*", default=BASELINES, choices=BASELINES, help="none to skip")
    parser.add_argument(
        "--repeats", type=int, default=3, help="runs of our CSV writer and each baseline; the median is shown"
    )
    parser.add_argument("--measure", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        kind, *rest = args.measure
        profiler = None
        if os.environ.get("BENCH_PROFILE"):
            from pyinstrument import Profiler

            profiler = Profiler()
            profiler.start()
        if kind == "baseline_pg_copy_discard":
            result = measure_source_limit(*rest)
        elif kind == "baseline_adbc_discard":
            result = measure_driver_limit(*rest)
        elif kind.startswith("baseline") or kind == OURS_LOCAL:
            parquet, ours, repeats = rest
            result = measure_baseline(kind, Path(parquet), Path(ours), repeats)
        else:
            result = measure_asset(kind, *rest)
        if profiler:
            profiler.stop()
            WORK.mkdir(parents=True, exist_ok=True)
            (WORK / f"profile_{kind}.txt").write_text(profiler.output_text(show_all=False))
        print(json.dumps(result))
        return

    print(f"seeding PostgreSQL with {args.items:,} line items (reused when present)", flush=True)
    source_url, tenant, seeding = seed_once(args.items)
    print(f"  {seeding}", flush=True)
    server = start_s3()
    results = []
    try:
        for asset in args.assets:
            results.append(run_measurement(asset, source_url, tenant))
            show(results[-1])
            if asset == "sale_items" and args.baselines:
                for limit in ("baseline_adbc_discard", "baseline_pg_copy_discard"):
                    results.append(run_measurement(limit, source_url, tenant))
                    show(results[-1])
        if args.baselines and {"sale_items", "sale_items_csv"} <= set(args.assets):
            parquet, ours = fetch_sale_items(tenant)
            for kind in [OURS_LOCAL, *args.baselines]:
                results.append(run_measurement(kind, str(parquet), str(ours), str(args.repeats)))
                show(results[-1])
    finally:
        server.stop()
    write_results(f"end_to_end-{args.items}", {"items": args.items, "seeding": seeding, "results": results})


if __name__ == "__main__":
    main()
