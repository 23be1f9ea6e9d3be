"""Jobs run from the command line: a month for some tenants, one partition after another, with a line
as each starts and ends; a month the partitions do not have refused before anything runs; a failed run
told in one line."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import click

from export_platform.cli.refusals import Refused

if TYPE_CHECKING:
    import dagster as dg

    from export_platform.cli.run_logs import RunLogs


def existing_month(month: str) -> str:
    """``month`` if it is one of the month partitions (from PARTITIONS_START to this month), else a
    refusal that says which months exist."""
    from export_platform.partitions import InvalidPartitionKey, month_partitions, validate_month

    try:
        validate_month(month)
    except InvalidPartitionKey as exc:
        raise Refused(f"--month: {exc}, e.g. 2026-10") from None
    months = month_partitions.get_partition_keys()
    if month not in months:
        raise Refused(f"--month {month}: no such month partition; the months are {months[0]} to {months[-1]}")
    return month


@dataclass(frozen=True)
class StepError:
    """The error a step failed with: the step, and the class and first line of the error that caused
    it (Dagster wraps the asset's or op's own error in its own)."""

    step: str
    error_class: str
    message: str


def first_step_error(result: dg.ExecuteInProcessResult) -> StepError | None:
    """The error of the run's first failed step; None when no step failed (the run failed around them)."""
    for event in result.all_events:
        if event.is_step_failure and (error := event.step_failure_data.error) is not None:
            while error.cause is not None:
                error = error.cause
            first_line = (error.message.strip().splitlines() or [""])[0]
            name, _, text = first_line.partition(": ")
            if error.cls_name and name.endswith(error.cls_name):  # module.Class: the class alone
                first_line = f"{error.cls_name}: {text}"
            return StepError(event.step_key or "", error.cls_name or "", first_line)
    return None


def failure(result: dg.ExecuteInProcessResult) -> str:
    """A failed run in one line: its id and the first step error, whose stack trace is in the logs."""
    error = first_step_error(result)
    if error is None:
        return f"FAILED (run {result.run_id}; its log is in the UI)"
    return f"FAILED (run {result.run_id}): {error.step}: {error.message}"


def run_partitions(
    instance: dg.DagsterInstance, logs: RunLogs, job_name: str, month: str, tenants: list[str]
) -> list[tuple[str, dg.ExecuteInProcessResult]]:
    """Run ``job_name`` for each tenant's ``month`` in this process, one partition after another,
    printing a line as each starts and ends (with an estimate of the time left); Dagster's own logs
    go to ``logs``. The runs are recorded in ``instance``, so the UI shows them. Returns (tenant,
    result) pairs."""
    from export_platform.partitions import TenantMonth

    job = logs.job(job_name)
    results: list[tuple[str, dg.ExecuteInProcessResult]] = []
    started = time.perf_counter()
    for number, slug in enumerate(tenants, start=1):
        key = TenantMonth(slug, month).key
        click.echo(f"    [{number}/{len(tenants)}] {key}: running {job_name} ...")
        began = time.perf_counter()
        result = job.execute_in_process(
            run_config=logs.run_config, partition_key=key, instance=instance, raise_on_error=False
        )
        results.append((slug, result))
        elapsed = time.perf_counter() - started
        left = elapsed / number * (len(tenants) - number)
        assets = len(result.get_asset_materialization_events())
        outcome = f"{assets} assets" if result.success else failure(result)
        click.echo(
            f"    [{number}/{len(tenants)}] {key}: {outcome} in {time.perf_counter() - began:.1f}s"
            + (f", about {left:.0f}s left" if number < len(tenants) else "")
        )
    return results
