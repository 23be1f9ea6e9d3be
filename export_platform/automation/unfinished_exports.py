"""Close the export-history rows a run left unfinished when it ended.

An export marks its row ``processing`` before it writes and ``success`` or ``failed`` after; a run
whose process is killed (out of memory, a lost worker), that is canceled, or that is deleted never
gets to the second step, and its rows would say ``processing`` for ever: the history would show an
export still running, and retention keeps unfinished rows. Once the run has ended, nothing will move
them again, so ``unfinished_export_sensor`` closes them as ``failed`` with the reason, and the
retention job does the same before it deletes old rows (``close_ended_runs``).

A run has ended when the Dagster instance says it finished (failed, canceled, or even succeeded with
a row left behind by a retried step) or no longer knows it. A run still queued, starting or running
is left alone, however long it takes.
"""

import dagster as dg

from export_platform.tracking.history import BATCH, ExportHistory, unfinished_runs

ENDED = (dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED)


def plan_closures(statuses: dict[str, dg.DagsterRunStatus | None]) -> dict[str, str]:
    """For each run with unfinished rows (its status, None when the instance does not know it), the
    reason to close them; runs that may still finish them are left out."""
    reasons = {}
    for run_id, status in statuses.items():
        if status is None:
            reasons[run_id] = f"run {run_id} no longer exists, so this export never finished"
        elif status in ENDED:
            reasons[run_id] = f"run {run_id} ended {status.value} before this export finished"
    return reasons


def close_ended_runs(
    instance: dg.DagsterInstance, history: ExportHistory, *, limit: int | None = BATCH, dry_run: bool = False
) -> dict[str, tuple[str, int]]:
    """Close the unfinished rows of the oldest ``limit`` runs that have some (all with None), where
    the run has ended; return, per closed run, the reason and how many rows (would have) closed."""
    counts = unfinished_runs(history, limit=limit)
    statuses = {}
    for run_id in counts:
        run = instance.get_run_by_id(run_id)
        statuses[run_id] = run.status if run is not None else None
    closed = {}
    for run_id, reason in plan_closures(statuses).items():
        closed[run_id] = (reason, counts[run_id] if dry_run else history.close_unfinished(run_id, reason))
    return closed


@dg.sensor(
    name="unfinished_export_sensor",
    description=(
        "Marks as failed, with the reason, the export-history rows still pending or processing whose run "
        "has ended (killed, canceled, deleted) and so will never finish them."
    ),
    minimum_interval_seconds=300,
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def unfinished_export_sensor(context: dg.SensorEvaluationContext, history: ExportHistory) -> dg.SkipReason:
    closed = close_ended_runs(context.instance, history)
    for run_id, (reason, rows) in closed.items():
        context.log.warning(f"closed {rows} unfinished exports of run {run_id}: {reason}")
    return dg.SkipReason(
        f"closed the unfinished exports of {len(closed)} ended runs" if closed else "no ended run left any"
    )
