"""Cost per tenant-month: what one full partition run costs for tenants of several sizes, and the
machine-hours of a monthly close for 1,000 tenants.

    .venv/bin/python bench/cost_per_tenant.py [--items 2000 300000 1000000] [--tenants 900 90 10]

For each ``--items`` size (line items in the tenant's October; sales and audit events in proportion,
generated as bench/end_to_end.py generates them, about 3 line items a sale; the demo's tenant has
about 620 sales, some 1,900 line items), in turn:

1. a fresh PostgreSQL database (``EXPORT_TEST_PG_URL``'s server, default 127.0.0.1:5432; dropped
   afterwards) seeded with one tenant's month, vacuumed and analyzed as a database in use;
2. a fresh SQLite ``DAGSTER_HOME`` (``dagster.local.yaml``) that knows the tenant, and moto's S3
   server on 127.0.0.1 as the artifact store (its own prefix per size);
3. one partition run as an operator starts it: ``dg launch --job exports_job --partition
   2026-10|<tenant>`` in a subprocess (every dataset and every CSV, Excel and PDF export of the month,
   on the in-process executor, as the code location sets it).

Measured for the run: wall seconds; CPU seconds (user + system) of its process tree, from
``getrusage(RUSAGE_CHILDREN)`` in a small wrapper process around it (so the bench's own memory does
not leak into the figures); peak RSS, the largest ``ru_maxrss`` in that tree; the CPU seconds of the
PostgreSQL backends serving the run's database (bench/measure.py's ``PostgresCpu``, sampled every 50 ms);
the run's materializations and the bytes it stored.

Then the projection (``project_close``) for a close of ``--tenants`` tenants of each size, the
arithmetic printed and kept in the JSON. CPU seconds and peak RSS change little with other load on the
machine; wall does. Prints a table and writes JSON under bench/results/. Not part of the test run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
JOB = "exports_job"
DEFAULT_ITEMS = [2_000, 300_000, 1_000_000]
DEFAULT_TENANTS = [900, 90, 10]  # the close's assumed mix, one count per size
CORES = 2  # the machine the close is projected on: this one

# Runs the command in its argv, then writes the resource usage of its whole process tree (every
# descendant it waited for) as JSON to the file named first. A wrapper of its own, with little memory,
# because Linux carries the parent's peak RSS into ru_maxrss of a child across fork and exec.
RUSAGE_WRAPPER = """
import json, resource, subprocess, sys
code = subprocess.call(sys.argv[2:])
used = resource.getrusage(resource.RUSAGE_CHILDREN)
with open(sys.argv[1], "w") as out:
    json.dump({"returncode": code, "user_s": used.ru_utime, "system_s": used.ru_stime,
               "max_rss_kb": used.ru_maxrss}, out)
