"""The daemon is killed (SIGKILL) while tenants' schedules fall due, and started again: every due
export runs exactly once. Real dagster-daemon processes on the PostgreSQL-backed instance."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import shutil
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path

import dagster as dg
import pytest

from export_platform.source.demo_data import SeedPlan
from export_platform.source.seeding import seed
from export_platform.source.url import SourceUrl
from export_platform.tracking.history import ExportHistory
from export_platform.tracking.tenant_schedules import TenantScheduleSpec, TenantScheduleStore
from export_platform_tests.support.project import BIN, PROJECT

pytestmark = [pytest.mark.faults, pytest.mark.daemon]

DEADLINE_SECONDS = 300
CHECK_SECONDS = 5  # export_schedule_sensor's interval (EXPORT_SCHEDULE_CHECK_SECONDS); a minute by default
ANOTHER_TICK_SECONDS = 3 * CHECK_SECONDS


def schedule(tenant: str, name: str, dataset: str) -> TenantScheduleSpec:
    return TenantScheduleSpec(
        tenant=tenant,
        name=name,
        datasets=(dataset,),
        formats=("csv",),
        cadence="daily",
        time_of_day="00:00",
        period="month_to_date",
    )


def start_daemon(env: dict, log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [str(BIN / "dagster-daemon"), "run", "-w", "workspace.yaml"],
        cwd=PROJECT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log.open("a"),
        start_new_session=True,
    )


SCHEDULE_TAG = "export_platform/schedule_id"
PARENT_TAG = "dagster/parent_run_id"


def scheduled_runs(instance: dg.DagsterInstance) -> list[dg.DagsterRun]:
    return [r for r in instance.get_runs() if SCHEDULE_TAG in r.tags]


def wait_for(condition, daemon: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + DEADLINE_SECONDS
    while not condition():
        assert daemon.poll() is None, log.read_text()[-3000:]
        assert time.monotonic() < deadline, log.read_text()[-3000:]
        time.sleep(0.1)


def test_killed_daemon_restarts_and_runs_each_due_export_once(tmp_path: Path, dagster_database: str) -> None:
    source_url = f"sqlite:///{tmp_path / 'source.db'}"
    seed(SourceUrl(source_url), SeedPlan(tenants=2, months=1, sales_per_day=2, end_month="2026-10"))
    history = ExportHistory(url=source_url)
    store = TenantScheduleStore(history.engine)
    two_days_ago = dt.datetime.now(dt.UTC) - dt.timedelta(days=2)
    due_before_kill = [
        store.add(schedule("acme", "Ledger", "bills"), now=two_days_ago).id,
        store.add(schedule("globex", "Ledger", "bills"), now=two_days_ago).id,
    ]
    home = tmp_path / "home"
    home.mkdir()
    shutil.copyfile(PROJECT / "deploy" / "dagster.yaml", home / "dagster.yaml")
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "EXPORT_SOURCE_URL": source_url,
        "EXPORT_ARTIFACT_ROOT": str(tmp_path / "artifacts"),
        "EXPORT_SCHEDULE_CHECK_SECONDS": str(CHECK_SECONDS),
    }
    env.pop("EXPORT_SMTP_URL", None)
    synced = subprocess.run(
        [str(BIN / "export-platform"), "tenants", "sync"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert synced.returncode == 0, synced.stderr
    log = tmp_path / "daemon.log"
    first = start_daemon(env, log)
    second = None
    with dg.DagsterInstance.from_config(str(home)) as instance:
        try:
            # Killed the moment the sensor has created its first run: mid-tick, before its cursor is saved.
            wait_for(lambda: scheduled_runs(instance), first, log)
            os.kill(first.pid, signal.SIGKILL)
            first.wait(timeout=30)
            launched_before_kill = len(scheduled_runs(instance))
            # Falls due while no daemon runs.
            due_while_down = store.add(schedule("acme", "Chart of accounts", "accounts"), now=two_days_ago).id
            second = start_daemon(env, log)
            expected = {*due_before_kill, due_while_down}

            def all_finished() -> bool:
                runs = scheduled_runs(instance)
                succeeded = {r.tags[SCHEDULE_TAG] for r in runs if r.status == dg.DagsterRunStatus.SUCCESS}
                return succeeded == expected and all(r.is_finished for r in runs)

            wait_for(all_finished, second, log)
            time.sleep(ANOTHER_TICK_SECONDS)  # a later tick must not launch anything again
            assert second.poll() is None, log.read_text()[-3000:]
            runs = scheduled_runs(instance)
        finally:
            for daemon in (first, second):
                if daemon is not None:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(daemon.pid, signal.SIGTERM)
            if second is not None:
                second.wait(timeout=60)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(first.pid, signal.SIGKILL)  # whatever the killed daemon left running

    assert 1 <= launched_before_kill <= 2
    # The sensor launched each due export once. A run that died with the killed daemon's code server
    # may have been retried by Dagster (run_retries in deploy/dagster.yaml): a retry is the same
    # launch, tagged with its parent, and each schedule's chain ends in one success.
    launched = [r for r in runs if PARENT_TAG not in r.tags]
    described = [(r.run_id, r.tags[SCHEDULE_TAG], r.tags.get(PARENT_TAG), r.status.value) for r in runs]
    assert Counter(r.tags[SCHEDULE_TAG] for r in launched) == dict.fromkeys(expected, 1), described
    assert len({r.tags["dagster/run_key"] for r in launched}) == 3
    successes = Counter(r.tags[SCHEDULE_TAG] for r in runs if r.status == dg.DagsterRunStatus.SUCCESS)
    assert successes == dict.fromkeys(expected, 1), described
    exports = Counter(
        (r["tenant_id"], r["dataset"], r["status"])
        for r in history.entries(limit=100)
        if r["format"] == "csv" and r["status"] == "success"
    )
    assert exports == {
        ("acme", "bills", "success"): 1,
        ("globex", "bills", "success"): 1,
        ("acme", "accounts", "success"): 1,
    }
