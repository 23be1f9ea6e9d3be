"""``scheduled_export_retry_sensor``: runs a scheduled export again when its run failed on a transient
fault after its steps' own retries, ``retry_delay()`` later (6 hours unless
``EXPORT_SCHEDULE_RETRY_DELAY_SECONDS`` says otherwise, as the seed retried), at most
``max_retries()`` times (3, ``EXPORT_SCHEDULE_RETRIES``).

Only runs the schedule sensor launched (and this sensor's own retries) are retried: a run someone
triggered is theirs to run again. Transient means what ``retries.is_transient`` retries inside a run,
read back from the run's step failures by the errors' class names, as the exceptions themselves are
gone by then: the source unreachable, a connection dropped or timed out. Anything else (a request the
run refused, a schedule that could never run, bad data, a bug) is final at once, and so is a run that
failed without a step failing (a lost worker: Dagster's own run retries take those).

A retry is a new run of the same job with the same config, partition and assets, tagged with its
attempt number and the first run's id (``ATTEMPT_TAG``, ``FIRST_RUN_TAG``): every attempt links to the
first, and each attempt's history rows carry its run id. Its run key is the first run's id and the
attempt number, so a retry is launched once, even across daemon restarts.

``export_failure_notice_sensor`` asks ``awaits_retry`` and stays silent for a run this sensor will
retry, so the notice goes out once: when the last attempt failed, or at once for an error that is not
transient.
"""

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import dagster as dg

from export_platform.automation.tenant_schedule_sensor import SCHEDULE_TAG
from export_platform.exports.adhoc import adhoc_export
from export_platform.exports.assets import exports_job
from export_platform.settings import max_retries, retry_delay, schedule_check_seconds
from export_platform.tracking.history import ATTEMPT_TAG, FIRST_RUN_TAG

SENSOR_NAME = "scheduled_export_retry_sensor"
LAUNCHERS = ("export_schedule_sensor", SENSOR_NAME)
"""The sensors whose failed runs are retried."""
TRANSIENT_ERRORS = frozenset(
    {
        "SourceUnavailable",
        "TransientDeliveryError",
        "ConnectionError",
        "TimeoutError",
        "EndpointConnectionError",
        "ConnectTimeoutError",
        "ReadTimeoutError",
        "ConnectionClosedError",
        "HTTPClientError",
    }
)
"""The class names of the errors ``retries.is_transient`` retries inside a run (Python's, the
platform's and botocore's connection errors)."""
LOOK_BACK = dt.timedelta(days=2)
"""How long past its delay a failed run is still retried: a daemon down for longer does not come back
to retry last week's exports."""


def launched_by_schedule(tags: Mapping[str, str]) -> bool:
    """Whether a run's tags say the schedule sensor launched it, or this sensor as a retry of such a
    run: Dagster tags a sensor's runs with ``dagster/sensor_name``, which ``history.requested_by``
    trusts in the same way."""
    return SCHEDULE_TAG in tags and tags.get("dagster/sensor_name") in LAUNCHERS


def now_utc() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class FailedRun:
    """A failed run and what failed it: the error class names of each failed step, causes included."""

    run: dg.DagsterRun
    ended_at: dt.datetime
    step_errors: tuple[frozenset[str], ...]

    @property
    def attempt(self) -> int:
        return int(self.run.tags.get(ATTEMPT_TAG, "1"))

    @property
    def first_run_id(self) -> str:
        return self.run.tags.get(FIRST_RUN_TAG, self.run.run_id)

    @property
    def scheduled(self) -> bool:
        """Launched by the schedule sensor, or as a retry of such a run."""
        return launched_by_schedule(self.run.tags)

    @property
    def transient(self) -> bool:
        """Every failed step failed of a transient error (and at least one step failed). A step the
        platform failed on purpose (``dg.Failure``: ``retry_only_transient_errors`` found its error
        final) is not, whatever its error was raised while handling."""
        return bool(self.step_errors) and all(
            names & TRANSIENT_ERRORS and "Failure" not in names for names in self.step_errors
        )

    def awaits_retry(self, retries: int) -> bool:
        return self.scheduled and self.transient and self.attempt <= retries

    def retry_request(self) -> dg.RunRequest:
        """The next attempt: the same job, config, partition and assets, linked to the first run."""
        tags = {k: v for k, v in self.run.tags.items() if not k.startswith("dagster/")}
        tags.update({ATTEMPT_TAG: str(self.attempt + 1), FIRST_RUN_TAG: self.first_run_id})
        return dg.RunRequest(
            run_key=f"schedule-retry:{self.first_run_id}:{self.attempt + 1}",
            job_name=self.run.job_name,
            run_config=dict(self.run.run_config),
            partition_key=self.run.tags.get("dagster/partition"),
            asset_selection=sorted(self.run.asset_selection, key=str) if self.run.asset_selection else None,
            tags=tags,
        )


