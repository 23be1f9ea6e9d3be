"""A webhook receiver for tests: a real HTTP server on 127.0.0.1 (``http.server`` in a thread) that
keeps every request it gets, checks its signature as a tenant's receiver would (its own HMAC-SHA256
over ``"<t>.<body>"`` with the secret it was given, and ``t`` within five minutes of its clock), and
answers with the statuses it is told to, or late, to make a timeout."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from export_platform_tests.support.ports import free_port

TOLERANCE_SECONDS = 300


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float
    signature_valid: bool | None
    """None when the receiver has no secret to check with (a Slack webhook)."""

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    url: str
    secret: str | None = None
    statuses: list[int] = field(default_factory=list)
    """The statuses to answer with, in turn; 200 once they run out."""
    delay_seconds: float = 0.0
    """How long to wait before answering each request."""
    received: list[Received] = field(default_factory=list)

    def check(self, body: bytes, header: str | None) -> bool | None:
        if self.secret is None:
            return None
        parts = dict(p.split("=", 1) for p in (header or "").split(",") if "=" in p)
        stamp = parts.get("t", "")
        if not stamp.isdigit() or abs(time.time() - int(stamp)) > TOLERANCE_SECONDS:
            return False
        mac = hmac.new(self.secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(mac, parts.get("v1", ""))


@contextlib.contextmanager
def webhook_receiver(path: str = "/hook") -> Iterator[Receiver]:
    port = free_port()
    receiver = Receiver(f"http://127.0.0.1:{port}{path}")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # http.server's name for it
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            receiver.received.append(
                Received(
                    self.path,
                    dict(self.headers.items()),
                    body,
                    time.monotonic(),
                    receiver.check(body, self.headers.get("X-Export-Signature")),
                )
            )
            time.sleep(receiver.delay_seconds)
            status = receiver.statuses.pop(0) if receiver.statuses else 200
            try:
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client timed out and left

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
