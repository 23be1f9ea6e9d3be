"""Dagster's fixed cost per partition run, next to the work the run does.

    .venv/bin/python bench/dagster_overhead.py [--repeat 3]

Seeds a small SQLite source in a temporary folder, then measures, each ``--repeat`` times (median):

- ``import``: a fresh interpreter importing the code location (``export_platform.definitions``);
- ``cli_materialize``: ``dagster asset materialize`` of one small dataset (``accounts``) for one
  tenant's month, the whole command, against a temporary ``DAGSTER_HOME`` with the embedded instance;
- ``asset_compute``: the seconds that asset's own body reported in the same runs (its log line), so
  the difference is what Dagster and process start-up add to every partition run.

In the same run it measures the floor: a trivial code location generated from ours, of the same
shape (one op per asset definition of ``exports_job``, with the same asset keys, dependencies and
asset checks, yielded by the op as ours are; the same tenant x month partitions; the in-process
executor), whose ops do nothing. Our ``exports_job`` and the trivial one run alternately, ``--repeat``
times each, for that tenant-month, each in a fresh process on a fresh SQLite ``DAGSTER_HOME`` (the
embedded instance): wall and CPU seconds of the process (CPU from the children's rusage) and of its
``execute_in_process`` alone, medians, and the ratio ours / trivial.

With ``--profile`` it also runs the whole ``exports_job`` (8 datasets, 22 exports) for that small
tenant-month once in-process under pyinstrument and prints where the time went, by package (self time
of the frames whose code lives in it): what one partition run of a small tenant costs, and whose it is.

With ``--breakdown`` it measures nothing else: it runs that ``exports_job`` once in-process and
prints its CPU seconds per cause (history writes, read-back checks, renders, metadata previews, font
loading, IO manager, manifest, Dagster's event-log writes by event type...), each timed around the
function that does it (``time.process_time``, no profiler, so no profiler's distortion), and each
step's CPU seconds.

Prints a table and writes JSON under bench/results/. Not part of the test run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import dagster as dg

RESULTS = Path(__file__).parent / "results"
ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
MONTH, TENANT = "2026-10", "acme"
JOB = "exports_job"
KINDS = ("ours", "trivial")  # our code location, and the trivial one of the same shape


def timed(command: list[str], env: dict[str, str]) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, check=True)
    return time.perf_counter() - started, done.stdout + done.stderr


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="profile one in-process exports_job run")
    parser.add_argument(
        "--breakdown", action="store_true", help="only: CPU seconds per cause and per step of one run"
    )
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="export-platform-overhead-"))
    try:
        home = work / "dagster_home"
        home.mkdir()
        shutil.copy(ROOT / "dagster.local.yaml", home / "dagster.yaml")
        env = {
            **os.environ,
            "DAGSTER_HOME": str(home),
            "EXPORT_SOURCE_URL": f"sqlite:///{work / 'source.db'}",
            "EXPORT_ARTIFACT_ROOT": str(work / "artifacts"),
        }
        cli = str(BIN / "export-platform")
        timed([cli, "seed", "--tenants", "1", "--months", "1", "--end-month", MONTH], env)
        timed([cli, "tenants", "sync"], env)
        if args.breakdown:
            done = subprocess.run(
                [sys.executable, __file__, "--breakdown-run"],
                env=env,
                cwd=ROOT,
                capture_output=True,
                text=True,
            )
            print(done.stdout, done.stderr[-2000:] if done.returncode else "", sep="")
            write_results("dagster_overhead_breakdown", json.loads(done.stdout.rsplit("BREAKDOWN ", 1)[1]))
            return
        imports, runs, computes = [], [], []
        for _ in range(args.repeat):
            imports.append(timed([sys.executable, "-c", "import export_platform.definitions"], env)[0])
            seconds, output = timed(
                [
                    str(BIN / "dagster"),
                    "asset",
                    "materialize",
                    "-m",
                    "export_platform.definitions",
                    "--select",
                    "accounts",
                    "--partition",
                    f"{MONTH}|{TENANT}",
                ],
                env,
            )
            runs.append(seconds)
            found = re.search(r"accounts \S+: \d+ rows(?:, read)? in ([\d.]+)s", output)
            computes.append(float(found.group(1)) if found else float("nan"))
        floored = floor(args.repeat, env["EXPORT_SOURCE_URL"], work)
        if args.profile:
            profile = subprocess.run(
                [sys.executable, __file__, "--profile-run"], env=env, cwd=ROOT, capture_output=True, text=True
            )
            print(profile.stdout, profile.stderr[-2000:] if profile.returncode else "", sep="")
            profiled = json.loads(profile.stdout.rsplit("PROFILE ", 1)[1])
    finally:
        shutil.rmtree(work, ignore_errors=True)
    results = {
        "import_s": round(statistics.median(imports), 2),
        "cli_materialize_s": round(statistics.median(runs), 2),
        "asset_compute_s": round(statistics.median(computes), 3),
    }
    results["dagster_overhead_s"] = round(results["cli_materialize_s"] - results["asset_compute_s"], 2)
    for name, value in results.items():
        print(f"{name:<22} {value:>8} s")
    shapes = floored["shape"]
    print(f"exports_job per partition run, median, ours {shapes['ours']} and trivial {shapes['trivial']}:")
    print(f"  {'':<14} {'ours':>8} {'trivial':>8} {'ratio':>6}")
    for figure, ratio in floored["ratio_ours_to_trivial"].items():
        ours, trivial = (floored["median_per_partition_run_s"][kind][figure] for kind in KINDS)
        print(f"  {figure:<14} {ours:>8.2f} {trivial:>8.2f} {ratio:>6.2f}")
    RESULTS.mkdir(exist_ok=True)
    target = RESULTS / f"dagster_overhead-{time.strftime('%Y%m%dT%H%M%S')}.json"
    target.write_text(
        json.dumps(
            {
                "machine": platform.platform(),
                "cpus": os.cpu_count(),
                "load_average": os.getloadavg(),
                "repeat": args.repeat,
                "samples": {"import_s": imports, "cli_materialize_s": runs, "asset_compute_s": computes},
                "results": results,
                "floor": floored,
                "profile": profiled if args.profile else None,
            },
            indent=2,
        )
    )
    print(f"wrote {target}")


def trivial_shape() -> list[dict]:
    """``exports_job``'s shape, read from the platform's definitions: per op (asset definition), its
    asset keys with their dependencies within the job, and its asset checks."""
    from export_platform.definitions import defs

    layer = defs.resolve_job_def(JOB).asset_layer
    keys = set(layer.selected_asset_keys)
    assets_defs = {d.node_def.name: d for d in (layer.asset_graph.assets_def_for_key(k) for k in keys)}
    return [
        {
            "op": name,
            "assets": {
                spec.key.to_user_string(): [
                    d.asset_key.to_user_string() for d in spec.deps if d.asset_key in keys
                ]
                for spec in assets_def.specs
            },
            "checks": [[c.asset_key.to_user_string(), c.name] for c in assets_def.check_specs],
        }
        for name, assets_def in sorted(assets_defs.items())
    ]


def trivial_op(op: dict) -> dg.AssetsDefinition:
    """An op that materializes ``op``'s assets and passes its checks, doing nothing else."""
    from export_platform.partitions import tenant_month_partitions

    key = dg.AssetKey.from_user_string
    specs = [
        dg.AssetSpec(key(asset), deps=[key(d) for d in deps], partitions_def=tenant_month_partitions)
        for asset, deps in op["assets"].items()
    ]
    check_specs = [dg.AssetCheckSpec(name, asset=key(asset)) for asset, name in op["checks"]]

    @dg.multi_asset(specs=specs, check_specs=check_specs, name=f"trivial_{op['op']}")
    def trivial():  # type: ignore[no-untyped-def]
        for spec in specs:
            yield dg.MaterializeResult(asset_key=spec.key)
        for check in check_specs:
            yield dg.AssetCheckResult(asset_key=check.asset_key, check_name=check.name, passed=True)

    return trivial


