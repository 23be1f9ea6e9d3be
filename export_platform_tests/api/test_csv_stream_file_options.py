"""The synchronous CSV endpoint and the file options: a column selection is honoured (the stream is
the CSV export's columns in the order asked, by label or name), an unknown column answers 422 naming
the field, and compression, which a file sent while it is made cannot have, answers 400 naming it,
before anything is read or recorded."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator

import httpx
import pytest

from export_platform_tests.support.api_server import bearer, serving
from export_platform_tests.support.api_testbed import ApiTestbed, build_testbed
from export_platform_tests.support.seed_plan import MONTH, TENANT

OCTOBER = {"date_from": f"{MONTH}-01", "date_to": f"{MONTH}-31"}


@pytest.fixture(scope="module")
def testbed(tmp_path_factory: pytest.TempPathFactory) -> ApiTestbed:
    return build_testbed(tmp_path_factory.mktemp("csv-stream-options"))


@pytest.fixture(scope="module")
def api(testbed: ApiTestbed) -> Iterator[str]:
    with serving(testbed.config(requests_per_minute=60_000, burst=10_000)) as base:
        yield base


def stream(api: str, token: str, body: object) -> httpx.Response:
    return httpx.post(
        f"{api}/v1/tenants/{TENANT}/exports/sales.csv", json=body, headers=bearer(token), timeout=60
    )


def csv_rows(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def test_the_chosen_columns_in_their_order(api: str, testbed: ApiTestbed) -> None:
    published = (
        testbed.root / TENANT / "exports" / "sales" / MONTH / f"sales_{TENANT}_{MONTH}.csv"
    ).read_bytes()
    response = stream(api, testbed.tokens["exporter"], {**OCTOBER, "columns": ["Total", "receipt_number"]})
    assert response.status_code == 200, response.text
    assert response.content.decode("utf-8-sig").split("\r\n", 1)[0] == "Total,Receipt"
    whole = csv_rows(published)
    assert len(whole) > 100
    assert csv_rows(response.content) == [{"Total": r["Total"], "Receipt": r["Receipt"]} for r in whole]
    row = next(
        r for r in testbed.history.entries(tenant=TENANT) if r["id"] == response.headers["x-export-id"]
    )
    assert json.loads(row["filters"])["columns"] == ["Total", "receipt_number"]
    assert row["record_count"] == len(whole)


@pytest.mark.parametrize(
    ("body", "status", "field", "message"),
    [
        ({"compression": "gzip"}, 400, "body.compression", "sends the CSV while it is made, uncompressed"),
        ({"compression": "zip"}, 400, "body.compression", "start an ad-hoc export"),
        ({"columns": ["Total", "Colour"]}, 422, "body.columns", "sales has no column 'Colour'"),
    ],
)
def test_what_the_stream_cannot_do_is_refused_naming_the_field(
    api: str, testbed: ApiTestbed, body: dict, status: int, field: str, message: str
) -> None:
    before = len(testbed.history.entries(tenant=TENANT, limit=10_000))
    response = stream(api, testbed.tokens["exporter"], {**OCTOBER, **body})
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    [error] = response.json()["errors"]
    assert error["field"] == field and message in error["message"], error
    [refused, *older] = testbed.history.entries(tenant=TENANT, limit=10_000)  # recorded, as every refusal
    assert len(older) == before and refused["status"] == "failed" and field in refused["error_message"]
    testbed.forget([refused])
