"""A file sent while it is made: its pieces go out as chunks (``Transfer-Encoding: chunked``) as the
producer makes them, so neither side holds the whole file.

Once the first byte is out the status cannot change, so a producer that fails later ends the response
without the last, empty chunk and the connection is closed: every HTTP client then reports an
incomplete transfer, and none can mistake the bytes it got for a whole, shorter file. The route makes
the first piece before answering, so an error before that is still a problem document. A client that
leaves early stops the producer (``close()`` at the piece it was making), which records why.
"""

from __future__ import annotations

import logging
from collections.abc import Generator, Mapping

import anyio
from starlette.concurrency import run_in_threadpool
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

log = logging.getLogger(__name__)


def _close(pieces: Generator[bytes, None, None]) -> None:
    """Stop a producer the client will not read to the end; it may raise to record why it stopped."""
    try:
        pieces.close()
    except Exception as exc:
        log.info("stopped making a file before its end: %s", exc)


class StreamedFile(StreamingResponse):
    def __init__(
        self, first: bytes, rest: Generator[bytes, None, None], *, media_type: str, headers: Mapping[str, str]
    ) -> None:
        super().__init__(iter(()), media_type=media_type, headers=headers)
        self.first, self.rest = first, rest

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async with anyio.create_task_group() as watching:

            async def client_left() -> None:
                while (await receive())["type"] != "http.disconnect":
                    continue
                watching.cancel_scope.cancel()

            watching.start_soon(client_left)
            try:
                await self._send(send)
            finally:
                with anyio.CancelScope(shield=True):
                    await run_in_threadpool(_close, self.rest)
            watching.cancel_scope.cancel()

    async def _send(self, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        piece: bytes | None = self.first
        while piece is not None:
            if piece:
                await send({"type": "http.response.body", "body": piece, "more_body": True})
            try:
                piece = await run_in_threadpool(next, self.rest, None)
            except Exception as exc:  # recorded by the producer; the client must not see a whole file
                log.warning("ended a streamed file without its last chunk: %s: %s", type(exc).__name__, exc)
                return
        await send({"type": "http.response.body", "body": b"", "more_body": False})
