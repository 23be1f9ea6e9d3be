"""``export-platform backfill`` hands a month to Dagster as one backfill: refused input names the fix
before anything is submitted; a submitted backfill waits for a daemon (and says so), is carried on by a
daemon restarted midway with each partition run exactly once, and a cancelled one submits no run."""

from __future__ import annotations

import datetime as dt
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import dagster as dg
import pytest
from click.testing import CliRunner, Result
from dagster._core.execution.backfill import BulkActionStatus
from dagster._core.storage.tags import BACKFILL_ID_TAG

from export_platform.cli import main
from export_platform.cli.partition_backfill import progress, watch
from export_platform.source.demo_data import SeedPlan
from export_platform.source.seeding import seed
from export_platform.source.url import SourceUrl
from export_platform_tests.support.dagster_stack import daemon, dagster_home
from export_platform_tests.support.project import BIN, PROJECT

MONTH = "2026-10"
TENANTS = ["acme", "globex"]


def environment(tmp_path: Path, tenants: list[str]) -> dict[str, str]:
    """A seeded SQLite source and a fresh embedded instance that knows ``tenants``."""
    source = f"sqlite:///{tmp_path / 'source.db'}"
    seed(SourceUrl(source), SeedPlan(tenants=2, months=1, sales_per_day=1, end_month=MONTH))
    dagster_home(tmp_path / "home", tenants)
    return {
        **os.environ,
        "EXPORT_SOURCE_URL": source,
        "EXPORT_ARTIFACT_ROOT": str(tmp_path / "artifacts"),
        "DAGSTER_HOME": str(tmp_path / "home"),
    }


def cli(env: dict[str, str], *args: str) -> Result:
    return CliRunner().invoke(main, ["backfill", *args], env=env)


def submitted_id(result: Result) -> str:
    assert result.exit_code == 0, result.output
    match = re.match(
        r"Backfill (\w+): .* \(/overview/backfills/(\w+) in the UI\)$", result.output.splitlines()[0]
    )
    assert match and match.group(1) == match.group(2), result.output
    return match.group(1)


def test_bad_input_is_refused_before_anything_is_submitted(tmp_path: Path) -> None:
    env = environment(tmp_path, ["acme"])
    refusals = {
        ("--month", MONTH, "--tenants", "initech"): "not tenant partitions of this instance: initech;",
        ("--month", MONTH, "--tenants", "Acme!"): "--tenants: invalid tenant slug 'Acme!'",
        ("--month", "2026-13"): "--month: invalid month '2026-13': expected YYYY-MM, e.g. 2026-10",
        ("--month", "2023-12"): f"--month 2023-12: no such month partition; the months are 2024-01 to "
        f"{dt.date.today():%Y-%m}",
        ("--cancel", "nosuchid"): "--cancel nosuchid: no such backfill in this instance",
        ("--cancel", "x", "--month", MONTH): "--cancel ID takes no --month or --tenants",
        ("--month", MONTH, "-w", str(tmp_path / "none.yaml")): "no such file",
    }
    for args, message in refusals.items():
        result = cli(env, *args)
        assert result.exit_code == 2 and message in result.output, (args, result.output)
        assert len(result.output.splitlines()) == 1, result.output
    with dg.DagsterInstance.from_config(str(tmp_path / "home")) as instance:
        assert instance.get_backfills() == [] and instance.get_runs() == []


def test_without_a_daemon_a_backfill_waits_and_says_so_and_cancels(tmp_path: Path) -> None:
    env = environment(tmp_path, TENANTS)

    submitted = cli(env, "--month", MONTH, "--tenants", "globex", "--no-wait")

    backfill_id = submitted_id(submitted)
    assert submitted.output.splitlines()[0].startswith(
        f"Backfill {backfill_id}: exports_job for {MONTH}, 1 tenants"
    )
    assert submitted.output.splitlines()[1] == (
        "No daemon is running on this instance: the backfill waits until one starts."
    )
    with dg.DagsterInstance.from_config(str(tmp_path / "home")) as instance:
        backfill = instance.get_backfill(backfill_id)
        assert backfill.status == BulkActionStatus.REQUESTED and backfill.partition_names == [
            f"{MONTH}|globex"
        ]
        assert progress(instance, backfill_id).line() == (
            "in progress: 0 of 1 runs requested, 0 succeeded, 0 failed, 0 in progress"
        )
        assert cli(env, "--cancel", backfill_id).exit_code == 0
        assert progress(instance, backfill_id).line().startswith("canceling: 0 of 1 runs requested")
        assert instance.get_runs() == []


