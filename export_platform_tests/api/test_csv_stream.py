"""The synchronous CSV endpoint: the file it streams is byte for byte the CSV export of the same rows,
the attempt is in the history with the user who asked, and a request the ad-hoc rules refuse answers
422 naming the field, before anything is read."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator

import httpx
import pytest

from export_platform.source.url import SourceUrl
from export_platform.source.users import user_email
from export_platform_tests.support.api_server import bearer, serving
from export_platform_tests.support.api_testbed import ACME_USER, ApiTestbed, build_testbed
from export_platform_tests.support.seed_plan import MONTH, TENANT

OCTOBER = {"date_from": f"{MONTH}-01", "date_to": f"{MONTH}-31"}


@pytest.fixture(scope="module")
def testbed(tmp_path_factory: pytest.TempPathFactory) -> ApiTestbed:
    """A testbed of this module's own: every stream adds a history row, and the history tests count
    the shared testbed's rows."""
    return build_testbed(tmp_path_factory.mktemp("csv-stream"))


@pytest.fixture(scope="module")
def api(testbed: ApiTestbed) -> Iterator[str]:
    with serving(testbed.config(requests_per_minute=60_000, burst=10_000)) as base:
        yield base


def stream(api: str, token: str, dataset: str = "sales", body: object = None) -> httpx.Response:
    return httpx.post(
        f"{api}/v1/tenants/{TENANT}/exports/{dataset}.csv", json=body, headers=bearer(token), timeout=60
    )


@pytest.fixture(scope="module")
def published_sales_csv(testbed: ApiTestbed) -> bytes:
    """The sales CSV export of acme's October, as the monthly export asset published it."""
    return (testbed.root / TENANT / "exports" / "sales" / MONTH / f"sales_{TENANT}_{MONTH}.csv").read_bytes()


def test_the_stream_is_the_csv_export_of_the_same_rows_and_is_recorded(
    api: str, testbed: ApiTestbed, published_sales_csv: bytes
) -> None:
    response = stream(api, testbed.tokens["exporter"], body=OCTOBER)
    assert response.status_code == 200, response.text
    assert response.headers["transfer-encoding"] == "chunked" and "content-length" not in response.headers
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    name = f"sales_{TENANT}_{MONTH}-01_{MONTH}-31.csv"
    assert response.headers["content-disposition"] == f'attachment; filename="{name}"'
    assert response.content == published_sales_csv
    assert published_sales_csv.count(b"\r\n") > 100

    row = next(
        r for r in testbed.history.entries(tenant=TENANT) if r["id"] == response.headers["x-export-id"]
    )
    assert row["status"] == "success" and row["user_id"] == ACME_USER
    assert row["requested_by"] == user_email(SourceUrl(testbed.source_url), TENANT, ACME_USER)
    assert row["run_id"] is None and row["uri"] is None
    assert row["dataset"] == "sales" and row["format"] == "csv" and row["partition_key"] is None
    assert row["record_count"] == published_sales_csv.count(b"\r\n") - 1
    assert row["file_size_bytes"] == len(published_sales_csv)
    assert row["sha256"] == hashlib.sha256(published_sales_csv).hexdigest()
    assert json.loads(row["filters"]) == {
        **OCTOBER,
        "delimiter": ",",
        "include_bom": True,
        "include_header": True,
    }


def test_options_and_filters_apply_as_in_the_csv_export(
    api: str, testbed: ApiTestbed, published_sales_csv: bytes
) -> None:
    whole = published_sales_csv.removeprefix(b"\xef\xbb\xbf").split(b"\r\n")
    header = whole[0].decode().split(",")
    storefront_at = header.index("Storefront")
    storefront = whole[1].decode().split(",")[storefront_at]
    bare = stream(
        api,
        testbed.tokens["admin"],
        body={**OCTOBER, "include_bom": False, "include_header": False, "storefront": storefront},
    )
    assert bare.status_code == 200, bare.text
    kept = [line for line in whole[1:-1] if line.decode().split(",")[storefront_at] == storefront]
    assert 0 < len(kept) < len(whole) - 2
    assert bare.content == b"".join(line + b"\r\n" for line in kept)

    semicolons = stream(api, testbed.tokens["exporter"], body={**OCTOBER, "delimiter": ";"})
    assert semicolons.content.split(b"\r\n")[0] == b"\xef\xbb\xbf" + whole[0].replace(b",", b";")


