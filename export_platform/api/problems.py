"""Every error the API answers is an RFC 9457 problem document (``application/problem+json``):
``type``, ``title``, ``status``, ``detail`` and a stable ``error_code`` that clients may branch on
(docs/api.md lists them). A problem says what the caller can act on and never carries a stack
trace, a secret, a URL of the platform's own or a file path: unexpected errors are logged here, on
the server, and answered with a generic 500.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException

from export_platform.errors import SourceUnavailable
from export_platform.source.connection import first_line

log = logging.getLogger(__name__)

MEDIA_TYPE = "application/problem+json"
NOT_FOUND_DETAIL = "There is nothing at this address that this token may see."


class FieldError(BaseModel):
    field: str
    message: str


class ProblemDocument(BaseModel):
    """RFC 9457 problem details, as every error of this API is answered."""

    type: str
    title: str
    status: int
    detail: str
    error_code: str
    errors: list[FieldError] | None = None


class Problem(Exception):
    """An answer that is an error, raised anywhere below a route and turned into its document here."""

    def __init__(
        self,
        status: int,
        error_code: str,
        title: str,
        detail: str,
        *,
        headers: Mapping[str, str] | None = None,
        errors: list[dict[str, str]] | None = None,
    ) -> None:
        super().__init__(f"{status} {error_code}: {detail}")
        self.status, self.error_code, self.title, self.detail = status, error_code, title, detail
        self.headers = dict(headers or {})
        self.errors = errors

    def response(self) -> JSONResponse:
        body: dict[str, object] = {
            "type": f"/v1/problems/{self.error_code}",
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            "error_code": self.error_code,
        }
        if self.errors is not None:
            body["errors"] = self.errors
        return JSONResponse(body, status_code=self.status, headers=self.headers, media_type=MEDIA_TYPE)


def not_found() -> Problem:
    """The one answer for what is missing and for what belongs to someone else: the same bytes, so a
    caller cannot tell another tenant's export id, file or tenant slug from a made-up one."""
    return Problem(404, "not_found", "Not Found", NOT_FOUND_DETAIL)


def rate_limited(wait: int, detail: str) -> Problem:
    """429 with ``Retry-After``: the caller's bucket (``api.rate_limit``) is empty for ``wait`` seconds."""
    return Problem(
        429,
        "rate_limited",
        "Too Many Requests",
        f"{detail} retry in {wait} s.",
        headers={"Retry-After": str(wait)},
    )


def invalid(field: str, message: str) -> Problem:
    """Input the route refuses after it parsed, naming the field as validation errors do."""
    return Problem(
        422,
        "invalid_request",
        "Unprocessable Content",
        "The request has invalid fields; see errors.",
        errors=[{"field": field, "message": message}],
    )


def _field(location: tuple[object, ...]) -> str:
    """``("query", "limit")`` -> ``query.limit``; ``("body", "reply_to")`` -> ``body.reply_to``."""
    return ".".join(str(part) for part in location)


async def _problem(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, Problem)
    return exc.response()


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    """Routing's own answers (no such route, wrong method) as problems; 404 as every other 404."""
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        return not_found().response()
    if exc.status_code == 405:
        allow = {"Allow": exc.headers["Allow"]} if exc.headers and "Allow" in exc.headers else {}
        detail = "This address does not take that method; see Allow."
        return Problem(405, "method_not_allowed", "Method Not Allowed", detail, headers=allow).response()
    title = str(exc.detail) if isinstance(exc.detail, str) else "Error"
    return Problem(exc.status_code, "http_error", title, title).response()


def invalid_request(exc: RequestValidationError) -> Problem:
    """400 for a body that is not JSON at all; 422, naming each field and what is wrong, otherwise.
    The refused values themselves are not echoed back."""
    problems = list(exc.errors())
    if any(p["type"] == "json_invalid" for p in problems):
        return Problem(400, "malformed_body", "Bad Request", "The request body is not valid JSON.")
    errors = [
        {"field": _field(p["loc"]), "message": p["msg"].removeprefix("Value error, ")} for p in problems
    ]
    detail = "The request has invalid fields; see errors."
    return Problem(422, "invalid_request", "Unprocessable Content", detail, errors=errors)


async def _invalid_request(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return invalid_request(exc).response()


def unavailable(error_code: str, what: str) -> Problem:
    """503 for a part of the platform that does not answer: the API itself stays up and tells the
    client when to try again."""
    detail = f"The {what} cannot be reached right now; try again shortly."
    return Problem(503, error_code, "Service Unavailable", detail, headers={"Retry-After": "30"})


async def _database_down(request: Request, exc: Exception) -> JSONResponse:
    """The platform database stopped answering: the API stays up and says so until it is back."""
    assert isinstance(exc, sa.exc.DBAPIError)
    if not (isinstance(exc, sa.exc.OperationalError | sa.exc.InterfaceError) or exc.connection_invalidated):
        return await _unexpected(request, exc)
    log.warning("platform database unavailable: %s", first_line(exc.orig or exc))
    return unavailable("platform_unavailable", "platform database").response()


async def _source_down(request: Request, exc: Exception) -> JSONResponse:
    log.warning("source database unavailable: %s", exc)
    return unavailable("source_unavailable", "source database").response()


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.error("unexpected error answering %s %s", request.method, request.url.path, exc_info=exc)
    detail = "The server met an unexpected error; it has been logged."
    return Problem(500, "internal_error", "Internal Server Error", detail).response()


def _documented_as_problems(app: FastAPI) -> None:
    """List every error answer of ``app``'s OpenAPI document under the media type it is sent with:
    FastAPI puts a response model under ``application/json`` whatever the answer's type."""
    make = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        document = make()  # cached by FastAPI as app.openapi_schema, and changed in place here
        for operations in document["paths"].values():
            for operation in operations.values():
                for status, response in operation.get("responses", {}).items():
                    content = response.get("content", {})
                    if status[:1] in ("4", "5") and "application/json" in content:
                        content[MEDIA_TYPE] = content.pop("application/json")
        return document

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's way to adjust its document


def install_problem_handlers(app: FastAPI) -> None:
    """Answer every error ``app`` raises as a problem document, and document them so."""
    _documented_as_problems(app)
    app.add_exception_handler(Problem, _problem)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(sa.exc.DBAPIError, _database_down)
    app.add_exception_handler(SourceUnavailable, _source_down)
    app.add_exception_handler(Exception, _unexpected)
