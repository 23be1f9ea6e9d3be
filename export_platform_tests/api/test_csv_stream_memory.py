"""A million line items from PostgreSQL through the synchronous CSV endpoint of a real
``export-platform api`` process: every row arrives, and the server's memory stays flat while it
streams, since it holds a batch at a time, never the file."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from export_platform_tests.support.api_server import api_process, bearer
from export_platform_tests.support.streaming_source import StreamingSource, streaming_source

pytestmark = pytest.mark.load

LINE_ITEMS = 1_000_000
GROWTH = 1.25  # the peak over the last half of the stream, against the first half's


@pytest.fixture(scope="module")
def source() -> Iterator[StreamingSource]:
    with streaming_source(LINE_ITEMS) as seeded:
        yield seeded


def server_pid(port: int) -> int:
    """The process serving on ``port``: the one started with ``--port <port>``."""
    for entry in Path("/proc").iterdir():
        try:
            arguments = (entry / "cmdline").read_bytes().split(b"\0")
        except (OSError, ValueError):
            continue
        if entry.name.isdigit() and b"--port" in arguments and str(port).encode() in arguments:
            return int(entry.name)
    raise LookupError(f"no process serves on port {port}")


def rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS"))) / 1024


def test_a_million_rows_stream_with_flat_server_memory(source: StreamingSource, tmp_path: Path) -> None:
    env = {**os.environ, "EXPORT_SOURCE_URL": source.url, "EXPORT_ARTIFACT_ROOT": str(tmp_path / "artifacts")}
    with api_process(env, tmp_path / "api.log") as base:
        pid = server_pid(int(base.rsplit(":", 1)[1]))
        samples: list[tuple[int, float]] = []  # (bytes received so far, server RSS in MB)
        received, done = 0, threading.Event()

        def sample() -> None:
            while not done.is_set():
                samples.append((received, rss_mb(pid)))
                time.sleep(0.05)

        sampler = threading.Thread(target=sample)
        url = f"{base}/v1/tenants/{source.tenant}/exports/sale_items.csv"
        lines, last = 0, b""
        with httpx.stream(
            "POST", url, json=source.october, headers=bearer(source.exporter_token), timeout=300
        ) as r:
            assert r.status_code == 200
            sampler.start()
            for chunk in r.iter_bytes():
                received += len(chunk)
                # Records end in CRLF (a text may hold a bare line break); a CRLF may span two chunks.
                lines += chunk.count(b"\r\n") + (last == b"\r" and chunk[:1] == b"\n")
                last = chunk[-1:]
        done.set()
        sampler.join()
    assert lines == source.line_items + 1 >= LINE_ITEMS * 0.95 + 1
    first_half = [rss for at, rss in samples if at < received / 2]
    second_half = [rss for at, rss in samples if at >= received / 2]
    assert len(first_half) > 10 and len(second_half) > 10
    assert max(second_half) <= GROWTH * max(first_half), (max(first_half), max(second_half))
    print(f"server RSS: first half peak {max(first_half):.0f} MB, second half peak {max(second_half):.0f} MB")
