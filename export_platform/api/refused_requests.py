"""A request the API refuses for what it asks (a 422 or 400 on an export request) still leaves a
history row, as a refused ad-hoc run does: ``failed``, for the caller's tenant and user, with which
fields were refused and why. The tenant's people and its auditors then see every attempt, including
the ones that never started; the refused values themselves are not stored, only the fields' names.

Refusals come from two places: the route's own checks (``record_refused``), and FastAPI's validation
of the body against its model before the route runs (``RecordsRefusals``, the export routers' route
class, which records them from the caller the token dependency found).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Coroutine, Mapping, Sequence
from typing import Any

from fastapi import Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute

from export_platform.api.auth import Caller, caller_of
from export_platform.api.platform import Platform
from export_platform.api.problems import Problem, invalid_request
from export_platform.api.run_tags import requester
from export_platform.catalog import EXPORT_FORMATS
from export_platform.errors import ExportPlatformError
from export_platform.source.url import SourceUrl
from export_platform.source.users import user_email
from export_platform.tracking.history import ExportHistory

MESSAGE_CHARS = 4000


def _asker(source_url: str, caller: Caller) -> str:
    """Who asked, as the history shows it; the user's id alone when the source cannot say."""
    email = None
    with contextlib.suppress(ExportPlatformError):  # a refusal is recorded even with the source down
        email = user_email(SourceUrl(source_url), caller.tenant, caller.user_id)
    return requester(email, caller.user_id) if email is not None else f"user {caller.user_id}"


def _message(problem: Problem) -> str:
    lines = [f"{e['field']}: {e['message']}" for e in problem.errors or ()] or [problem.detail]
    return f"refused ({problem.status} {problem.error_code}): " + "; ".join(lines)


def record_refused(
    history: ExportHistory,
    source_url: str,
    caller: Caller,
    problem: Problem,
    *,
    dataset: Any,
    formats: Sequence[Any] | None,
) -> Problem:
    """Record ``problem``, the refusal of ``caller``'s request for ``dataset`` in ``formats`` (as
    asked: unknown names are left out), as one ``failed`` row per format asked for (one with no
    format when none is known); return ``problem`` for the route to raise."""
    known_dataset = dataset if isinstance(dataset, str) and dataset in EXPORT_FORMATS else ""
    offered = EXPORT_FORMATS.get(known_dataset, ())
    known_formats = list(dict.fromkeys(f for f in formats or () if isinstance(f, str) and f in offered))
    fields: Mapping[str, Any] = {"refused_fields": sorted({e["field"] for e in problem.errors or ()})}
    asker = _asker(source_url, caller)
    for fmt in known_formats or [""]:
        entry = history.start(
            tenant=caller.tenant,
            requested_by=asker,
            dataset=known_dataset,
            fmt=fmt,
            partition_key=None,
            run_id=None,
            filters=fields,
            user_id=caller.user_id,
        )
        history.move(entry, "failed", error_message=_message(problem)[:MESSAGE_CHARS])
    return problem


class RecordsRefusals(APIRoute):
    """The route class of routes that take export requests: a POST whose body FastAPI refuses before
    the route runs is recorded like a refusal in the route, then answered as any invalid request is.
    The dataset is the path's or the body's, the formats the body's (CSV on the CSV route)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def recording(request: Request) -> Response:
            try:
                return await handler(request)
            except RequestValidationError as refused:
                if request.method == "POST":
                    asked = await _asked(request)
                    await run_in_threadpool(_record_invalid, request, refused, asked)
                raise

        return recording


async def _asked(request: Request) -> dict[str, Any]:
    """The request's JSON body as far as it is an object; empty otherwise."""
    try:
        asked = json.loads(await request.body())
    except ValueError:
        return {}
    return asked if isinstance(asked, dict) else {}


def _record_invalid(request: Request, refused: RequestValidationError, asked: dict) -> None:
    """Record the refusal for the caller the token dependency found, or for a body that is not JSON
    (refused before any dependency ran) the caller its token names; nothing without a caller."""
    caller = getattr(request.state, "caller", None) or caller_of(request)
    if caller is None or caller.role == "viewer":  # a viewer's request is refused for its role, not this
        return
    platform: Platform = request.app.state.platform
    dataset = request.path_params.get("dataset", asked.get("dataset"))
    formats = ["csv"] if "dataset" in request.path_params else asked.get("formats")
    record_refused(
        platform.history,
        platform.config.source_url,
        caller,
        invalid_request(refused),
        dataset=dataset,
        formats=formats if isinstance(formats, list) else None,
    )
