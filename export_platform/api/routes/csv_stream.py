"""The synchronous CSV export (the invoice task's ``POST /export/csv``): the tenant's dataset over a
date range or preset, filtered, sent as CSV while it is made.

The request takes the ad-hoc export's fields and rules (``AdhocExportConfig``) but its tenant,
dataset and format, which the path gives, and who asks, which the token gives. Every read sees one
snapshot of the source, and the bytes are those the CSV export of the same rows and options writes.
The attempt is recorded in the export history like any export, with the caller's ``user_id`` and
e-mail address (as ad-hoc runs launched through the API record them): ``success`` with the file's
rows, size and sha256 once the last byte is made, ``failed`` with the reason if making it fails or
the client leaves first.
The first piece (BOM, header and the first rows) is made before the answer starts, so a failure up to
then is a problem document with its status; one after it ends the response without its last chunk
(see ``streamed_file``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import hashlib
from collections.abc import Generator
from typing import TYPE_CHECKING, Annotated, NamedTuple, TypeAlias
from zoneinfo import ZoneInfo

from fastapi import Body, Depends
from pydantic import BaseModel, ValidationError

from export_platform.api.auth import Caller, Exporter, tenant_router
from export_platform.api.choices import Dataset
from export_platform.api.platform import Platform, current_platform
from export_platform.api.problems import Problem, not_found
from export_platform.api.refused_requests import RecordsRefusals, record_refused
from export_platform.api.request_bodies import body_model, refused_fields
from export_platform.api.run_tags import requester
from export_platform.api.streamed_file import StreamedFile
from export_platform.datasets.source_database import SourceDatabase
from export_platform.datasets.window import ReportWindow
from export_platform.errors import ExportPlatformError, UnknownTenant
from export_platform.exports.adhoc import AdhocExportConfig
from export_platform.exports.csv_stream import csv_tables, stream_refusal
from export_platform.exports.formats import CSV
from export_platform.render.csv import csv_pieces
from export_platform.render.report import Table
from export_platform.source.read_ahead import read_ahead
from export_platform.source.users import user_email
from export_platform.tracking.history import Attempt, ExportHistory

router = tenant_router(tags=["exports"], route_class=RecordsRefusals)
PlatformDep = Annotated[Platform, Depends(current_platform)]

NOT_IN_THE_BODY = ("tenant", "dataset", "formats", "requested_by", "page_budget")  # path, token; PDF only
if TYPE_CHECKING:
    CsvRequest: TypeAlias = BaseModel
else:
    CsvRequest = body_model(
        AdhocExportConfig,
        "CsvRequest",
        "The days (or a preset), filters and CSV options of the file; every field may be left out "
        "(the last 30 days, no filters, comma-separated with a BOM and a header).",
        leave_out=NOT_IN_THE_BODY,
    )


class ClientLeft(ExportPlatformError):
    """The client closed the connection before the file's end."""


class StartedCsv(NamedTuple):
    name: str  # the file name the client is offered
    export_id: str  # the history row
    first: bytes
    rest: Generator[bytes, None, None]


def _pieces(
    exits: contextlib.ExitStack,
    attempt: Attempt,
    tables: Generator[Table, None, None],
    request: AdhocExportConfig,
) -> Generator[bytes, None, None]:
    """The file's bytes, table by table, until the last: then the attempt records the file. ``exits``
    holds the snapshot and the attempt, closed when the file ends, fails or is abandoned. The next
    table is read and computed on a thread while this one is written (``read_ahead``), so the two
    take about as long as the slower of them rather than their sum."""
    with exits:
        exits.enter_context(contextlib.closing(tables))  # closed after the thread reading it stops
        ahead = exits.enter_context(contextlib.closing(read_ahead(tables, depth=1)))
        digest, size, rows, opening = hashlib.sha256(), 0, 0, True
        for table in ahead:
            rows += table.row_count()
            for piece in csv_pieces(table, request.options, opening=opening):
                digest.update(piece)
                size += len(piece)
                try:
                    yield piece
                except GeneratorExit:
                    raise ClientLeft(f"the client left after {size} bytes") from None
            opening = False
        attempt.published(record_count=rows, file_size_bytes=size, sha256=digest.hexdigest(), uri=None)


def start_csv(
    history: ExportHistory, source: SourceDatabase, request: AdhocExportConfig, caller: Caller
) -> StartedCsv:
    """Open the snapshot and the history attempt, and make the file's first piece. Anything failing
    before that piece is made closes both here (the attempt recording the failure)."""
    with contextlib.ExitStack() as exits:
        reads = exits.enter_context(source.tenant_reads(caller.tenant))
        tenant = reads.tenant_row()
        first_day, last_day = request.days(dt.datetime.now(ZoneInfo(tenant.timezone)).date())
        window = ReportWindow.for_days(tenant, first_day, last_day)
        attempt = exits.enter_context(
            history.attempt(
                tenant=caller.tenant,
                requested_by=request.requested_by,
                dataset=request.dataset,
                fmt=CSV.name,
                partition_key=None,
                run_id=None,
                filters={
                    **request.filters_set(),
                    "date_from": str(first_day),
                    "date_to": str(last_day),
                    **request.file_options(),
                },
                user_id=caller.user_id,
            )
        )
        pieces = _pieces(exits.pop_all(), attempt, csv_tables(reads, request, window), request)
    name = f"{request.dataset}_{caller.tenant}_{first_day}_{last_day}.csv"
    return StartedCsv(name, attempt.id, next(pieces), pieces)


@router.post(
    "/exports/{dataset}.csv",
    summary="The dataset as CSV, sent while it is made (exporter)",
    response_class=StreamedFile,
    status_code=200,
    responses={
        200: {
            "description": "The CSV, chunked; a transfer cut short means the export failed (see history)",
            "content": {"text/csv": {"schema": {"type": "string"}}},
        },
    },
)
def stream_csv(
    caller: Exporter,
    platform: PlatformDep,
    dataset: Dataset,
    body: Annotated[CsvRequest | None, Body()] = None,
) -> StreamedFile:
    asked = body.model_dump(exclude_unset=True) if body is not None else {}
    refused = functools.partial(
        record_refused,
        platform.history,
        platform.config.source_url,
        caller,
        dataset=dataset,
        formats=[CSV.name],
    )
    try:
        request = AdhocExportConfig(**asked, tenant=caller.tenant, dataset=dataset, formats=[CSV.name])
    except ValidationError as invalid:
        raise refused(refused_fields(invalid, CsvRequest.model_fields)) from None
    if (refusal := stream_refusal(request)) is not None:
        field, message = refusal
        errors = [{"field": f"body.{field}", "message": message}]
        raise refused(Problem(400, "unsupported_option", "Bad Request", f"{field}: {message}", errors=errors))
    source = SourceDatabase(url=platform.config.source_url)
    email = user_email(source.source_url, caller.tenant, caller.user_id)
    if email is None:  # the tenant or the token's user is gone from the source
        raise not_found()
    request = request.model_copy(update={"requested_by": requester(email, caller.user_id)})
    try:
        started = start_csv(platform.history, source, request, caller)
    except UnknownTenant:
        raise not_found() from None
    headers = {
        "Content-Disposition": f'attachment; filename="{started.name}"',
        "X-Export-Id": started.export_id,
    }
    return StreamedFile(started.first, started.rest, media_type=CSV.content_type, headers=headers)