def trivial_definitions(ops: list[dict]) -> dg.Definitions:
    """The trivial code location of ``trivial_shape()``'s ops: the same partitions, the in-process
    executor; it does not import the platform's definitions, so its runs do not pay for them."""
    job = dg.define_asset_job(JOB, selection=dg.AssetSelection.all())
    return dg.Definitions(assets=[trivial_op(op) for op in ops], jobs=[job], executor=dg.in_process_executor)


def shape(definitions: dg.Definitions) -> dict[str, int]:
    """How many ops, assets and asset checks ``exports_job`` of ``definitions`` runs."""
    job = definitions.resolve_job_def(JOB)
    layer = job.asset_layer
    keys = set(layer.selected_asset_keys)
    checks = {c for c in layer.asset_graph.asset_check_keys if c.asset_key in keys}
    return {"ops": len(job.nodes), "assets": len(keys), "checks": len(checks)}


def floor_run(kind: str, partition: str, shape_file: str) -> None:
    """One partition run of ``kind``'s job in this process; prints its figures as JSON."""
    if kind == "ours":
        from export_platform.definitions import defs as definitions
    else:
        definitions = trivial_definitions(json.loads(Path(shape_file).read_text()))
    job = definitions.resolve_job_def(JOB)
    with dg.DagsterInstance.get() as instance:
        wall, cpu = time.perf_counter(), time.process_time()
        result = job.execute_in_process(partition_key=partition, instance=instance, raise_on_error=False)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    materialized = len(result.get_asset_materialization_events())
    checks = len(result.get_asset_check_evaluations())
    print(
        json.dumps(
            {
                "success": result.success,
                "execute_wall": wall,
                "execute_cpu": cpu,
                "materializations": materialized,
                "check_evaluations": checks,
            }
        )
    )


