"""Dagster's fixed cost per partition run, next to the work the run does.

    .venv/bin/python bench/dagster_overhead.py [--repeat 3]

Seeds a small SQLite source in a temporary folder, then measures, each ``--repeat`` times (median):

- ``import``: a fresh interpreter importing the code location (``export_platform.definitions``);
- ``cli_materialize``: ``dagster asset materialize`` of one small dataset (``accounts``) for one
  tenant's month, the whole command, against a temporary ``DAGSTER_HOME`` with the embedded instance;
- ``asset_compute``: the seconds that asset's own body reported in the same runs (its log line), so
  the difference is what Dagster and process start-up add to every partition run.

With ``--profile`` it also runs the whole ``exports_job`` (7 datasets, 19 exports) for that small
tenant-month once in-process under pyinstrument and prints where the time went, by package (self time
of the frames whose code lives in it): what one partition run of a small tenant costs, and whose it is.

Prints a table and writes JSON under bench/results/. Not part of the test run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).parent / "results"
ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
MONTH, TENANT = "2026-10", "acme"


def timed(command: list[str], env: dict[str, str]) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, check=True)
    return time.perf_counter() - started, done.stdout + done.stderr


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="profile one in-process exports_job run")
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
            found = re.search(r"accounts \S+: \d+ rows in ([\d.]+)s", output)
            computes.append(float(found.group(1)) if found else float("nan"))
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
                "profile": profiled if args.profile else None,
            },
            indent=2,
        )
    )
    print(f"wrote {target}")


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


if __name__ == "__main__":
    if sys.argv[1:] == ["--profile-run"]:
        profile_run()
    else:
        main()
