"""The Export API's ASGI app: its routers, error handling and limits, put together once."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

import sqlalchemy as sa
from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from export_platform.api.access_log import AccessLog
from export_platform.api.body_limit import BodySizeLimit
from export_platform.api.config import ApiConfig
from export_platform.api.platform import Platform
from export_platform.api.problems import install_problem_handlers
from export_platform.api.rate_limit import RateLimiter
from export_platform.api.routes import (
    artifacts,
    csv_stream,
    exports,
    history,
    notifications,
    schedules,
    signed_downloads,
)

log = logging.getLogger(__name__)

ROUTERS = (
    history.router,
    notifications.router,
    artifacts.router,
    signed_downloads.router,
    csv_stream.router,
    exports.router,
    schedules.router,
)
"""Every resource group the API serves; a new group is one more router here."""

DESCRIPTION = """\
Tenants' export history, notification settings and published files. Every path under
`/v1/tenants/{tenant}/` needs a bearer token of that tenant (`export-platform tokens issue`);
errors are RFC 9457 problem documents with a stable `error_code`.
"""


def create_app(config: ApiConfig | None = None) -> FastAPI:
    """The app, serving from ``config`` (by default the environment the code location reads)."""
    config = config or ApiConfig()
    platform = Platform(config, RateLimiter(config.requests_per_minute, config.burst))

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Connect (and migrate the platform tables) before the first request; a database that is
        # down now is not fatal: requests answer 503 until it is back.
        try:
            await run_in_threadpool(lambda: platform.engine)
        except sa.exc.DBAPIError as exc:
            log.warning("platform database unavailable at start-up (%s); answering 503", type(exc).__name__)
        yield

    app = FastAPI(
        title="Export Platform API",
        version="1",
        description=DESCRIPTION,
        openapi_url="/v1/openapi.json",
        docs_url="/docs",
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.platform = platform
    install_problem_handlers(app)
    app.add_middleware(BodySizeLimit, max_bytes=config.max_body_bytes)
    app.add_middleware(AccessLog)  # added last, so outermost: it sees every answer, 413s included
    for router in ROUTERS:
        app.include_router(router)
    return app