def one_run(kind: str, tenant: str, source_url: str, work: Path, shape_file: Path) -> dict:
    """``kind``'s run (``ours`` or ``trivial``) on a fresh instance that knows ``tenant``: figures of
    the process and of the run."""
    from export_platform.partitions import TENANT_DIMENSION, TenantMonth

    home = work / "home"
    home.mkdir(parents=True)
    shutil.copyfile(ROOT / "dagster.local.yaml", home / "dagster.yaml")
    with dg.DagsterInstance.from_config(str(home)) as instance:
        instance.add_dynamic_partitions(TENANT_DIMENSION, [tenant])
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "EXPORT_SOURCE_URL": source_url,
        "EXPORT_ARTIFACT_ROOT": str(work / "artifacts"),
    }
    env.pop("EXPORT_SMTP_URL", None)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall = time.perf_counter()
    done = subprocess.run(
        [sys.executable, __file__, "--floor-run", kind, TenantMonth(tenant, MONTH).key, str(shape_file)],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    wall = time.perf_counter() - wall
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise RuntimeError(f"{kind} run failed: {done.stderr[-3000:]}")
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    if not figures["success"]:
        raise RuntimeError(f"{kind} run did not succeed: {done.stderr[-3000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"kind": kind, "process_wall": wall, "process_cpu": cpu, **figures}


def floor(repeats: int, source_url: str, work: Path) -> dict:
    """Our exports_job and the trivial one of the same shape, one tenant-month each, alternately
    (so a busy spell falls on both), ``repeats`` times: each run's figures, the medians and ratios."""
    from export_platform.definitions import defs

    ops = trivial_shape()
    shape_file = work / "trivial_shape.json"
    shape_file.write_text(json.dumps(ops))
    runs = [
        one_run(kind, TENANT, source_url, work / f"floor-{kind}-{number}", shape_file)
        for number in range(repeats)
        for kind in KINDS
    ]
    figures = ("process_wall", "process_cpu", "execute_wall", "execute_cpu")
    medians = {
        kind: {f: round(statistics.median(r[f] for r in runs if r["kind"] == kind), 3) for f in figures}
        for kind in KINDS
    }
    return {
        "shape": {"ours": shape(defs), "trivial": shape(trivial_definitions(ops))},
        "runs": [{k: round(v, 3) if isinstance(v, float) else v for k, v in r.items()} for r in runs],
        "median_per_partition_run_s": medians,
        "ratio_ours_to_trivial": {f: round(medians["ours"][f] / medians["trivial"][f], 2) for f in figures},
    }


def package_of(path: str) -> str:
    """``dagster``, ``polars``, ``export_platform``, ... for a frame's file; ``python`` for the rest."""
    parts = Path(path).parts
    if "site-packages" in parts:
        return parts[parts.index("site-packages") + 1].split(".")[0].lstrip("_")
    for ours in ("export_platform", "export_platform_downstream"):
        if ours in parts:
            return ours
    return "python"


def profile_run() -> None:
    """Inside a fresh process: one in-process ``exports_job`` run, profiled; prints JSON at the end."""
    import dagster as dg
    from pyinstrument import Profiler

    from export_platform.definitions import defs

    job = defs.get_job_def("exports_job")
    profiler = Profiler(interval=0.001)
    profiler.start()
    started = time.perf_counter()
    with dg.instance_for_test() as instance:  # a throwaway SQLite instance, as the CLI run has
        instance.add_dynamic_partitions("tenant", [TENANT])
        result = job.execute_in_process(partition_key=f"{MONTH}|{TENANT}", instance=instance)
        events = len(instance.all_logs(result.run_id))
    wall = time.perf_counter() - started
    session = profiler.stop()
    # Exclusive time per frame (its time less its children's), credited to the package its code lives
    # in; pyinstrument's synthetic frames (self time, idle) have no file and count for their parent.
    by_package: dict[str, float] = {}
    by_function: dict[str, float] = {}
    stack = [(session.root_frame(), "python", "?")]
    while stack:
        frame, parent_package, parent_where = stack.pop()
        if frame is None:
            continue
        if frame.file_path:
            package = package_of(frame.file_path)
            where = f"{frame.function} ({Path(frame.file_path).name}:{frame.line_no})"
        else:
            package, where = parent_package, parent_where
        exclusive = frame.time - sum(child.time for child in frame.children)
        by_package[package] = by_package.get(package, 0.0) + exclusive
        by_function[where] = by_function.get(where, 0.0) + exclusive
        stack.extend((child, package, where) for child in frame.children)
    total = sum(by_package.values())
    print(
        f"exports_job, one small tenant-month in-process: {wall:.2f} s, {events} events, "
        f"success={result.success}"
    )
    for package, seconds in sorted(by_package.items(), key=lambda item: -item[1])[:12]:
        print(f"  {package:<28} {seconds:6.2f} s  {seconds / total:5.1%}")
    print("  the functions that took longest themselves:")
    top_functions = sorted(by_function.items(), key=lambda item: -item[1])[:10]
    for where, seconds in top_functions:
        print(f"  {seconds:6.2f} s  {where}")
    print(
        "PROFILE "
        + json.dumps(
            {
                "wall_s": round(wall, 2),
                "events": events,
                "self_s_by_package": {
                    k: round(v, 3) for k, v in sorted(by_package.items(), key=lambda item: -item[1])
                },
                "self_s_by_function": {k: round(v, 3) for k, v in top_functions},
            }
        )
    )


def write_results(name: str, figures: dict) -> None:
    RESULTS.mkdir(exist_ok=True)
    target = RESULTS / f"{name}-{time.strftime('%Y%m%dT%H%M%S')}.json"
    machine = {"machine": platform.platform(), "cpus": os.cpu_count(), "load_average": os.getloadavg()}
    target.write_text(json.dumps({**machine, **figures}, indent=2))
    print(f"wrote {target}")


# The causes of a run's CPU time, each the function that does it: (module, attribute path, label).
CAUSES = (
    ("export_platform.tracking.history", "ExportHistory.attempt", "history writes and commits"),
    ("export_platform.exports.assets", "verify_artifact", "read-back checks"),
    ("export_platform.exports.assets", "sales_match_line_items", "sales against line items check"),
    ("export_platform.exports.assets", "render_into", "renders (the writers, into the store)"),
    ("export_platform.exports.assets", "report_for", "report build"),
    ("export_platform.exports.assets", "earlier_partitions", "earlier partitions for the overview"),
    ("export_platform.exports.assets", "preview_table", "metadata previews"),
    ("export_platform.exports.assets", "table_schema", "metadata column schemas"),
    ("export_platform.render.pdf_text", "FontSet.__init__", "font loading"),
    ("export_platform.datasets.source_database", "SourceDatabase.tenant", "tenant row per export"),
    ("export_platform.datasets.assets", "read_in_one_snapshot", "dataset reads from the source"),
    ("export_platform.storage.artifacts", "ArtifactStore.record", "manifest read-modify-write"),
    ("export_platform.storage.io_manager", "DatasetParquetIOManager.load_input", "IO manager loads"),
    ("export_platform.storage.io_manager", "DatasetParquetIOManager.handle_output", "IO manager stores"),
    (
        "dagster._core.storage.event_log.sqlite.sqlite_event_log",
        "SqliteEventLogStorage.store_event",
        "Dagster event-log writes",
    ),
)


class CpuClock:
    """CPU seconds per cause, exclusive: a cause timed inside another is taken off the outer one."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.calls: dict[str, int] = {}
        self.stack: list[str] = []

    def timing(self, label: str, fn):  # type: ignore[no-untyped-def]
        import contextlib
        import functools
        import inspect

        def charge(started: float) -> None:
            spent = time.process_time() - started
            self.seconds[label] = self.seconds.get(label, 0.0) + spent
            if self.stack:
                self.seconds[self.stack[-1]] = self.seconds.get(self.stack[-1], 0.0) - spent

        if inspect.isgeneratorfunction(getattr(fn, "__wrapped__", None)):  # a @contextmanager

            @functools.wraps(fn)
            @contextlib.contextmanager
            def managed(*args, **kwargs):  # type: ignore[no-untyped-def]
                manager, started = fn(*args, **kwargs), time.process_time()
                self.calls[label] = self.calls.get(label, 0) + 1
                value = manager.__enter__()
                charge(started)
                try:
                    yield value
                except BaseException:
                    started = time.process_time()
                    if not manager.__exit__(*sys.exc_info()):
                        raise
                    charge(started)
                else:
                    started = time.process_time()
                    manager.__exit__(None, None, None)
                    charge(started)

            return managed

        @functools.wraps(fn)
        def timed_call(*args, **kwargs):  # type: ignore[no-untyped-def]
            if label in self.stack:
                return fn(*args, **kwargs)
            self.calls[label] = self.calls.get(label, 0) + 1
            started = time.process_time()
            self.stack.append(label)
            try:
                return fn(*args, **kwargs)
            finally:
                self.stack.pop()
                charge(started)

        return timed_call


def breakdown_run() -> None:
    """Inside a fresh process: one in-process ``exports_job`` run with its causes timed; prints JSON."""
    import importlib

    from dagster._core.execution.plan import execute_plan
    from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage

    clock = CpuClock()
    for module, path, label in CAUSES:
        *owners, name = path.split(".")
        owner = importlib.import_module(module)
        for attribute in owners:
            owner = getattr(owner, attribute)
        setattr(owner, name, clock.timing(label, getattr(owner, name)))
    by_event: dict[str, list[float]] = {}
    store_event = SqliteEventLogStorage.store_event

    def store_timed(storage, event):  # type: ignore[no-untyped-def]
        started = time.process_time()
        try:
            return store_event(storage, event)
        finally:
            kind = event.dagster_event.event_type_value if event.dagster_event else "LOG"
            by_event.setdefault(kind, []).append(time.process_time() - started)

    SqliteEventLogStorage.store_event = store_timed  # type: ignore[method-assign]
    by_step: dict[str, float] = {}
    step_events = execute_plan.dagster_event_sequence_for_step

    def step_timed(step_context, force_local_execution=False):  # type: ignore[no-untyped-def]
        events, key = step_events(step_context, force_local_execution), step_context.step.key
        while True:
            started = time.process_time()
            try:
                event = next(events)
            except StopIteration:
                return
            finally:
                by_step[key] = by_step.get(key, 0.0) + time.process_time() - started
            yield event

    execute_plan.dagster_event_sequence_for_step = step_timed
    from export_platform.definitions import defs

    job = defs.get_job_def(JOB)
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("tenant", [TENANT])
        cpu, wall = time.process_time(), time.perf_counter()
        result = job.execute_in_process(partition_key=f"{MONTH}|{TENANT}", instance=instance)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    rest = cpu - sum(clock.seconds.values())
    causes = {**clock.seconds, "rest: Dagster's step machinery, logging, dataset checks and spools": rest}
    print(
        f"exports_job, {TENANT} {MONTH} in-process: {cpu:.2f} CPU-s, {wall:.2f} s wall, "
        f"success={result.success}"
    )
    print(f"  {'cause':<70} {'calls':>5} {'CPU-s':>6} {'share':>6}")
    for label, seconds in sorted(causes.items(), key=lambda item: -item[1]):
        print(f"  {label:<70} {clock.calls.get(label, ''):>5} {seconds:6.2f} {seconds / cpu:6.1%}")
    print("  Dagster's event-log writes by event type (count, CPU-s, ms each):")
    for kind, times in sorted(by_event.items(), key=lambda item: -sum(item[1])):
        print(f"    {kind:<36} {len(times):>4} {sum(times):6.2f} {1000 * sum(times) / len(times):6.1f}")
    print(
        "  per step (CPU-s): "
        + ", ".join(f"{k} {v:.2f}" for k, v in sorted(by_step.items(), key=lambda i: -i[1]))
    )
    print(
        "BREAKDOWN "
        + json.dumps(
            {
                "execute_cpu_s": round(cpu, 2),
                "execute_wall_s": round(wall, 2),
                "cpu_s_by_cause": {k: round(v, 3) for k, v in causes.items()},
                "calls_by_cause": clock.calls,
                "event_writes": {
                    k: {"count": len(v), "cpu_s": round(sum(v), 3)} for k, v in by_event.items()
                },
                "cpu_s_by_step": {k: round(v, 3) for k, v in by_step.items()},
            }
        )
    )


if __name__ == "__main__":
    if sys.argv[1:] == ["--profile-run"]:
        profile_run()
    elif sys.argv[1:] == ["--breakdown-run"]:
        breakdown_run()
    elif sys.argv[1:2] == ["--floor-run"]:
        floor_run(*sys.argv[2:5])
    else:
        main()