def plan_retries(
    failed: Iterable[FailedRun], now: dt.datetime, delay: dt.timedelta, retries: int
) -> list[dg.RunRequest]:
    """The retries due at ``now``: each scheduled run that failed of a transient error at least
    ``delay`` ago (and not more than ``LOOK_BACK`` after that), with attempts left."""
    return [
        run.retry_request()
        for run in failed
        if run.awaits_retry(retries) and run.ended_at + delay <= now <= run.ended_at + delay + LOOK_BACK
    ]


def _error_names(error: object) -> frozenset[str]:
    """The class names along a ``SerializableErrorInfo``'s causes and contexts."""
    names, pending = set(), [error]
    while pending:
        info = pending.pop()
        if info is None:
            continue
        names.add(str(getattr(info, "cls_name", "") or ""))
        pending += [getattr(info, "cause", None), getattr(info, "context", None)]
    return frozenset(names - {""})


def failed_run(instance: dg.DagsterInstance, run: dg.DagsterRun, ended_at: dt.datetime) -> FailedRun:
    """``run`` (a failed run) with its steps' errors, read from its event log."""
    events = instance.all_logs(run.run_id, of_type=dg.DagsterEventType.STEP_FAILURE)
    errors = tuple(
        _error_names(event.dagster_event.step_failure_data.error)
        for event in events
        if event.dagster_event is not None and event.dagster_event.step_failure_data is not None
    )
    return FailedRun(run, ended_at, errors)


def awaits_retry(instance: dg.DagsterInstance, run: dg.DagsterRun) -> bool:
    """Whether the retry sensor will run ``run``, a failed run, again: then its failure is not
    final, and nobody is told of it yet."""
    return failed_run(instance, run, now_utc()).awaits_retry(max_retries())


def recently_failed(instance: dg.DagsterInstance, since: dt.datetime) -> list[FailedRun]:
    """The scheduled runs that failed since ``since``, with their steps' errors."""
    records = instance.get_run_records(
        dg.RunsFilter(statuses=[dg.DagsterRunStatus.FAILURE], updated_after=since), limit=1000
    )
    found = []
    for record in records:
        ended = dt.datetime.fromtimestamp(record.end_time or record.update_timestamp.timestamp(), dt.UTC)
        if SCHEDULE_TAG in record.dagster_run.tags:
            found.append(failed_run(instance, record.dagster_run, ended))
    return found


@dg.sensor(
    name=SENSOR_NAME,
    description=(
        "Runs a tenant schedule's export again when its run failed on a transient fault (the source "
        "unreachable, a connection lost) after its steps' own retries: 6 hours later, at most 3 times "
        "(EXPORT_SCHEDULE_RETRY_DELAY_SECONDS, EXPORT_SCHEDULE_RETRIES). Each attempt is tagged with "
        "the first run's id; the failure notice goes out once, after the last attempt."
    ),
    minimum_interval_seconds=schedule_check_seconds(),  # as often as schedules: retries are due at times too
    jobs=[exports_job, adhoc_export],
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def scheduled_export_retry_sensor(context: dg.SensorEvaluationContext) -> dg.SkipReason | dg.SensorResult:
    now, delay = now_utc(), retry_delay()
    failed = recently_failed(context.instance, now - delay - LOOK_BACK)
    retries = plan_retries(failed, now, delay, max_retries())
    if not retries:
        return dg.SkipReason(f"{len(failed)} failed scheduled runs, none to retry now")
    for request in retries:
        context.log.info(f"retrying run {request.tags[FIRST_RUN_TAG]} (attempt {request.tags[ATTEMPT_TAG]})")
    return dg.SensorResult(run_requests=retries)
