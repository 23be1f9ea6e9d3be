"""Backfill benchmark: one month of ``exports_job`` for many tenants, queued through the production
instance (``dagster.yaml``: PostgreSQL storage, ``QueuedRunCoordinator`` with at most 8 runs at once and
one per tenant) and launched by a real ``dagster-daemon``, over a PostgreSQL source.

It seeds a fresh source database, submits the backfill with ``export-platform backfill --no-wait``
(one Dagster backfill, whose runs the daemon submits to the queue), polls the source's
``pg_stat_activity`` for its peak connection count while the backfill's runs go, and afterwards reads
every run's start and end from the instance to find the most runs that overlapped, overall and per
tenant. With ``--celery`` it then runs the same backfill once more with the steps executed by two
dagster-celery workers (RabbitMQ broker on 127.0.0.1) and checks that steps ran on both workers and
that both backfills wrote byte-identical artifacts. Prints a table and writes JSON under bench/results/.

    .venv/bin/python bench/backfill.py --tenants 200 [--celery-tenants 20]

``export_platform_tests/load/test_backfill.py`` runs the same code at a reduced size.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import hashlib
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import psycopg

PROJECT = Path(__file__).resolve().parents[1]
RESULTS = PROJECT / "bench" / "results"
BIN = Path(sys.executable).parent
PG_ADMIN_URL = os.environ.get("EXPORT_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
CELERY_BROKER = os.environ.get("BENCH_CELERY_BROKER", "pyamqp://guest:guest@127.0.0.1:5672//")
MONTH = "2026-10"
JOB = "exports_job"


@dataclass
class BackfillFigures:
    executor: str
    tenants: int
    runs: int
    failed_runs: int
    wall_seconds: float
    runs_per_minute: float
    peak_concurrent_runs: int
    peak_runs_per_tenant: int
    max_concurrent_runs: int  # the configured limits
    per_tenant_limit: int
    peak_source_connections: int
    step_processes: int  # distinct processes that executed steps
    artifacts: dict[str, str] = field(repr=False)  # relative path -> sha256, manifests excluded


def pg_url(database: str) -> str:
    return PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{database}"


@contextlib.contextmanager
def database(prefix: str) -> Iterator[str]:
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield name
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class ConnectionPeak(threading.Thread):
    """Polls ``pg_stat_activity`` every 20 ms for the connections to one database; keeps the peak."""

    def __init__(self, database: str) -> None:
        super().__init__(daemon=True)
        self.database, self.peak = database, 0
        self.done = threading.Event()

    def run(self) -> None:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            while not self.done.is_set():
                count = conn.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = %s", (self.database,)
                ).fetchone()[0]
                self.peak = max(self.peak, count)
                time.sleep(0.02)


def peak_overlap(intervals: list[tuple[float, float]]) -> int:
    events = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals])
    peak = current = 0
    for _, delta in events:  # at a tie, an end (-1) sorts before a start (+1)
        current += delta
        peak = max(peak, current)
    return peak


def artifact_digests(root: Path) -> dict[str, str]:
    return {
        path.relative_to(root).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file() and path.name != "manifest.json"
    }


def seed_source(source_url: str, tenants: int) -> list[str]:
    from export_platform.datasets.source_database import SourceDatabase
    from export_platform.source.demo_data import SeedPlan
    from export_platform.source.seeding import seed
    from export_platform.source.url import SourceUrl

    seed(SourceUrl(source_url), SeedPlan(tenants=tenants, months=1, sales_per_day=3, end_month=MONTH))
    return SourceDatabase(url=source_url).active_tenant_slugs()


@contextlib.contextmanager
def started(args: list[str], env: dict, log: Path) -> Iterator[subprocess.Popen]:
    process = subprocess.Popen(
        args, cwd=PROJECT, env=env, stdout=log.open("a"), stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        yield process
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def run_backfill(
    source_url: str, source_db: str, tenants: list[str], work: Path, executor: str, timeout: float
) -> BackfillFigures:
    """One backfill of ``MONTH`` for ``tenants`` on a fresh instance; its figures."""
    import dagster as dg

    work.mkdir(parents=True)
    home, artifacts, log = work / "home", work / "artifacts", work / "processes.log"
    home.mkdir()
    shutil.copyfile(PROJECT / "deploy" / "dagster.yaml", home / "dagster.yaml")
    (work / "workspace.yaml").write_text(
        f"load_from:\n  - python_file:\n      relative_path: {PROJECT / 'bench' / 'backfill_location.py'}\n"
        f"      working_directory: {PROJECT}\n      location_name: backfill\n"
    )
    with database("ep_bench_dagster") as dagster_db:
        env = {
            **os.environ,
            "DAGSTER_HOME": str(home),
            "DAGSTER_PG_HOST": "127.0.0.1",
            "DAGSTER_PG_PORT": "5432",
            "DAGSTER_PG_DB": dagster_db,
            "DAGSTER_PG_USERNAME": "postgres",
            "DAGSTER_PG_PASSWORD": "",
            "EXPORT_SOURCE_URL": source_url,
            "EXPORT_ARTIFACT_ROOT": str(artifacts),
            "BENCH_EXECUTOR": executor,
            "BENCH_CELERY_BROKER": CELERY_BROKER,
            "BENCH_CELERY_QUEUE": f"export-platform-bench-{work.parent.name}-{uuid.uuid4().hex[:8]}",
            "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",  # dagster-celery runs `celery`
        }
        env.pop("EXPORT_SMTP_URL", None)
        saved = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        try:
            with dg.DagsterInstance.get() as instance, contextlib.ExitStack() as stack:
                instance.add_dynamic_partitions("tenant", tenants)
                config = instance.run_coordinator.get_run_queue_config()
                [tenant_limit] = [
                    c["limit"]
                    for c in config.tag_concurrency_limits
                    if c["key"] == "dagster/partition/tenant"
                ]
                workers = []
                if executor == "celery":
                    celery_config = work / "celery.yaml"
                    celery_config.write_text(json.dumps({"broker": CELERY_BROKER, "backend": "rpc://"}))
                    for name in ("w1", "w2"):
                        workers.append(
                            stack.enter_context(
                                started(
                                    [
                                        str(BIN / "dagster-celery"),
                                        "worker",
                                        "start",
                                        "-A",
                                        "dagster_celery.app",
                                        "-y",
                                        str(celery_config),
                                        "-n",
                                        f"{name}-{work.name}@%h",
                                        "-q",
                                        env["BENCH_CELERY_QUEUE"],
                                        "--",
                                        "--pool=solo",
                                    ],
                                    env,
                                    log,
                                )
                            )
                        )
                stack.enter_context(
                    started(
                        [str(BIN / "dagster-daemon"), "run", "-w", str(work / "workspace.yaml")], env, log
                    )
                )
                peak = ConnectionPeak(source_db)
                peak.start()
                started_at = time.time()
                workspace = ["-w", str(work / "workspace.yaml"), "--location", "backfill"]
                command = [str(BIN / "export-platform"), "backfill", "--month", MONTH, "--job", JOB]
                submitted = subprocess.run(
                    [*command, "--tenants", ",".join(tenants), "--no-wait", *workspace],
                    cwd=PROJECT,
                    env=env,
                    capture_output=True,
                    text=True,
                    timeout=600,
                    check=False,
                )
                if submitted.returncode != 0:
                    raise RuntimeError(
                        f"export-platform backfill failed: {submitted.stdout}{submitted.stderr}"
                    )
                backfill_id = submitted.stdout.split(":", 1)[0].removeprefix("Backfill ")
                runs_of_backfill = dg.RunsFilter(tags={"dagster/backfill": backfill_id})
                deadline = time.monotonic() + timeout
                reported = time.monotonic()
                while True:
                    records = instance.get_run_records(runs_of_backfill)
                    finished = sum(1 for r in records if r.dagster_run.is_finished)
                    if len(records) == len(tenants) and finished == len(tenants):
                        break
                    if time.monotonic() - reported > 60:
                        reported = time.monotonic()
                        print(
                            f"{executor}: {finished}/{len(tenants)} runs finished after "
                            f"{time.time() - started_at:.0f} s, source connections peak {peak.peak}",
                            flush=True,
                        )
                    if time.monotonic() > deadline:
                        raise TimeoutError(
                            f"backfill unfinished after {timeout} s: {log.read_text()[-3000:]}"
                        )
                    time.sleep(1)
                peak.done.set()
                peak.join()
                wall = max(r.end_time for r in records) - started_at
                intervals = {r.dagster_run.run_id: (r.start_time, r.end_time) for r in records}
                by_tenant: dict[str, list[tuple[float, float]]] = {}
                for r in records:
                    by_tenant.setdefault(r.dagster_run.tags["dagster/partition/tenant"], []).append(
                        intervals[r.dagster_run.run_id]
                    )
                step_pids = {
                    entry.dagster_event.pid
                    for r in records
                    for entry in instance.all_logs(
                        r.dagster_run.run_id, of_type=dg.DagsterEventType.STEP_START
                    )
                }
                if executor == "celery":
                    names = {pid: Path(f"/proc/{pid}/cmdline").read_bytes() for pid in step_pids}
                    ran_on = {
                        n for pid, cmd in names.items() for n in ("w1", "w2") if f"{n}-".encode() in cmd
                    }
                    if ran_on != {"w1", "w2"} or len(step_pids) != 2:
                        raise AssertionError(f"steps ran in {names}, not on both celery workers")
                failed = sum(1 for r in records if r.dagster_run.status != dg.DagsterRunStatus.SUCCESS)
                return BackfillFigures(
                    executor=executor,
                    tenants=len(tenants),
                    runs=len(records),
                    failed_runs=failed,
                    wall_seconds=round(wall, 1),
                    runs_per_minute=round(len(records) / wall * 60, 2),
                    peak_concurrent_runs=peak_overlap(list(intervals.values())),
                    peak_runs_per_tenant=max(peak_overlap(v) for v in by_tenant.values()),
                    max_concurrent_runs=config.max_concurrent_runs,
                    per_tenant_limit=tenant_limit,
                    peak_source_connections=peak.peak,
                    step_processes=len(step_pids),
                    artifacts=artifact_digests(artifacts),
                )
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


def benchmark(tenants: int, celery_tenants: int, work: Path, timeout: float) -> list[BackfillFigures]:
    figures = []
    with database("ep_bench_source") as source_db:
        source_url = pg_url(source_db)
        slugs = seed_source(source_url, max(tenants, celery_tenants))
        if tenants:
            figures.append(
                run_backfill(
                    source_url, source_db, slugs[:tenants], work / "in_process", "in_process", timeout
                )
            )
        if celery_tenants:
            figures.append(
                run_backfill(
                    source_url, source_db, slugs[:celery_tenants], work / "celery", "celery", timeout
                )
            )
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tenants", type=int, default=200)
    parser.add_argument("--celery-tenants", type=int, default=0, help="also run this many on dagster-celery")
    parser.add_argument("--timeout", type=float, default=3 * 3600)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="export-platform-backfill-") as folder:
        figures = benchmark(args.tenants, args.celery_tenants, Path(folder), args.timeout)
    columns = [k for k in asdict(figures[0]) if k != "artifacts"]
    print(" | ".join(columns))
    for f in figures:
        print(" | ".join(str(getattr(f, c)) for c in columns))
    different: list[str] = []
    if len(figures) == 2:
        shared = sorted(set(figures[0].artifacts) & set(figures[1].artifacts))
        different = [k for k in shared if figures[0].artifacts[k] != figures[1].artifacts[k]]
        print(
            f"artifacts of the {figures[1].tenants} tenants in both backfills: {len(shared)} files, "
            f"identical: {not different}"
        )
        for key in different[:20]:
            print(f"  differs: {key}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S")
    out = RESULTS / f"backfill-{stamp}.json"
    out.write_text(
        json.dumps(
            {
                "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
                "month": MONTH,
                "job": JOB,
                "results": [{k: v for k, v in asdict(f).items() if k != "artifacts"} for f in figures],
                "artifact_files": [len(f.artifacts) for f in figures],
                "artifacts_identical": None if len(figures) < 2 else not different,
                "artifacts_different": None if len(figures) < 2 else different,
            },
            indent=2,
        )
    )
    print(f"wrote {out.relative_to(PROJECT)}")


if __name__ == "__main__":
    main()
