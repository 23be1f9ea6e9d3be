"""Dagster's fixed cost per partition run, next to the work the run does.

    .venv/bin/python bench/dagster_overhead.py [--repeat 3]

Seeds a small SQLite source in a temporary folder, then measures, each ``--repeat`` times (median):

- ``import``: a fresh interpreter importing the code location (``export_platform.definitions``);
- ``cli_materialize``: ``dagster asset materialize`` of one small dataset (``accounts``) for one
  tenant's month, the whole command, against a temporary ``DAGSTER_HOME`` with the embedded instance;
- ``asset_compute``: the seconds that asset's own body reported in the same runs (its log line), so
  the difference is what Dagster and process start-up add to every partition run.

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
            },
            indent=2,
        )
    )
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
