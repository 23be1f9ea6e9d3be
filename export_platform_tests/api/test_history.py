"""The history endpoints: filters, cursor pages that return every row once, the old system's export
fields with the user who asked, and statistics whose success rate follows the exact rounding rule."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from fractions import Fraction
from urllib.parse import urlsplit

import httpx
import pytest

from export_platform_tests.support.api_server import bearer
from export_platform_tests.support.api_testbed import ACME_USER, PUBLIC_URL, ApiTestbed
from export_platform_tests.support.seed_plan import MONTH, TENANT

PARTITION = f"{MONTH}|{TENANT}"
BILLS_FAILED = 31


@pytest.fixture(scope="module")
def client(api: str, testbed: ApiTestbed) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"{api}/v1/tenants/{TENANT}/", headers=bearer(testbed.tokens["viewer"])) as c:
        yield c


@pytest.fixture(scope="module")
def attempts(testbed: ApiTestbed) -> dict[str, list[str]]:
    """acme's bills PDF: 1 success, 31 failed, 1 pending; accounts workbooks: 2 successes, one of
    them e-mailed, recorded through ``attempt``; all asked for by one user."""
    history = testbed.history
    asked = {"tenant": TENANT, "requested_by": "ana@acme.example", "user_id": ACME_USER, "run_id": None}
    ids: dict[str, list[str]] = {"bills_success": [], "bills_failed": [], "bills_pending": [], "accounts": []}
    first = history.start(**asked, dataset="bills", fmt="pdf", partition_key=PARTITION)
    history.move(first, "processing")
    history.move(
        first,
        "success",
        record_count=10,
        file_size_bytes=1000,
        sha256="0" * 64,
        uri=f"s3://b/{TENANT}/exports/bills/{MONTH}/bills_{TENANT}_{MONTH}.pdf",
    )
    ids["bills_success"].append(first)
    for _ in range(BILLS_FAILED):
        failed = history.start(**asked, dataset="bills", fmt="pdf", partition_key=PARTITION)
        history.move(failed, "failed", error_message="SourceUnavailable: the source did not answer")
        ids["bills_failed"].append(failed)
    ids["bills_pending"].append(history.start(**asked, dataset="bills", fmt="pdf", partition_key=PARTITION))
    for records, size in ((5, 300), (7, 500)):
        with history.attempt(**asked, dataset="accounts", fmt="xlsx", partition_key=PARTITION) as attempt:
            attempt.published(
                record_count=records,
                file_size_bytes=size,
                sha256="1" * 64,
                uri=f"s3://b/{TENANT}/exports/accounts/{MONTH}/accounts_{TENANT}_{MONTH}.xlsx",
            )
        ids["accounts"].append(attempt.id)
    history.move(ids["accounts"][0], "emailed")
    return ids


def all_pages(client: httpx.Client, **params: object) -> list[dict]:
    items, cursor = [], None
    while True:
        page = client.get("history", params={**params, **({"cursor": cursor} if cursor else {})}).json()
        items += page["items"]
        if not (cursor := page["next_cursor"]):
            return items


def test_cursor_pages_return_every_row_once_newest_first(
    client: httpx.Client, testbed: ApiTestbed, attempts: dict
) -> None:
    items = all_pages(client, limit=7)
    stored = testbed.history.entries(tenant=TENANT, limit=10_000)
    assert [i["export_id"] for i in items] == [r["id"] for r in stored]
    assert len(items) == len({i["export_id"] for i in items}) >= 36
    created = [dt.datetime.fromisoformat(i["created_at"]) for i in items]
    assert created == sorted(created, reverse=True)


def test_filters_select_by_dataset_format_status_and_day(client: httpx.Client, attempts: dict) -> None:
    failed = client.get("history", params={"dataset": "bills", "status": "failed", "limit": 200}).json()
    assert sorted(i["export_id"] for i in failed["items"]) == sorted(attempts["bills_failed"])
    workbooks = client.get("history", params={"format": "xlsx"}).json()["items"]
    assert sorted(i["export_id"] for i in workbooks) == sorted(attempts["accounts"])
    today = dt.datetime.now(dt.UTC).date()
    tomorrow = today + dt.timedelta(days=1)
    assert client.get("history", params={"date_from": str(tomorrow)}).json()["items"] == []
    assert (
        len(client.get("history", params={"date_from": str(today), "date_to": str(today)}).json()["items"])
        == 36
    )
    backwards = client.get("history", params={"date_from": str(tomorrow), "date_to": str(today)})
    assert backwards.status_code == 422
    assert backwards.json()["errors"] == [
        {"field": "query.date_to", "message": "must not be before date_from"}
    ]
    for params, field in (
        ({"cursor": "bm90IGEgY3Vyc29y"}, "query.cursor"),
        ({"status": "lost"}, "query.status"),
        ({"limit": 0}, "query.limit"),
    ):
        refused = client.get("history", params=params)
        assert refused.status_code == 422 and refused.json()["error_code"] == "invalid_request"
        assert [e["field"] for e in refused.json()["errors"]] == [field]


def test_one_export_shows_the_old_systems_fields_and_who_asked(
    client: httpx.Client, api: str, testbed: ApiTestbed, attempts: dict
) -> None:
    emailed = client.get(f"history/{attempts['accounts'][0]}").json()
    assert emailed["success"] is True and emailed["status"] == "emailed" and emailed["error_code"] is None
    assert (emailed["user_id"], emailed["requested_by"]) == (ACME_USER, "ana@acme.example")
    assert (emailed["record_count"], emailed["file_size_bytes"], emailed["month"]) == (5, 300, MONTH)
    assert "uri" not in emailed
    assert emailed["download_url"] == (
        f"{PUBLIC_URL}/v1/tenants/{TENANT}/artifacts/accounts/{MONTH}/accounts_{TENANT}_{MONTH}.xlsx"
    )
    failed = client.get(f"history/{attempts['bills_failed'][0]}").json()
    assert (failed["success"], failed["error_code"], failed["download_url"]) == (False, "export_failed", None)
    assert failed["error_message"] == "SourceUnavailable: the source did not answer"

    [published] = [i for i in all_pages(client, dataset="sales") if i["format"] == "csv"]
    assert published["user_id"] is None and published["success"]
    download = httpx.get(
        api + urlsplit(published["download_url"]).path, headers=bearer(testbed.tokens["viewer"])
    )
    assert download.status_code == 200
    assert download.headers["etag"] == f'"{published["sha256"]}"'
    assert len(download.content) == published["file_size_bytes"]


def test_recent_lists_the_newest_attempts(client: httpx.Client, attempts: dict) -> None:
    recent = client.get("history/recent", params={"days": 1, "limit": 5}).json()["items"]
    assert recent == client.get("history", params={"limit": 5}).json()["items"]


def half_away(value: Fraction) -> Decimal:
    """``value`` to two decimals, half away from zero, worked out here on its own."""
    hundredths = value * 100
    whole = int(hundredths + Fraction(1, 2)) if hundredths >= 0 else -int(-hundredths + Fraction(1, 2))
    return Decimal(whole) / 100


def test_statistics_count_rate_and_group_by_dataset_format_and_period(
    client: httpx.Client, attempts: dict
) -> None:
    bills = client.get("history/statistics", params={"dataset": "bills"}).json()
    rate = half_away(Fraction(1 * 100, 1 + BILLS_FAILED))  # 3.125 %: 3.13 half away, 3.12 half to even
    expected = {
        "attempts": 1 + BILLS_FAILED + 1,
        "succeeded": 1,
        "failed": BILLS_FAILED,
        "by_status": {
            "pending": 1,
            "processing": 0,
            "success": 1,
            "failed": BILLS_FAILED,
            "emailed": 0,
            "expired": 0,
        },
        "success_rate_percent": str(rate),
        "bytes": 1000,
        "records": 10,
    }
    assert rate == Decimal("3.13") and bills["total"] == expected
    assert bills["by_dataset"] == {"bills": expected} and bills["by_format"] == {"pdf": expected}
    assert bills["by_period"] == {dt.datetime.now(dt.UTC).strftime("%Y-%m"): expected}
    daily = client.get("history/statistics", params={"dataset": "bills", "period": "day"}).json()
    assert daily["by_period"] == {dt.datetime.now(dt.UTC).strftime("%Y-%m-%d"): expected}

    everything = client.get("history/statistics").json()
    accounts = everything["by_dataset"]["accounts"]
    assert (accounts["succeeded"], accounts["failed"], accounts["success_rate_percent"]) == (2, 0, "100.00")
    assert (accounts["bytes"], accounts["records"]) == (800, 12)
    assert everything["total"]["attempts"] == sum(d["attempts"] for d in everything["by_dataset"].values())
    nothing = client.get("history/statistics", params={"dataset": "inventory"}).json()
    assert nothing["total"]["attempts"] == 0 and nothing["total"]["success_rate_percent"] is None
