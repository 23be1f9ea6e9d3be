"""The PostgreSQL source drops its connection while the synchronous CSV is being made: before the first
byte the client gets a 503 problem; after it, a transfer that ends without its last chunk (an error in
any HTTP client, never a shorter file that looks whole). Either way the history row says ``failed``,
as it does when the client leaves before the end."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy.engine import make_url

from export_platform.api.config import ApiConfig
from export_platform.tracking.history import ExportHistory
from export_platform_tests.support.api_server import bearer, serving
from export_platform_tests.support.cuttable_proxy import CuttableProxy
from export_platform_tests.support.streaming_source import StreamingSource, streaming_source

pytestmark = pytest.mark.faults

# About 30 MB of line items on the wire: the first batch the driver hands over is ~20 MB.
LINE_ITEMS = 450_000
EARLY = 1024 * 1024  # into the line items' read, past what each connection's set-up receives
LATE = 25 * 1024 * 1024  # after the first batch, so after the answer has started


@pytest.fixture(scope="module")
def source() -> Iterator[StreamingSource]:
    with streaming_source(LINE_ITEMS) as seeded:
        yield seeded


@pytest.fixture
def proxied(
    source: StreamingSource, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, CuttableProxy]]:
    """The API, reading the source (and its own tables) through a proxy that can cut connections."""
    url = make_url(source.url)
    proxy = CuttableProxy(url.port or 5432)
    proxy.up()
    through = url.set(port=proxy.port).render_as_string(hide_password=False)
    config = ApiConfig(source_url=through, artifact_root=str(tmp_path_factory.mktemp("artifacts")))
    try:
        with serving(config) as base:
            yield f"{base}/v1/tenants/{source.tenant}/exports/sale_items.csv", proxy
    finally:
        proxy.down()


def history_row(source: StreamingSource, export_id: str) -> dict:
    return next(
        r for r in ExportHistory(url=source.url).entries(tenant=source.tenant) if r["id"] == export_id
    )


def test_the_whole_file_when_nothing_is_cut(
    source: StreamingSource, proxied: tuple[str, CuttableProxy]
) -> None:
    url, _ = proxied
    response = httpx.post(url, json=source.october, headers=bearer(source.exporter_token), timeout=120)
    assert response.status_code == 200
    assert response.content.count(b"\r\n") == source.line_items + 1  # no line item holds a line break
    assert history_row(source, response.headers["x-export-id"])["status"] == "success"


def test_a_drop_before_the_first_byte_is_a_503_problem(
    source: StreamingSource, proxied: tuple[str, CuttableProxy]
) -> None:
    url, proxy = proxied
    proxy.drop_connections_after(EARLY, count=1)
    response = httpx.post(url, json=source.october, headers=bearer(source.exporter_token), timeout=120)
    assert proxy.drops_left == 0
    assert response.status_code == 503, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["error_code"] == "source_unavailable" and response.headers["retry-after"]
    [failed] = [
        r
        for r in ExportHistory(url=source.url).entries(tenant=source.tenant, status="failed")
        if r["user_id"]
    ]
    assert failed["dataset"] == "sale_items" and "SourceUnavailable" in failed["error_message"]


def test_a_drop_after_the_first_byte_cuts_the_transfer_short(
    source: StreamingSource, proxied: tuple[str, CuttableProxy]
) -> None:
    url, proxy = proxied
    proxy.drop_connections_after(LATE, count=1)
    received = 0
    with httpx.stream(
        "POST", url, json=source.october, headers=bearer(source.exporter_token), timeout=120
    ) as r:
        assert r.status_code == 200
        with pytest.raises(httpx.RemoteProtocolError, match="incomplete chunked read"):
            for chunk in r.iter_bytes():
                received += len(chunk)
        export_id = r.headers["x-export-id"]
    assert proxy.drops_left == 0 and received > 1024 * 1024
    row = history_row(source, export_id)
    assert row["status"] == "failed" and "SourceUnavailable" in row["error_message"]
    assert row["record_count"] is None and row["sha256"] is None


def test_a_client_that_leaves_early_fails_the_row(
    source: StreamingSource, proxied: tuple[str, CuttableProxy]
) -> None:
    url, _ = proxied
    with httpx.stream(
        "POST", url, json=source.october, headers=bearer(source.exporter_token), timeout=120
    ) as r:
        assert r.status_code == 200
        next(r.iter_bytes())
        export_id = r.headers["x-export-id"]
    deadline = time.monotonic() + 30
    while (row := history_row(source, export_id))["status"] == "processing" and time.monotonic() < deadline:
        time.sleep(0.1)
    assert row["status"] == "failed" and row["error_message"].startswith("ClientLeft: the client left after")
