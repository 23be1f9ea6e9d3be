"""The Export API in a real uvicorn on 127.0.0.1, for tests that talk to it over HTTP with httpx:
in a thread of the test process (``serving``: fast, any ``ApiConfig``), or as the real
``export-platform api`` command in its own process (``api_process``: its logs in a file)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import uvicorn

from export_platform.api.app import create_app
from export_platform.api.config import ApiConfig
from export_platform_tests.support.ports import free_port
from export_platform_tests.support.project import BIN

STARTUP_SECONDS = 60


@contextlib.contextmanager
def serving(config: ApiConfig) -> Iterator[str]:
    """``create_app(config)`` on a free port, served by uvicorn in a thread; yields the base URL once
    the server accepts connections, and stops it afterwards. Logging is left as the tests set it."""
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(config), host="127.0.0.1", port=free_port(), log_config=None, access_log=False
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "the API did not start"
            time.sleep(0.02)
        yield f"http://127.0.0.1:{server.config.port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextlib.contextmanager
def api_process(env: dict[str, str], log: Path, *options: str) -> Iterator[str]:
    """``export-platform api`` on a free port in its own process group, everything it prints going to
    ``log``; yields the base URL once the OpenAPI document answers, and stops the group afterwards."""
    port = free_port()
    with log.open("w") as output:
        server = subprocess.Popen(
            [str(BIN / "export-platform"), "api", "--port", str(port), *options],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            assert server.poll() is None, f"export-platform api exited:\n{log.read_text()[-3000:]}"
            assert time.monotonic() < deadline, (
                f"export-platform api did not start:\n{log.read_text()[-3000:]}"
            )
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{base}/v1/openapi.json", timeout=2).status_code == 200:
                    break
            time.sleep(0.1)
        yield base
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


def bearer(token: str) -> dict[str, str]:
    """The header that presents ``token``."""
    return {"Authorization": f"Bearer {token}"}
