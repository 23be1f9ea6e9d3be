"""Export API benchmark: the synchronous CSV stream, downloads and status polling, against a real
``export-platform api`` process on loopback, with the baselines run in the same process tree.

    .venv/bin/python bench/api.py --rows 1000000 10000000

1. **CSV stream.** For each ``--rows`` (line items in one tenant's October, seeded once per size as
   bench/end_to_end.py seeds them), a fresh API process streams ``POST exports/sale_items.csv`` for the
   month to a client that counts and hashes the bytes; rows/s end to end, the server's resident memory
   sampled from /proc every 50 ms while it streams (peak RSS, and VmHWM at the end), and the CPU
   seconds the server, the client and PostgreSQL's processes spent. Baselines: the ``sale_items``
   dataset and ``sale_items_csv`` export assets materialized in a child process from the same database
   (local folders; the export asset's own rows/s from its ``duration_s``, and the CPU seconds of the
   child and of PostgreSQL for the two), and the source's limit: the same query copied out of
   PostgreSQL by ``psql`` to /dev/null (bench/end_to_end.py's ``baseline_pg_copy_discard``).
2. **Downloads.** The published ``sale_items_csv`` of ``--download-items`` line items (about 100 MB)
   fetched by ``--clients`` concurrent ``curl`` processes through ``GET artifacts/...``, each piped to
   ``sha256sum``; every digest must equal the manifest's. Aggregate MB/s against ``cat`` of the same
   file to /dev/null (the limit) and to ``sha256sum``.
3. **Polling.** An ad-hoc export requested with ``POST exports`` from a real Dagster (webserver and
   daemon on a temporary instance) runs to ``success``; then ``--pollers`` concurrent clients
   (asyncio, one keep-alive connection each, in a child process) GET ``exports/{id}`` (which asks
   Dagster's GraphQL API for the run and reads its history rows) for ``--poll-seconds``: p50/p99
   latency and requests/s.

The API runs with a request rate no poller reaches (``--requests-per-minute``, ``--burst``). Prints a
table and writes JSON under bench/results/. Not part of the test run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from end_to_end import MONTH, WORK, free_port, measure_source_limit, seed_once
from measure import PostgresCpu, cpu_seconds, proc_status_mb, write_results

OCTOBER = {"date_from": f"{MONTH}-01", "date_to": f"{MONTH}-31"}


def measure_export(source_url: str, tenant: str, root: str) -> dict:
    """Inside a fresh process: the sale_items dataset, then its CSV export asset, into local folders."""
    import dagster as dg

    from export_platform.datasets.assets import dataset_assets
    from export_platform.datasets.source_database import SourceDatabase
    from export_platform.exports.assets import export_assets
    from export_platform.partitions import TENANT_DIMENSION
    from export_platform.storage.artifacts import ArtifactStore
    from export_platform.storage.io_manager import DatasetParquetIOManager
    from export_platform.tracking.history import ExportHistory

    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(TENANT_DIMENSION, [tenant])
    started = time.perf_counter()
    result = dg.materialize(
        [*dataset_assets, *export_assets],
        selection=["sale_items", "sale_items_csv"],
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
    seconds = time.perf_counter() - started
    metadata = {
        e.asset_key.to_user_string(): {k: v.value for k, v in e.materialization.metadata.items()}
        for e in result.get_asset_materialization_events()
    }
    export, dataset = metadata["sale_items_csv"], metadata["sale_items"]
    rows = export["record_count"]
    return {
        "kind": "sale_items_csv asset",
        "rows": rows,
        "bytes": export["file_size_bytes"],
        "sha256": export["sha256"],
        "path": export["uri"],
        "asset_s": export["duration_s"],
        "render_s": export["render_s"],
        "rows_per_s": round(rows / export["duration_s"]),
        "dataset_read_s": dataset["read_s"],
        "dataset_and_export_rows_per_s": round(rows / (dataset["read_s"] + export["duration_s"])),
        "run_s": round(seconds, 3),
        "peak_rss_mb": round(proc_status_mb(os.getpid(), "VmHWM")),
    }


def measure_pollers(url: str, token: str, pollers: str, seconds: str) -> dict:
    """Inside a fresh process: ``pollers`` clients GET ``url`` back to back for ``seconds``."""
    import httpx

    async def poll(
        client: httpx.AsyncClient, until: float, latencies: list[float], errors: list[str]
    ) -> None:
        while time.perf_counter() < until:
            started = time.perf_counter()
            try:
                response = await client.get(url)
            except httpx.TransportError as exc:  # counted, not fatal: a refused or reset connection
                errors.append(type(exc).__name__)
                continue
            latencies.append(time.perf_counter() - started)
            if response.status_code != 200:
                errors.append(str(response.status_code))

    async def run() -> tuple[list[float], list[str], float]:
        latencies: list[float] = []
        errors: list[str] = []
        headers = {"Authorization": f"Bearer {token}"}
        limits = httpx.Limits(max_connections=int(pollers), max_keepalive_connections=int(pollers))
        async with httpx.AsyncClient(headers=headers, limits=limits, timeout=60) as client:
            await client.get(url)  # one connection warm before the clock starts
            started = time.perf_counter()
            until = started + float(seconds)
            await asyncio.gather(*(poll(client, until, latencies, errors) for _ in range(int(pollers))))
            return latencies, errors, time.perf_counter() - started

    latencies, errors, elapsed = asyncio.run(run())
    ordered = sorted(latencies)
    return {
        "kind": "poll exports/{id}",
        "pollers": int(pollers),
        "requests": len(ordered),
        "errors": {kind: errors.count(kind) for kind in sorted(set(errors))},
        "requests_per_s": round(len(ordered) / elapsed),
        "p50_ms": round(ordered[len(ordered) // 2] * 1000, 1),
        "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000, 1),
        "max_ms": round(ordered[-1] * 1000, 1),
    }


def child(*args: str) -> dict:
    """One measurement in a child process; its last line of output is the result, to which the CPU
    seconds of the child and of PostgreSQL meanwhile are added."""
    before = os.times()
    with PostgresCpu() as postgres:
        output = subprocess.run(
            [sys.executable, __file__, "--measure", *args], capture_output=True, text=True, env=os.environ
        )
    after = os.times()
    if output.returncode:
        raise RuntimeError(f"{args[0]} failed:\n{output.stderr[-4000:]}")
    result = json.loads(output.stdout.strip().splitlines()[-1])
    used = after.children_user + after.children_system - before.children_user - before.children_system
    return {**result, "cpu_s": {"process": round(used, 2), "postgres": postgres.seconds}}


@contextlib.contextmanager
def api_server(
    source_url: str, root: str, log: Path, dagster_url: str = "http://127.0.0.1:9"
) -> Iterator[tuple[str, int]]:
    """``export-platform api`` on a free port, reading ``source_url`` and launching runs through the
    Dagster webserver at ``dagster_url``; yields its URL and pid."""
    import httpx

    port = free_port()
    env = {
        **os.environ,
        "EXPORT_SOURCE_URL": source_url,
        "EXPORT_ARTIFACT_ROOT": root,
        "EXPORT_DAGSTER_URL": dagster_url,
    }
    command = [str(Path(sys.executable).with_name("export-platform")), "api", "--port", str(port)]
    command += ["--requests-per-minute", "100000000", "--burst", "1000000"]
    with log.open("w") as output:
        server = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the API did not start:\n{log.read_text()[-3000:]}")
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{base}/v1/openapi.json", timeout=2).status_code == 200:
                    break
            time.sleep(0.1)
        yield base, server.pid
    finally:
        server.terminate()
        server.wait(timeout=30)


def issue_token(source_url: str, tenant: str, role: str) -> str:
    import psycopg

    from export_platform.tracking.api_tokens import ApiTokenStore
    from export_platform.tracking.history import ExportHistory

    with psycopg.connect(source_url) as conn:
        user_id = conn.execute("SELECT min(id) FROM users WHERE tenant_id = %s", (tenant,)).fetchone()[0]
    store = ApiTokenStore(ExportHistory(url=source_url).engine)
    return store.issue(tenant=tenant, user_id=user_id, role=role, expires_in_days=1, label="bench").bearer


def stream_csv(base: str, pid: int, tenant: str, token: str) -> dict:
    """Stream October's line items as CSV, sampling the server's RSS meanwhile."""
    import httpx

    samples: list[float] = []
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            samples.append(proc_status_mb(pid, "VmRSS"))
            time.sleep(0.05)

    idle_rss = proc_status_mb(pid, "VmRSS")
    server_cpu, client_cpu = cpu_seconds(pid), time.process_time()
    postgres = PostgresCpu().__enter__()
    sampler = threading.Thread(target=sample)
    digest, size, records, last = hashlib.sha256(), 0, 0, b""
    url = f"{base}/v1/tenants/{tenant}/exports/sale_items.csv"
    started = time.perf_counter()
    sampler.start()
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.stream("POST", url, json=OCTOBER, headers=headers, timeout=600) as response:
        response.raise_for_status()
        first_byte = time.perf_counter() - started
        for chunk in response.iter_raw(1 << 20):
            digest.update(chunk)
            size += len(chunk)
            records += chunk.count(b"\r\n") + (last == b"\r" and chunk[:1] == b"\n")
            last = chunk[-1:]
        export_id = response.headers["x-export-id"]
    seconds = time.perf_counter() - started
    done.set()
    sampler.join()
    postgres.__exit__()
    cpu = {
        "server": round(cpu_seconds(pid) - server_cpu, 2),
        "client": round(time.process_time() - client_cpu, 2),
        "postgres": postgres.seconds,
    }
    rows = records - 1  # the header
    return {
        "kind": "api csv stream",
        "rows": rows,
        "bytes": size,
        "sha256": digest.hexdigest(),
        "export_id": export_id,
        "seconds": round(seconds, 3),
        "first_byte_s": round(first_byte, 3),
        "rows_per_s": round(rows / seconds),
        "mb_per_s": round(size / 1e6 / seconds, 1),
        "server_idle_rss_mb": round(idle_rss),
        "server_peak_rss_mb": round(max(samples)),
        "server_hwm_mb": round(proc_status_mb(pid, "VmHWM")),
        "cpu_s": cpu,
    }


def downloads(base: str, tenant: str, token: str, artifact: dict, clients: int) -> dict:
    """``clients`` concurrent curl | sha256sum of the published file."""
    name = Path(artifact["path"]).name
    url = f"{base}/v1/tenants/{tenant}/artifacts/sale_items/{MONTH}/{name}"
    command = f'curl -sS --fail -H "Authorization: Bearer {token}" "{url}" | sha256sum'
    started = time.perf_counter()
    running = [
        subprocess.Popen(["bash", "-o", "pipefail", "-c", command], stdout=subprocess.PIPE, text=True)
        for _ in range(clients)
    ]
    digests = [
        process.communicate()[0].split()[0] if process.wait() == 0 else "failed" for process in running
    ]
    seconds = time.perf_counter() - started
    right = sum(digest == artifact["sha256"] for digest in digests)
    return {
        "kind": "downloads",
        "clients": clients,
        "file_mb": round(artifact["bytes"] / 1e6, 1),
        "right_sha256": right,
        "seconds": round(seconds, 3),
        "aggregate_mb_per_s": round(clients * artifact["bytes"] / 1e6 / seconds, 1),
    }


def cat_limit(path: str, size: int) -> dict:
    figures = {}
    for label, command in (
        ("cat", f'cat "{path}" > /dev/null'),
        ("cat_sha256sum", f'cat "{path}" | sha256sum'),
    ):
        subprocess.run(["bash", "-c", command], check=True, capture_output=True)  # the page cache, warm
        started = time.perf_counter()
        subprocess.run(["bash", "-c", command], check=True, capture_output=True)
        figures[f"{label}_mb_per_s"] = round(size / 1e6 / (time.perf_counter() - started), 1)
    return {"kind": "cat of the same file", **figures}


def show(result: dict) -> None:
    """One line of the table."""
    size = f"{result['size']:>11,} items"
    kind = result["kind"]
    cpu = " + ".join(f"{name} {seconds} s" for name, seconds in result.get("cpu_s", {}).items())
    if kind == "baseline_pg_copy_discard":
        print(
            f"{size}  {'source limit (psql COPY)':<22} {result['rows']:>11,} rows "
            f"{result['seconds']:>7.2f} s "
            f"{result['rows_per_s']:>9,} rows/s  CPU {cpu}",
            flush=True,
        )
    elif kind == "sale_items_csv asset":
        print(
            f"{size}  {kind:<22} {result['rows']:>11,} rows {result['asset_s']:>7.2f} s "
            f"{result['rows_per_s']:>9,} rows/s  {result['bytes'] / 1e6:>7.1f} MB  "
            f"peak RSS {result['peak_rss_mb']} MB; dataset + export "
            f"{result['dataset_and_export_rows_per_s']:,} rows/s, CPU {cpu}",
            flush=True,
        )
    elif kind == "api csv stream":
        print(
            f"{size}  {kind:<22} {result['rows']:>11,} rows {result['seconds']:>7.2f} s "
            f"{result['rows_per_s']:>9,} rows/s  {result['vs_export_asset']:.2f}x the asset  "
            f"server RSS idle {result['server_idle_rss_mb']} MB, peak {result['server_peak_rss_mb']} MB"
            f"  same bytes: {result['same_bytes_as_export']}; first byte {result['first_byte_s']} s, "
            f"CPU {cpu}",
            flush=True,
        )
    elif kind == "downloads":
        print(
            f"{size}  {kind:<22} {result['clients']} x {result['file_mb']} MB in {result['seconds']:.2f} s: "
            f"{result['aggregate_mb_per_s']:,} MB/s, "
            f"{result['right_sha256']}/{result['clients']} with the right sha256",
            flush=True,
        )
    elif kind == "cat of the same file":
        print(
            f"{size}  {kind:<22} cat {result['cat_mb_per_s']:,} MB/s, "
            f"cat | sha256sum {result['cat_sha256sum_mb_per_s']:,} MB/s",
            flush=True,
        )
    else:
        print(
            f"{size}  {kind:<22} {result['pollers']} pollers, {result['requests']:,} requests "
            f"({result['requests_per_s']:,}/s, errors {result['errors'] or 'none'}): "
            f"p50 {result['p50_ms']} ms, p99 {result['p99_ms']} ms, max {result['max_ms']} ms",
            flush=True,
        )


def requested_export(base: str, tenant: str, token: str) -> str:
    """``POST exports`` of October's bills as CSV, polled once a second until it succeeds; its id."""
    import httpx

    headers = {"Authorization": f"Bearer {token}"}
    body = {"dataset": "bills", "formats": ["csv"], "date_from": f"{MONTH}-01", "date_to": f"{MONTH}-31"}
    launched = httpx.post(f"{base}/v1/tenants/{tenant}/exports", json=body, headers=headers, timeout=60)
    launched.raise_for_status()
    export_id = launched.json()["export_id"]
    deadline = time.monotonic() + 600
    while (status := httpx.get(f"{base}/v1/tenants/{tenant}/exports/{export_id}", headers=headers).json())[
        "status"
    ] != "success":
        if status["status"] == "failed" or time.monotonic() > deadline:
            raise RuntimeError(f"the export did not succeed: {status}")
        time.sleep(1)
    return export_id