def test_a_range_without_rows_is_the_header_alone(
    api: str, testbed: ApiTestbed, published_sales_csv: bytes
) -> None:
    empty = stream(api, testbed.tokens["exporter"], body={"date_from": "2020-01-01", "date_to": "2020-01-31"})
    assert empty.status_code == 200
    assert empty.content == published_sales_csv.split(b"\r\n")[0] + b"\r\n"
    assert stream(api, testbed.tokens["exporter"]).status_code == 200  # no body: the last 30 days


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"date_from": "2026-10-31", "date_to": "2026-10-01"}, "body.date_from", "must not be after date_to"),
        (
            {"date_from": "2026-01-01", "date_to": "2027-01-01"},
            "body.date_to",
            "a range covers at most a year",
        ),
        ({"date_from": "2026-10-01"}, "body.date_to", "give both date_from and date_to"),
        ({"date_from": "01/10/2026", "date_to": "2026-10-31"}, "body.date_from", "is not a date"),
        ({"date_preset": "all_time", "date_to": "2026-10-31"}, "body.date_preset", "either a preset"),
        ({"category": "Tools"}, "body.category", "does not apply to sales"),
        ({"delimiter": "|"}, "body.delimiter", "Input should be"),
        ({"min_balance": "12.345"}, "body.min_balance", "not an amount in cents"),
        ({"formats": ["pdf"]}, "body.formats", "Extra inputs are not permitted"),
        ({"page_budget": 5}, "body.page_budget", "Extra inputs are not permitted"),  # a PDF's, not a CSV's
        ({"requested_by": "schedule:Monthly"}, "body.requested_by", "Extra inputs are not permitted"),
    ],
)
def test_a_request_the_rules_refuse_answers_422_naming_the_field(
    api: str, testbed: ApiTestbed, body: dict, field: str, message: str
) -> None:
    before = len(testbed.history.entries(tenant=TENANT, limit=10_000))
    response = stream(api, testbed.tokens["exporter"], body=body)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["error_code"] == "invalid_request"
    [error] = problem["errors"]
    assert error["field"] == field and message in error["message"], error
    [row, *_] = testbed.history.entries(tenant=TENANT, limit=10_000)  # newest first
    assert len(testbed.history.entries(tenant=TENANT, limit=10_000)) == before + 1
    assert (row["status"], row["dataset"], row["format"], row["user_id"]) == (
        "failed",
        "sales",
        "csv",
        ACME_USER,
    )
    assert field in row["error_message"] and "invalid_request" in row["error_message"]
    testbed.forget([row])


def test_a_body_that_is_not_json_answers_400_and_an_unknown_dataset_422(
    api: str, testbed: ApiTestbed
) -> None:
    response = httpx.post(
        f"{api}/v1/tenants/{TENANT}/exports/sales.csv",
        content=b"{not json",
        headers={**bearer(testbed.tokens["exporter"]), "Content-Type": "application/json"},
    )
    assert response.status_code == 400 and response.json()["error_code"] == "malformed_body"
    [malformed, *_] = testbed.history.entries(tenant=TENANT, limit=1)
    assert (malformed["status"], malformed["dataset"], malformed["format"]) == ("failed", "sales", "csv")
    assert "malformed_body" in malformed["error_message"] and malformed["user_id"] == ACME_USER
    unknown = stream(api, testbed.tokens["exporter"], dataset="payroll")
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "path.dataset"
    [refused, *_] = testbed.history.entries(tenant=TENANT, limit=1)
    assert (refused["status"], refused["dataset"], refused["format"]) == ("failed", "", "")
    assert "path.dataset" in refused["error_message"] and refused["id"] != malformed["id"]
    testbed.forget([malformed, refused])
