"""A job's partitions handed to Dagster as one backfill: the daemon submits a run per partition
through the run queue, the UI's backfills page shows and cancels it, and it survives a daemon restart
(the daemon keeps its place in the instance). This module creates the backfill as Dagster's UI does
(``launchPartitionBackfill``: a ``PartitionBackfill`` in status REQUESTED added to the instance), reads
its progress from the runs tagged with its id, and cancels it as the UI's Cancel button does."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import click

from export_platform.cli.refusals import Refused

if TYPE_CHECKING:
    import dagster as dg
    from dagster._core.execution.backfill import PartitionBackfill
    from dagster._core.remote_origin import InProcessCodeLocationOrigin, RemotePartitionSetOrigin

DEFINITIONS_MODULE = "export_platform.definitions"
LOCATION_NAME = "export_platform"  # as workspace.yaml names it: the daemon finds the job by this name
BACKFILL_DAEMON = "BACKFILL"


def ui_path(backfill_id: str) -> str:
    """Where the UI shows the backfill, relative to its base URL."""
    return f"/overview/backfills/{backfill_id}"


def _location_origin(workspace: Path | None, location: str | None) -> InProcessCodeLocationOrigin:
    """The code location to take the job from, loaded in this process: ``location`` of the workspace
    file ``workspace`` (its only location when ``location`` is None), else the platform's own as
    workspace.yaml declares it. The daemon finds the job by the location's name in its own workspace."""
    from dagster._core.remote_origin import InProcessCodeLocationOrigin
    from dagster._core.types.loadable_target_origin import LoadableTargetOrigin
    from dagster._core.workspace.load_target import WorkspaceFileTarget

    if workspace is None:
        target = LoadableTargetOrigin(module_name=DEFINITIONS_MODULE)
        return InProcessCodeLocationOrigin(target, location_name=location or LOCATION_NAME)
    if not workspace.is_file():
        raise Refused(f"--workspace {workspace}: no such file; name the workspace file the daemon loads")
    origins = WorkspaceFileTarget(paths=[str(workspace)]).create_origins()
    names = [origin.location_name for origin in origins]
    wanted = location or (names[0] if len(names) == 1 else LOCATION_NAME)
    matches = [origin for origin in origins if origin.location_name == wanted]
    loadable = getattr(matches[0], "loadable_target_origin", None) if matches else None
    if loadable is None:
        raise Refused(
            f"--location {wanted}: not a Python code location of {workspace}; it has {', '.join(names)}"
        )
    return InProcessCodeLocationOrigin(loadable, location_name=wanted)


@contextlib.contextmanager
def partition_set_origin(
    instance: dg.DagsterInstance, job_name: str, workspace: Path | None, location: str | None
) -> Iterator[RemotePartitionSetOrigin]:
    """The origin of ``job_name``'s partition set, which a job backfill names (as ``dagster job
    backfill`` finds it)."""
    with _location_origin(workspace, location).create_location(instance) as code_location:
        for repository in code_location.get_repositories().values():
            for partition_set in repository.get_partition_sets():
                if partition_set.job_name == job_name:
                    yield partition_set.get_remote_origin()
                    return
        raise Refused(f"--job {job_name}: no partitioned job of that name in location {code_location.name}")


def submit(
    instance: dg.DagsterInstance,
    origin: RemotePartitionSetOrigin,
    partition_keys: list[str],
    title: str,
) -> str:
    """Add a backfill of ``partition_keys`` to the instance, for the daemon to run; its id."""
    from dagster._core.execution.backfill import BulkActionStatus, PartitionBackfill
    from dagster._core.utils import make_new_backfill_id
    from dagster._time import get_current_timestamp

    backfill_id = make_new_backfill_id()
    instance.add_backfill(
        PartitionBackfill(
            backfill_id=backfill_id,
            partition_set_origin=origin,
            status=BulkActionStatus.REQUESTED,
            partition_names=partition_keys,
            from_failure=False,
            reexecution_steps=None,
            tags={},
            backfill_timestamp=get_current_timestamp(),
            title=title,
        )
    )
    return backfill_id


def daemon_running(instance: dg.DagsterInstance) -> bool:
    """Whether a daemon that runs backfills has sent a heartbeat lately (as the UI's daemon page asks)."""
    from dagster._daemon.controller import get_daemon_statuses

    status = get_daemon_statuses(instance, [BACKFILL_DAEMON], ignore_errors=True)[BACKFILL_DAEMON]
    return status.healthy is True