@contextlib.contextmanager
def dagster(source_url: str, tenant: str, root: Path) -> Iterator[str]:
    """Dagster's webserver and daemon on a fresh instance under ``root``, as the Export API meets them
    in production; yields the webserver's URL."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the tests package is not installed
    from export_platform_tests.support.dagster_stack import dagster_home, dagster_stack

    home = root / "dagster-home"
    dagster_home(home, [tenant])
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "EXPORT_SOURCE_URL": source_url,
        "EXPORT_ARTIFACT_ROOT": str(root),
    }
    with dagster_stack(env, root) as url:
        yield url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000], help="line items, one run each")
    parser.add_argument(
        "--download-items", type=int, default=560_000, help="line items whose CSV is the downloaded file"
    )
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--pollers", type=int, default=50)
    parser.add_argument("--poll-seconds", type=float, default=20)
    parser.add_argument("--measure", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        kind, *rest = args.measure
        measures = {"export": measure_export, "pollers": measure_pollers, "source": measure_source_limit}
        print(json.dumps(measures[kind](*rest)))
        return

    results: list[dict] = []
    for rows in args.rows:
        print(f"seeding PostgreSQL with {rows:,} line items (reused when present)", flush=True)
        source_url, tenant, seeding = seed_once(rows)
        root = WORK / f"api-{rows}"
        shutil.rmtree(root, ignore_errors=True)
        root.mkdir(parents=True)
        results.append({**child("source", source_url, tenant), "size": rows})
        show(results[-1])
        export = child("export", source_url, tenant, str(root))
        results.append({**export, "size": rows, "seeding": seeding})
        show(results[-1])
        with api_server(source_url, str(root), root / "api.log") as (base, pid):
            token = issue_token(source_url, tenant, "exporter")
            stream = stream_csv(base, pid, tenant, token)
            stream["same_bytes_as_export"] = stream["sha256"] == export["sha256"]
            stream["vs_export_asset"] = round(stream["rows_per_s"] / export["rows_per_s"], 2)
            results.append({**stream, "size": rows})
            show(results[-1])

    print(f"seeding PostgreSQL with {args.download_items:,} line items for the downloads", flush=True)
    source_url, tenant, _ = seed_once(args.download_items)
    root = WORK / f"api-downloads-{args.download_items}"
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    export = child("export", source_url, tenant, str(root))
    size = args.download_items
    with (
        dagster(source_url, tenant, root) as dagster_url,
        api_server(source_url, str(root), root / "api.log", dagster_url) as (base, _),
    ):
        token = issue_token(source_url, tenant, "exporter")
        results.append({**downloads(base, tenant, token, export, args.clients), "size": size})
        show(results[-1])
        results.append({**cat_limit(export["path"], export["bytes"]), "size": size})
        show(results[-1])
        export_id = requested_export(base, tenant, token)
        url = f"{base}/v1/tenants/{tenant}/exports/{export_id}"
        polled = child("pollers", url, token, str(args.pollers), str(args.poll_seconds))
        results.append({**polled, "size": size})
        show(results[-1])
    sizes = "-".join(str(rows) for rows in args.rows)
    write_results(f"api-{sizes}", {"results": results})


if __name__ == "__main__":
    main()
