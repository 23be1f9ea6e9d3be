"""The runs the API keeps from Dagster: a finished run is read once, an unfinished one again once a
second has passed, clients asking at once share one query, and an unknown run is never kept."""

from __future__ import annotations

import datetime as dt
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from export_platform.api.dagster_runs import TENANT_TAG, DagsterRun, tenants_run
from export_platform.api.run_cache import RunCache


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Dagster:
    """Answers with the run in ``status``, counting the queries."""

    def __init__(self, status: str = "STARTED", delay: float = 0.0) -> None:
        self.status, self.delay, self.queries = status, delay, 0
        self._lock = threading.Lock()

    def read(self, run_id: str) -> DagsterRun | None:
        with self._lock:
            self.queries += 1
        time.sleep(self.delay)
        if run_id == "missing":
            return None
        created = dt.datetime(2026, 12, 3, tzinfo=dt.UTC)
        return DagsterRun(run_id, "adhoc_export", self.status, {TENANT_TAG: "acme"}, created, None, None)


def test_an_unfinished_run_is_asked_again_after_a_second_and_a_finished_one_never() -> None:
    clock, dagster = Clock(), Dagster()
    cache = RunCache(clock=clock)
    assert cache.run("r1", dagster.read).status == "STARTED"
    clock.now += 0.5
    assert cache.run("r1", dagster.read).status == "STARTED" and dagster.queries == 1
    dagster.status = "SUCCESS"
    clock.now += 0.6
    assert cache.run("r1", dagster.read).status == "SUCCESS" and dagster.queries == 2
    clock.now += 10_000
    assert cache.run("r1", dagster.read).status == "SUCCESS" and dagster.queries == 2


def test_an_unknown_run_is_asked_for_every_time() -> None:
    dagster = Dagster()
    cache = RunCache(clock=Clock())
    assert cache.run("missing", dagster.read) is None
    assert cache.run("missing", dagster.read) is None
    assert dagster.queries == 2


def test_clients_asking_at_once_share_one_query() -> None:
    dagster = Dagster(delay=0.2)
    cache = RunCache()
    with ThreadPoolExecutor(max_workers=20) as pool:
        runs = list(pool.map(lambda _: cache.run("r1", dagster.read), range(20)))
    assert dagster.queries == 1 and {r.run_id for r in runs} == {"r1"}


def test_the_oldest_runs_make_room_for_new_ones() -> None:
    dagster = Dagster(status="SUCCESS")
    cache = RunCache(size=2, clock=Clock())
    for run_id in ("r1", "r2", "r3"):
        cache.run(run_id, dagster.read)
    cache.run("r3", dagster.read)
    cache.run("r2", dagster.read)
    assert dagster.queries == 3
    cache.run("r1", dagster.read)
    assert dagster.queries == 4


def test_another_tenants_run_is_no_run() -> None:
    run = Dagster().read("r1")
    assert tenants_run(run, "acme") is run
    assert tenants_run(run, "globex") is None and tenants_run(None, "acme") is None
