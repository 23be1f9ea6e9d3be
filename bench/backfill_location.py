"""The code location the backfill benchmark runs: the platform's assets, jobs and resources, without
its sensors and schedules (so the figures are the backfill's alone), on the platform's own executor,
or on dagster-celery's when ``BENCH_EXECUTOR=celery`` (broker in ``BENCH_CELERY_BROKER``, steps sent to
the queue ``BENCH_CELERY_QUEUE``, so a shared broker's other queues are left alone)."""

import os

import dagster as dg

from export_platform import definitions


def executor():
    if os.environ.get("BENCH_EXECUTOR") == "celery":
        from dagster_celery import celery_executor

        return celery_executor.configured(
            {
                "broker": os.environ["BENCH_CELERY_BROKER"],
                "backend": "rpc://",
                "config_source": {"task_default_queue": os.environ["BENCH_CELERY_QUEUE"]},
            }
        )
    return definitions.defs.executor


defs = dg.Definitions(
    assets=definitions.defs.assets,
    jobs=definitions.defs.jobs,
    resources=definitions.defs.resources,
    executor=executor(),
)
