"""A tenant schedule's content as ad-hoc requests: one ``adhoc_export`` run config per dataset, and the
check, made when a schedule is saved, that each of them would be accepted.

A schedule holds the options an ad-hoc request takes (``options``: filters, CSV and file options) for
all its datasets, so every dataset's request must accept them: a filter one of the datasets does not
understand, a column it does not have or gzip beside a workbook is refused when the schedule is saved,
by ``AdhocExportConfig``'s own validators, naming the field (``options.<name>``), rather than at 06:00
by a failed run. Dates are the run's, so a schedule's options never name them.
"""

import datetime as dt
from typing import Any

from pydantic import ValidationError

from export_platform.catalog import REQUEST_FORMATS
from export_platform.errors import validation_problems
from export_platform.exports.adhoc import ALL_FILTERS, CSV_OPTIONS, FILE_OPTIONS, AdhocExportConfig
from export_platform.tracking.tenant_schedules import TenantScheduleSpec

SCHEDULE_OPTIONS = frozenset(ALL_FILTERS | CSV_OPTIONS | FILE_OPTIONS)
"""The names a schedule's ``options`` may use: the ad-hoc request's filters, CSV and file options."""


class ScheduleRefused(ValueError):
    """A schedule that could never run: ``field`` is the schedule's (``options.storefront``,
    ``formats``), ``message`` says why and for which dataset."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def adhoc_run_config(spec: TenantScheduleSpec, dataset: str, first: dt.date, last: dt.date) -> dict[str, Any]:
    """The ``adhoc_export`` op config of ``dataset``'s part of a run over ``first``..``last``: the
    schedule's formats that the dataset takes, and its options. ``requested_by`` is left to the run's
    tags, which only the schedule sensor may make say ``schedule:<name>``."""
    return {
        "tenant": spec.tenant,
        "dataset": dataset,
        "formats": [f for f in spec.formats if f in REQUEST_FORMATS[dataset]],
        "date_from": first.isoformat(),
        "date_to": last.isoformat(),
        **spec.options,
    }


def check_schedule(spec: TenantScheduleSpec) -> TenantScheduleSpec:
    """``spec`` if every dataset's request would be accepted, else ``ScheduleRefused`` naming the
    first field refused."""
    unknown = sorted(set(spec.options) - SCHEDULE_OPTIONS)
    if unknown:
        raise ScheduleRefused(
            f"options.{unknown[0]}",
            f"not an option of a schedule; choose from {', '.join(sorted(SCHEDULE_OPTIONS))}",
        )
    day = dt.date(2026, 1, 1)  # any day: the dates are the run's, and always valid
    for dataset in spec.datasets:
        try:
            AdhocExportConfig(**adhoc_run_config(spec, dataset, day, day))
        except ValidationError as exc:
            # A field's refusal, or a rule across fields, leads with the field's name.
            name, colon, message = validation_problems(exc)[0].partition(": ")
            if not colon or " " in name:
                name, message = "", f"{name}{colon}{message}"
            field = "formats" if name.startswith("formats") else ".".join(filter(None, ("options", name)))
            raise ScheduleRefused(field, f"{message} (for {dataset})") from None
    return spec
