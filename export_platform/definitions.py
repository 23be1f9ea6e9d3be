"""The code location: assembles assets, jobs, sensors and resources. Nothing is defined here."""

import warnings

import dagster as dg

from export_platform import settings
from export_platform.automation.delivery import export_delivery_sensor, export_failure_notice_sensor
from export_platform.automation.monthly_close import monthly_close
from export_platform.automation.retention import retention_cleanup, retention_schedule
from export_platform.automation.scheduled_retries import scheduled_export_retry_sensor
from export_platform.automation.tenant_schedule_sensor import export_schedule_sensor
from export_platform.automation.tenants import tenant_sensor
from export_platform.automation.unfinished_exports import unfinished_export_sensor
from export_platform.automation.weekly_summary import (
    weekly_export_summary,
    weekly_summary,
    weekly_summary_job,
)
from export_platform.datasets.assets import dataset_assets, datasets_job
from export_platform.exports.adhoc import adhoc_export
from export_platform.exports.assets import export_assets, exports_job
from export_platform.exports.report_jobs import report_jobs
from export_platform.resources import export_history, mailer, source_database
from export_platform.storage.artifacts import ArtifactStore
from export_platform.storage.io_manager import DatasetParquetIOManager

with warnings.catch_warnings():
    warnings.simplefilter("ignore", dg.BetaWarning)  # code references are marked beta by Dagster
    assets = dg.with_source_code_references([*dataset_assets, *export_assets, weekly_export_summary])

defs = dg.Definitions(
    assets=assets,
    jobs=[datasets_job, exports_job, *report_jobs, adhoc_export, retention_cleanup, weekly_summary_job],
    sensors=[
        tenant_sensor,
        export_schedule_sensor,
        scheduled_export_retry_sensor,
        export_delivery_sensor,
        export_failure_notice_sensor,
        unfinished_export_sensor,
    ],
    schedules=[monthly_close, retention_schedule, weekly_summary],
    # One process per run: on small machines re-importing the code per step costs more than it saves.
    executor=dg.in_process_executor,
    resources={
        "source": source_database(),
        "dataset_io_manager": DatasetParquetIOManager(root=settings.artifact_root()),
        "artifacts": ArtifactStore(root=settings.artifact_root()),
        "history": export_history(),
        "mailer": mailer(),
    },
)
with warnings.catch_warnings():
    # Resolving a sensor that targets several jobs makes Dagster re-create it with its own (beta)
    # `owners` parameter, warning on every process start; resolved here, once, without that noise.
    warnings.filterwarnings("ignore", message="Parameter `owners` of initializer", category=dg.BetaWarning)
    defs.get_repository_def()