sys.exit(code)
"""


def project_close(runs: list[dict], tenants: list[int], cores: int = CORES) -> dict:
    """Machine-hours and wall of a close of ``tenants[i]`` tenants like ``runs[i]`` (each with
    ``cpu_s``, the run's process tree, ``postgres_cpu_s`` and ``wall_s``).

    Machine-hours: every tenant's CPU seconds (the run's and PostgreSQL's) summed, / 3600. Wall on
    ``cores`` cores of the platform: the runs' CPU seconds / cores, since enough runs go at once to keep
    the cores busy (the instance allows 8), but never less than the longest single run, which one run
    per tenant keeps whole (one process, the in-process executor). PostgreSQL's share is left out of
    the wall: in production the source is its own server."""
    if len(runs) != len(tenants):
        raise ValueError(f"{len(tenants)} tenant counts for {len(runs)} sizes; give one count per size")
    mix = [(run, count) for run, count in zip(runs, tenants, strict=True) if count]
    run_cpu = sum(count * run["cpu_s"] for run, count in mix)
    postgres_cpu = sum(count * run["postgres_cpu_s"] for run, count in mix)
    longest = max((run["wall_s"] for run, _ in mix), default=0.0)
    wall = max(run_cpu / cores, longest)
    return {
        "tenants": sum(tenants),
        "mix": [{"items": run["items"], "tenants": count} for run, count in zip(runs, tenants, strict=True)],
        "cores": cores,
        "run_cpu_s": round(run_cpu, 1),
        "postgres_cpu_s": round(postgres_cpu, 1),
        "machine_hours": round((run_cpu + postgres_cpu) / 3600, 2),
        "run_cpu_hours": round(run_cpu / 3600, 2),
        "longest_run_s": round(longest, 1),
        "wall_hours": round(wall / 3600, 2),
        "serial_wall_hours": round(sum(count * run["wall_s"] for run, count in mix) / 3600, 2),
        "arithmetic": {
            "machine_hours": " + ".join(
                f"{count} x ({run['cpu_s']:.1f} + {run['postgres_cpu_s']:.1f}) s" for run, count in mix
            )
            + f" = {run_cpu + postgres_cpu:,.0f} s / 3600",
            "wall_hours": f"max({run_cpu:,.0f} s / {cores} cores, longest run {longest:.0f} s) / 3600",
        },
    }


def database_backends(admin_url: str, database: str) -> Iterator[list[int]]:
    """The pids of the backends connected to ``database`` (parallel workers included), each time it
    is asked; other databases' load on the shared server is not counted."""
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        while True:
            rows = conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", (database,))
            yield [pid for (pid,) in rows.fetchall()]


def seed_tenant(source_url: str, items: int) -> tuple[str, dict]:
    """One tenant whose October holds about ``items`` line items; its slug and the rows generated."""
    import psycopg
    from end_to_end import DAYS_IN_MONTH, ITEMS_PER_SALE, MONTH

    from export_platform.datasets.source_database import SourceDatabase
    from export_platform.source.demo_data import SeedPlan
    from export_platform.source.seeding import seed
    from export_platform.source.url import SourceUrl

    plan = SeedPlan(
        tenants=1,
        months=1,
        sales_per_day=max(1, round(items / ITEMS_PER_SALE / DAYS_IN_MONTH)),
        end_month=MONTH,
    )
    started = time.perf_counter()
    counts = seed(SourceUrl(source_url), plan)
    with psycopg.connect(source_url, autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE)")
    (tenant,) = SourceDatabase(url=source_url).active_tenant_slugs()
    return tenant, {"seconds": round(time.perf_counter() - started, 1), "rows": dict(counts)}


@contextmanager
def dagster_home(tenant: str) -> Iterator[Path]:
    """A fresh embedded (SQLite) instance that has ``tenant``'s partition, as `tenants sync` leaves it."""
    import dagster as dg

    from export_platform.partitions import TENANT_DIMENSION

    home = Path(tempfile.mkdtemp(prefix="export-platform-cost-"))
    try:
        shutil.copyfile(ROOT / "dagster.local.yaml", home / "dagster.yaml")
        with dg.DagsterInstance.from_config(str(home)) as instance:
            instance.add_dynamic_partitions(TENANT_DIMENSION, [tenant])
        yield home
    finally:
        shutil.rmtree(home, ignore_errors=True)


def run_outcome(home: Path) -> dict:
    """The run the instance in ``home`` holds: its status and seconds, materializations and checks."""
    import dagster as dg

    with dg.DagsterInstance.from_config(str(home)) as instance:
        (run,) = instance.get_runs()
        stats = instance.get_run_stats(run.run_id)
        checks = instance.get_records_for_run(
            run.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION
        ).records
    return {
        "status": run.status.value,
        "run_s": round(stats.end_time - stats.start_time, 2),  # the run alone, without process start-up
        "materializations": stats.materializations,
        "checks": len(checks),
    }


def stored_bytes(prefix: str) -> int:
    import boto3
    from end_to_end import BUCKET

    pages = boto3.client("s3").get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix)
    return sum(item["Size"] for page in pages for item in page.get("Contents", []))