def existing(instance: dg.DagsterInstance, backfill_id: str) -> PartitionBackfill:
    """The job backfill ``backfill_id`` of this instance, or a refusal."""
    from dagster._core.execution.backfill import PartitionBackfill

    backfill = instance.get_backfill(backfill_id)
    if not isinstance(backfill, PartitionBackfill):
        raise Refused(
            f"--cancel {backfill_id}: no such backfill in this instance (DAGSTER_HOME); the UI lists "
            "them under Overview > Backfills"
        )
    return backfill


def cancel(instance: dg.DagsterInstance, backfill_id: str) -> None:
    """Mark the backfill canceling, as the UI's Cancel button does: the daemon submits no more runs,
    cancels the ones queued or running, then marks it canceled."""
    from dagster._core.execution.backfill import BulkActionStatus

    backfill = existing(instance, backfill_id)
    if backfill.status != BulkActionStatus.REQUESTED:
        raise Refused(f"--cancel {backfill_id}: the backfill is {backfill.status.value.lower()}, not running")
    instance.update_backfill(backfill.with_status(BulkActionStatus.CANCELING))


STATUS_WORDS = {  # as the UI's backfills page says them
    "REQUESTED": "in progress",
    "COMPLETED_SUCCESS": "completed",
    "COMPLETED_FAILED": "completed with failures",
    "CANCELING": "canceling",
    "CANCELED": "canceled",
    "FAILING": "failing",
    "FAILED": "failed",
}


@dataclass(frozen=True)
class Progress:
    """A backfill as its runs tell it: its status and how many of its partitions' runs are where."""

    status: str
    partitions: int
    requested: int
    succeeded: int
    failed: list[str]  # the partitions whose run failed or was canceled
    in_progress: int
    finished: bool

    def line(self) -> str:
        status = STATUS_WORDS.get(self.status, self.status.lower())
        return (
            f"{status}: {self.requested} of {self.partitions} runs requested, {self.succeeded} succeeded, "
            f"{len(self.failed)} failed, {self.in_progress} in progress"
        )


def progress(instance: dg.DagsterInstance, backfill_id: str) -> Progress:
    """The backfill's progress now, from its status and the runs tagged with its id."""
    import dagster as dg
    from dagster._core.execution.backfill import BULK_ACTION_TERMINAL_STATUSES
    from dagster._core.storage.tags import BACKFILL_ID_TAG, PARTITION_NAME_TAG

    backfill = existing(instance, backfill_id)
    runs = instance.get_runs(dg.RunsFilter(tags={BACKFILL_ID_TAG: backfill_id}))
    succeeded = sum(1 for run in runs if run.status == dg.DagsterRunStatus.SUCCESS)
    failed = sorted(
        run.tags.get(PARTITION_NAME_TAG, run.run_id)
        for run in runs
        if run.status in (dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED)
    )
    return Progress(
        status=backfill.status.value,
        partitions=len(backfill.partition_names or []),
        requested=len(runs),
        succeeded=succeeded,
        failed=failed,
        in_progress=len(runs) - succeeded - len(failed),
        finished=backfill.status in BULK_ACTION_TERMINAL_STATUSES,
    )


def watch(instance: dg.DagsterInstance, backfill_id: str, poll_seconds: float) -> bool:
    """Print a line whenever the backfill's progress changes, until it ends; whether it failed (a run
    failed, or it was cancelled or failed itself)."""
    started = time.perf_counter()
    last = ""
    try:
        while True:
            now = progress(instance, backfill_id)
            if now.line() != last:
                last = now.line()
                click.echo(f"    {last} after {time.perf_counter() - started:.0f}s")
            if now.finished:
                break
            time.sleep(poll_seconds)
    except KeyboardInterrupt:
        click.echo(
            f"Stopped watching; the backfill goes on (`export-platform backfill --cancel {backfill_id}` "
            "stops it)"
        )
        raise SystemExit(130) from None
    click.echo(
        f"Done in {time.perf_counter() - started:.1f}s: {now.succeeded} succeeded"
        + (f", failed: {', '.join(now.failed)}" if now.failed else "")
        + (
            ""
            if now.status == "COMPLETED_SUCCESS"
            else f" (backfill {STATUS_WORDS.get(now.status, now.status)})"
        )
    )
    return now.status != "COMPLETED_SUCCESS" or bool(now.failed)
