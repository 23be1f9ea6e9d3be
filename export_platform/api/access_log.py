"""One log line per request: who (the token's id, never its secret), what (method and path, without
the query string, where a careless client might put a token), and the outcome (status, time taken).

Uvicorn's own access log prints the query string, so ``server.serve`` turns it off in favour of this.
"""

from __future__ import annotations

import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("export_platform.api.access")


class AccessLog:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started, status = time.perf_counter(), 500

        async def recording(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, recording)
        finally:
            client = scope.get("client") or ("-", 0)
            token = scope.get("state", {}).get("token_id", "-")
            log.info(
                '%s "%s %s" %d %.0f ms token %s',
                client[0],
                scope["method"],
                scope["path"],
                status,
                (time.perf_counter() - started) * 1000,
                token,
            )