def partition_run(items: int, admin_url: str, work: Path) -> dict:
    """Seed a fresh database with one tenant of ``items`` line items, run its month's exports_job as
    the CLI runs it, and measure the run; the database is dropped afterwards."""
    from backfill import database, pg_url
    from end_to_end import BUCKET, MONTH
    from measure import PostgresCpu

    from export_platform.partitions import TenantMonth

    with database(f"ep_cost_{items}") as name:
        source_url = pg_url(name)
        print(f"{items:,} line items: seeding {name}", flush=True)
        tenant, seeding = seed_tenant(source_url, items)
        prefix = f"cost-{items}"
        with dagster_home(tenant) as home:
            env = {
                **os.environ,
                "DAGSTER_HOME": str(home),
                "EXPORT_SOURCE_URL": source_url,
                "EXPORT_ARTIFACT_ROOT": f"s3://{BUCKET}/{prefix}",
            }
            env.pop("EXPORT_SMTP_URL", None)
            key = TenantMonth(tenant, MONTH).key
            usage, log = work / f"rusage-{items}.json", work / f"run-{items}.log"
            command = [str(BIN / "dg"), "launch", "-m", "export_platform.definitions", "--job", JOB]
            print(f"  running {JOB} for {key} (seeded in {seeding['seconds']} s)", flush=True)
            load_before = os.getloadavg()
            backends = database_backends(admin_url, name)
            with PostgresCpu(lambda: next(backends)) as postgres, log.open("w") as output:
                started = time.perf_counter()
                subprocess.run(
                    [sys.executable, "-c", RUSAGE_WRAPPER, str(usage), *command, "--partition", key],
                    cwd=ROOT,
                    env=env,
                    stdout=output,
                    stderr=subprocess.STDOUT,
                    check=False,
                )
                wall = time.perf_counter() - started
            backends.close()
            used = json.loads(usage.read_text())
            if used["returncode"]:
                tail = "".join(log.read_text().splitlines(keepends=True)[-30:])
                raise RuntimeError(f"the run for {key} failed ({used['returncode']}):\n{tail}")
            outcome = run_outcome(home)
    return {
        "items": items,
        "line_items": seeding["rows"]["sale_items"],
        "sales": seeding["rows"]["sales"],
        "tenant": tenant,
        "seeding": seeding,
        "wall_s": round(wall, 2),
        "cpu_s": round(used["user_s"] + used["system_s"], 2),
        "user_s": round(used["user_s"], 2),
        "system_s": round(used["system_s"], 2),
        "postgres_cpu_s": postgres.seconds,
        "peak_rss_mb": round(used["max_rss_kb"] / 1024),
        "stored_mb": round(stored_bytes(prefix) / 1e6, 1),
        **outcome,
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
    }


def show(runs: list[dict], close: dict) -> None:
    print(
        f"{'line items':>11} {'sales':>8} {'wall s':>8} {'CPU s':>8} {'PG CPU s':>9} "
        f"{'peak RSS':>9} {'stored':>9} {'assets':>6} {'checks':>6}"
    )
    for r in runs:
        print(
            f"{r['line_items']:>11,} {r['sales']:>8,} {r['wall_s']:>8.1f} {r['cpu_s']:>8.1f} "
            f"{r['postgres_cpu_s']:>9.1f} {r['peak_rss_mb']:>6} MB {r['stored_mb']:>6.1f} MB "
            f"{r['materializations']:>6} {r['checks']:>6}"
        )
    mix = ", ".join(f"{m['tenants']} x {m['items']:,}" for m in close["mix"])
    print(f"a close of {close['tenants']:,} tenants ({mix} line items):")
    print(f"  machine-hours {close['machine_hours']}: {close['arithmetic']['machine_hours']}")
    print(
        f"  wall on {close['cores']} cores {close['wall_hours']} h: {close['arithmetic']['wall_hours']} "
        f"(one run at a time: {close['serial_wall_hours']} h)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, nargs="+", default=DEFAULT_ITEMS, help="line items per size")
    parser.add_argument(
        "--tenants", type=int, nargs="+", default=DEFAULT_TENANTS, help="the close's tenants of each size"
    )
    parser.add_argument("--cores", type=int, default=CORES, help="cores the close's wall is projected on")
    args = parser.parse_args()
    if len(args.items) != len(args.tenants):
        parser.error(f"--tenants: give one count per --items size ({len(args.items)})")

    from backfill import PG_ADMIN_URL
    from end_to_end import start_s3

    server = start_s3()
    work = Path(tempfile.mkdtemp(prefix="export-platform-cost-"))
    try:
        runs = []
        for items in args.items:
            runs.append(partition_run(items, PG_ADMIN_URL, work))
            r = runs[-1]
            print(
                f"  {r['wall_s']} s wall, {r['cpu_s']} CPU-s, PostgreSQL {r['postgres_cpu_s']} CPU-s, "
                f"peak RSS {r['peak_rss_mb']} MB, {r['materializations']} materializations, {r['status']}",
                flush=True,
            )
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)
    close = project_close(runs, args.tenants, args.cores)
    show(runs, close)
    from measure import write_results

    command = f"dg launch -m export_platform.definitions --job {JOB} --partition <month|tenant>"
    write_results("cost_per_tenant", {"command": command, "runs": runs, "close": close})


if __name__ == "__main__":
    main()