@pytest.mark.daemon
def test_a_backfill_waits_for_the_daemon_survives_its_restart_and_cancels(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env = environment(tmp_path, TENANTS)

    submitted = cli(env, "--month", MONTH, "--job", "datasets_job", "--no-wait")
    resumed = submitted_id(submitted)
    assert submitted.output.splitlines()[1:] == [
        "No daemon is running on this instance: the backfill waits until one starts."
    ]
    canceled = submitted_id(cli(env, "--month", MONTH, "--tenants", "acme", "--no-wait"))
    cancel = cli(env, "--cancel", canceled)
    assert cancel.exit_code == 0 and cancel.output.startswith(f"Canceling backfill {canceled}:")
    again = cli(env, "--cancel", canceled)
    assert again.exit_code == 2 and "the backfill is canceling, not running" in again.output

    with dg.DagsterInstance.from_config(str(tmp_path / "home")) as instance:
        assert instance.get_runs() == []  # nothing runs without the daemon
        first = subprocess.Popen(
            [str(BIN / "dagster-daemon"), "run", "-w", "workspace.yaml"],
            cwd=PROJECT,
            env=env,
            stdout=(tmp_path / "daemon-1.log").open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + 120
            while not launched_after_checkpoint(instance, resumed):
                assert time.monotonic() < deadline, (tmp_path / "daemon-1.log").read_text()[-3000:]
                time.sleep(0.5)
        finally:
            # The daemon alone, between two of its passes, as a restart would: its code servers finish
            # the runs it launched, and the next daemon completes the backfill. (Stopped while it
            # submits runs, Dagster fails the backfill: by default it retries none.)
            first.send_signal(signal.SIGTERM)
            first.wait(timeout=60)
        assert instance.get_backfill(resumed).status == BulkActionStatus.REQUESTED

        with daemon(env, tmp_path / "daemon-2.log"):
            failed = watch(instance, resumed, poll_seconds=0.5)
            deadline = time.monotonic() + 60
            while instance.get_backfill(canceled).status != BulkActionStatus.CANCELED:
                assert time.monotonic() < deadline, instance.get_backfill(canceled).status
                time.sleep(0.5)

        assert not failed and progress(instance, resumed).status == "COMPLETED_SUCCESS"
        lines = capsys.readouterr().out.splitlines()
        assert re.fullmatch(
            r"    completed: 2 of 2 runs requested, 2 succeeded, 0 failed, 0 in progress after \d+s",
            lines[-2],
        )
        assert re.fullmatch(r"Done in [\d.]+s: 2 succeeded", lines[-1]), lines
        runs = runs_of(instance, resumed)
        assert sorted(r.tags["dagster/partition"] for r in runs) == [f"{MONTH}|{t}" for t in TENANTS]
        assert all(r.status == dg.DagsterRunStatus.SUCCESS for r in runs)
        assert runs_of(instance, canceled) == []
    for tenant in TENANTS:
        assert (tmp_path / "artifacts" / tenant / "data" / "sales" / f"{MONTH}.parquet").is_file()


def runs_of(instance: dg.DagsterInstance, backfill_id: str) -> list[dg.DagsterRun]:
    return list(instance.get_runs(dg.RunsFilter(tags={BACKFILL_ID_TAG: backfill_id})))


def launched_after_checkpoint(instance: dg.DagsterInstance, backfill_id: str) -> bool:
    """Whether the daemon has recorded how far it submitted the backfill, and launched every run of
    it (stopped then, the daemon waits for its code servers to finish them)."""
    checkpointed = instance.get_backfill(backfill_id).last_submitted_partition_name is not None
    waiting = (dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.QUEUED)
    runs = runs_of(instance, backfill_id)
    return checkpointed and len(runs) == len(TENANTS) and all(r.status not in waiting for r in runs)
