"""One job per dataset, ``<dataset>_report``: the dataset and every file made from it, for one tenant's
month. It is the short path in the UI (Jobs, the dataset's job, Materialize, pick the month and the
tenant, Launch) for the common request "this tenant's sales for last month", where ``exports_job``
would make all 22 files and an export asset launched alone needs its dataset materialized first."""

import dagster as dg
from dagster._core.definitions.unresolved_asset_job_definition import UnresolvedAssetJobDefinition

from export_platform.catalog import EXPORT_FORMATS
from export_platform.datasets import DATASETS_BY_NAME
from export_platform.exports.assets import inputs_for
from export_platform.exports.formats import FORMATS_BY_NAME


def build_report_job(dataset: str) -> UnresolvedAssetJobDefinition:
    """The dataset's exports and every dataset they read (the sales workbook and report also read
    the line items), so the run never depends on an earlier one."""
    formats = [FORMATS_BY_NAME[name] for name in EXPORT_FORMATS[dataset]]
    exports = [f"{dataset}_{fmt.name}" for fmt in formats]
    inputs = sorted({name for fmt in formats for name in inputs_for(dataset, fmt)})
    labels = [fmt.label for fmt in formats]
    made = ", ".join(labels[:-1]) + f" and {labels[-1]}" if len(labels) > 1 else labels[0]
    return dg.define_asset_job(
        f"{dataset}_report",
        selection=dg.AssetSelection.assets(*inputs, *exports),
        description=(
            f"{DATASETS_BY_NAME[dataset].title} for one tenant's month, read from the source and written "
            f"as its {made}. Materialize all…, pick the month and the tenant, Launch 1 run; or open "
            "this page with `?partition=2026-10|acme` after its address to have both filled in."
        ),
    )


report_jobs = [build_report_job(dataset) for dataset in EXPORT_FORMATS]
