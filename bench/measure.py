"""What the benchmarks measure with and where they keep it: CPU seconds of a process and of
PostgreSQL's backends, memory read from /proc, and the JSON file of a run under bench/results/
(with the machine and its load, which the benchmark docs quote beside the figures)."""

from __future__ import annotations

import contextlib
import json
import os
import platform
import threading
import time
from collections.abc import Callable
from pathlib import Path

RESULTS = Path(__file__).parent / "results"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User and system CPU seconds ``pid`` has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def postgres_pids() -> list[int]:
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            if stat.read_text().split(" (", 1)[1].startswith("postgres)"):
                pids.append(int(stat.parent.name))
    return pids


class PostgresCpu:
    """The CPU seconds PostgreSQL's processes spend while it runs, sampled every 50 ms so that a
    backend that ends with its connection is counted up to its last sample. ``pids`` lists the
    processes to count (by default all of PostgreSQL's; a bench may pass one database's)."""

    def __init__(self, pids: Callable[[], list[int]] = postgres_pids) -> None:
        self.pids = pids
        self.first: dict[int, float] = {}
        self.last: dict[int, float] = {}
        self.done = threading.Event()
        self.thread = threading.Thread(target=self.sample)

    def sample(self) -> None:
        while True:
            for pid in self.pids():
                with contextlib.suppress(OSError, IndexError, ValueError):
                    used = cpu_seconds(pid)
                    self.first.setdefault(pid, 0.0)  # a backend started since: all of it counts
                    self.last[pid] = used
            if self.done.wait(0.05):
                return

    def __enter__(self) -> PostgresCpu:
        for pid in self.pids():  # those running before: only what they spend from now counts
            with contextlib.suppress(OSError, IndexError, ValueError):
                self.first[pid] = self.last[pid] = cpu_seconds(pid)
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.done.set()
        self.thread.join()

    @property
    def seconds(self) -> float:
        return round(sum(self.last[pid] - self.first[pid] for pid in self.last), 2)


def proc_status_mb(pid: int, field: str) -> float:
    """A memory figure of ``pid`` (``VmRSS``, ``VmHWM``...) in MB."""
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith(field))) / 1024


def write_results(name: str, figures: dict, load_before: tuple[float, ...] | None = None) -> Path:
    """``figures`` as ``bench/results/<name>-<stamp>.json`` with the machine, its CPUs and its load
    average (1, 5, 15 min; before and after the run when ``load_before`` is given); the file's path."""
    load = os.getloadavg()
    RESULTS.mkdir(exist_ok=True)
    target = RESULTS / f"{name}-{time.strftime('%Y%m%dT%H%M%S')}.json"
    document = {
        "machine": platform.platform(),
        "cpus": os.cpu_count(),
        "load_average": load if load_before is None else {"before": load_before, "after": load},
        **figures,
    }
    target.write_text(json.dumps(document, indent=2))
    print(f"wrote {target}")
    return target
