"""Runs read from Dagster, kept for the app's clients: many clients polling one export then cost
Dagster's webserver one GraphQL query a second, not one each. Measured with bench/api.py's 50 pollers
of ``GET exports/{id}``.

A finished run (``SUCCESS``, ``FAILURE``, ``CANCELED``) never changes again and is kept until
``size`` newer runs pushed it out; an unfinished one is asked again once ``fresh_seconds`` have passed.
Clients asking for the same run at once wait for one query rather than each sending theirs. A run
that Dagster does not know is not kept, so a run launched a moment ago is found as soon as it exists.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from export_platform.api.dagster_runs import DagsterRun

FINISHED = frozenset({"SUCCESS", "FAILURE", "CANCELED"})


@dataclass(frozen=True)
class _Kept:
    run: DagsterRun
    read_at: float


class RunCache:
    def __init__(
        self, size: int = 10_000, fresh_seconds: float = 1.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.size, self.fresh_seconds, self.clock = size, fresh_seconds, clock
        self._kept: OrderedDict[str, _Kept] = OrderedDict()
        self._lock = threading.Lock()
        self._reading: dict[str, threading.Lock] = {}

    def run(self, run_id: str, read: Callable[[str], DagsterRun | None]) -> DagsterRun | None:
        """Run ``run_id`` as kept, or as ``read`` (a query to Dagster) finds it now."""
        if (kept := self._current(run_id)) is not None:
            return kept
        with self._lock:
            reading = self._reading.setdefault(run_id, threading.Lock())
        with reading:  # one query per run at a time; the others take its answer
            if (kept := self._current(run_id)) is not None:
                return kept
            run = read(run_id)
            with self._lock:
                self._reading.pop(run_id, None)
                if run is not None:
                    self._kept[run_id] = _Kept(run, self.clock())
                    self._kept.move_to_end(run_id)
                    while len(self._kept) > self.size:
                        self._kept.popitem(last=False)
            return run

    def _current(self, run_id: str) -> DagsterRun | None:
        with self._lock:
            kept = self._kept.get(run_id)
            if kept is None:
                return None
            if kept.run.status in FINISHED or self.clock() - kept.read_at < self.fresh_seconds:
                self._kept.move_to_end(run_id)
                return kept.run
            return None
