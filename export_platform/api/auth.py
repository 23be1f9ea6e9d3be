"""Who is calling: a bearer token of one tenant, one user and one role, checked on every request to
``/v1/tenants/{tenant}/...``.

In order: no token or an unusable one answers 401 (with ``WWW-Authenticate: Bearer``); a token over
its request rate 429; a token of another tenant 404, exactly as for a tenant or object that does not
exist; a role below the route's 403. A route module makes its router with ``tenant_router()`` and
declares the role a route needs by the type of its ``caller`` argument (``Viewer``, ``Exporter`` or
``Admin``); every route of such a router needs a valid token of the path's tenant, even one that
declares no role.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from export_platform.api.platform import Platform, current_platform
from export_platform.api.problems import Problem, ProblemDocument, not_found, rate_limited
from export_platform.tracking.api_tokens import TokenRefused, role_allows
from export_platform.tracking.schema import ROLES

bearer = HTTPBearer(
    auto_error=False,
    scheme_name="token",
    description="A token from `export-platform tokens issue`, sent as `Authorization: Bearer ept_...`.",
)
_REFUSED = {
    "invalid": "The bearer token is not one this API issued, or it was mistyped.",
    "expired": "The bearer token has expired; ask an administrator for a new one.",
    "revoked": "The bearer token has been revoked; ask an administrator for a new one.",
}


@dataclass(frozen=True)
class Caller:
    """The token a request came with: whom it acts for, in which tenant, with which role."""

    token_id: str
    tenant: str
    user_id: int
    role: str


def _unauthorized(error_code: str, detail: str, *, invalid_token: bool) -> Problem:
    challenge = 'Bearer realm="export-platform"' + (', error="invalid_token"' if invalid_token else "")
    return Problem(401, error_code, "Unauthorized", detail, headers={"WWW-Authenticate": challenge})


def authenticated(
    request: Request,
    tenant: Annotated[str, Path(description="The tenant's slug, e.g. acme.")],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    platform: Annotated[Platform, Depends(current_platform)],
) -> Caller:
    """The caller of a tenant route, or the problem that stops the request."""
    if credentials is None:
        detail = "This needs a bearer token: send Authorization: Bearer <token>."
        raise _unauthorized("token_missing", detail, invalid_token=False)
    try:
        token = platform.tokens.verify(credentials.credentials)
    except TokenRefused as refused:
        raise _unauthorized(f"token_{refused.reason}", _REFUSED[refused.reason], invalid_token=True) from None
    request.state.token_id = token.id  # for the access log
    wait = platform.limiter.take(token.id)
    if wait is not None:
        raise rate_limited(wait, "This token sent more requests than its rate allows;")
    if tenant != token.tenant:
        raise not_found()
    caller = Caller(token.id, token.tenant, token.user_id, token.role)
    request.state.caller = caller  # for recording a request refused before its route runs
    return caller


def caller_of(request: Request) -> Caller | None:
    """The caller that the request's bearer token names, if it is a valid token of the path's tenant;
    None otherwise. Unlike ``authenticated`` it takes nothing from the token's rate: it is for
    recording a request refused before its dependencies ran (a body that is not JSON)."""
    scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not credentials:
        return None
    platform: Platform = request.app.state.platform
    try:
        token = platform.tokens.verify(credentials.strip())
    except TokenRefused:
        return None
    if request.path_params.get("tenant") != token.tenant:
        return None
    return Caller(token.id, token.tenant, token.user_id, token.role)


def _requiring(role: str) -> Any:
    def check(caller: Annotated[Caller, Depends(authenticated)]) -> Caller:
        if not role_allows(caller.role, role):
            allowed = " or ".join(ROLES[ROLES.index(role) :])
            detail = f"Only a token with the {allowed} role may do this; this one has the {caller.role} role."
            raise Problem(403, "insufficient_role", "Forbidden", detail)
        return caller

    return check


Viewer = Annotated[Caller, Depends(_requiring("viewer"))]
"""Reads history, notification settings and artifacts, and downloads files."""
Exporter = Annotated[Caller, Depends(_requiring("exporter"))]
"""A viewer who may also request exports."""
Admin = Annotated[Caller, Depends(_requiring("admin"))]
"""An exporter who may also change schedules and notification settings."""

_PROBLEMS: dict[int | str, dict[str, Any]] = {
    status: {"model": ProblemDocument, "description": description}
    for status, description in {
        400: "A body that is not JSON",
        401: "No token, or one that is invalid, expired or revoked",
        403: "The token's role may not do this",
        404: "Not found, or not this token's tenant's",
        413: "A body over the size limit",
        422: "Invalid input; errors names each field",
        429: "Over the token's request rate; see Retry-After",
        503: "The platform database or the source is unreachable",
    }.items()
}


def tenant_router(**kwargs: Any) -> APIRouter:
    """A router for paths under ``/v1/tenants/{tenant}``: every route on it needs a token of that
    tenant, and documents the problems that may answer it."""
    return APIRouter(
        prefix="/v1/tenants/{tenant}", dependencies=[Depends(authenticated)], responses=_PROBLEMS, **kwargs
    )
