"""Schedules over the API: created, read, replaced, paused and deleted by an admin with the rules of
``export-platform schedules`` (a refusal names the field, a second schedule of one name is a 409);
their due times worked out in their own timezone; another tenant's schedule answering the one 404;
and what needs Dagster (overdue, run now) answering 503 when it cannot be reached."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from zoneinfo import ZoneInfo

import httpx
import pytest

from export_platform.tracking.tenant_schedules import TenantScheduleSpec, TenantScheduleStore
from export_platform_tests.support.api_server import bearer
from export_platform_tests.support.api_testbed import PUBLIC_URL, ApiTestbed
from export_platform_tests.support.seed_plan import OTHER_TENANT, TENANT

NEW_YORK = ZoneInfo("America/New_York")


@pytest.fixture
def admin(api: str, testbed: ApiTestbed) -> Iterator[httpx.Client]:
    base = f"{api}/v1/tenants/{TENANT}/"
    with httpx.Client(base_url=base, headers=bearer(testbed.tokens["admin"])) as client:
        yield client


def daily(name: str, **fields: object) -> dict:
    return {"name": name, "datasets": ["sales"], "formats": ["csv"], "cadence": "daily", **fields}


def next_at(local: dt.time, zone: ZoneInfo, now: dt.datetime, weekday: int | None = None) -> dt.datetime:
    """The first instant after ``now`` that reads ``local`` on a wall clock in ``zone`` (on ``weekday``)."""
    day = now.astimezone(zone).date()
    while True:
        instant = dt.datetime.combine(day, local, zone)
        if instant > now and (weekday is None or day.weekday() == weekday):
            return instant.astimezone(dt.UTC)
        day += dt.timedelta(days=1)


def test_an_admin_creates_reads_replaces_pauses_and_deletes_a_schedule(
    admin: httpx.Client, testbed: ApiTestbed
) -> None:
    body = daily(
        "Daily sales",
        formats=["csv", "pdf"],
        time_of_day="06:30",
        timezone="America/New_York",
        recipients=["finance@acme.example"],
        subject="Sales",
    )
    created = admin.post("schedules", json=body)
    assert created.status_code == 201, created.text
    entry = created.json()
    schedule_id = entry["schedule_id"]
    assert created.headers["location"] == f"{PUBLIC_URL}/v1/tenants/{TENANT}/schedules/{schedule_id}"
    assert entry == {
        **body,
        "day_of_week": None,
        "day_of_month": None,
        "message": None,
        "period": "previous",
        "options": {},
        "webhooks": [],
        "slack_webhooks": [],
        "webhook_secrets": None,
        "schedule_id": schedule_id,
        "is_active": True,
        "created_at": entry["created_at"],
        "next_due_at": entry["next_due_at"],
    }
    now = dt.datetime.now(dt.UTC)
    assert dt.datetime.fromisoformat(entry["next_due_at"]) == next_at(dt.time(6, 30), NEW_YORK, now)
    stored = TenantScheduleStore(testbed.history.engine).get(schedule_id)
    assert stored is not None and stored.spec.tenant == TENANT and stored.spec.subject == "Sales"
    assert admin.get(f"schedules/{schedule_id}").json() == entry
    assert entry in admin.get("schedules").json()["items"]

    weekly = daily("Weekly sales", cadence="weekly", day_of_week=0, time_of_day="07:00")
    replaced = admin.put(f"schedules/{schedule_id}", json=weekly)
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["cadence"] == "weekly" and replaced.json()["recipients"] == []
    assert replaced.json()["created_at"] == entry["created_at"]
    assert dt.datetime.fromisoformat(replaced.json()["next_due_at"]) == next_at(
        dt.time(7), ZoneInfo("UTC"), now, weekday=0
    )

    paused = admin.post(f"schedules/{schedule_id}/deactivate").json()
    assert (paused["is_active"], paused["next_due_at"]) == (False, None)
    resumed = admin.post(f"schedules/{schedule_id}/activate").json()
    assert resumed["is_active"] is True and resumed["next_due_at"] == replaced.json()["next_due_at"]

    assert admin.delete(f"schedules/{schedule_id}").status_code == 204
    assert admin.get(f"schedules/{schedule_id}").status_code == 404
    assert TenantScheduleStore(testbed.history.engine).get(schedule_id) is None


@pytest.mark.parametrize(
    ("body", "refusals"),
    [
        (
            daily("Bad", datasets=["sales", "payroll"], time_of_day="25:00", timezone="Mars/Olympus"),
            ["body.datasets", "body.time_of_day", "body.timezone"],
        ),
        (daily("Bad", cadence="weekly"), ["body.day_of_week"]),
        (daily("Bad", day_of_month="32", cadence="monthly"), ["body.day_of_month"]),
        (daily("Bad", datasets=["sale_items"], formats=["pdf"]), ["body"]),
        (daily("Bad", recipients=["not an address"]), ["body.recipients"]),
        (daily("Bad\nBcc: all@example.com"), ["body.name"]),
        (daily("Bad", tenant=OTHER_TENANT), ["body.tenant"]),
        ({"name": "Bad"}, ["body.datasets", "body.formats", "body.cadence"]),
        (daily("Bad", period="yesterday"), ["body.period"]),
        # The ad-hoc request's own rules, over each dataset of the schedule:
        (
            daily("Bad", datasets=["sales", "customers"], options={"category": "Tools"}),
            ["body.options.category"],
        ),
        (
            daily("Bad", formats=["csv", "xlsx"], options={"compression": "gzip"}),
            ["body.options.compression"],
        ),
        (daily("Bad", options={"columns": ["No such column"]}), ["body.options.columns"]),
        (daily("Bad", options={"date_from": "2026-01-01"}), ["body.options.date_from"]),
    ],
)
def test_a_schedule_the_rules_refuse_answers_422_naming_each_field(
    admin: httpx.Client, body: dict, refusals: list[str]
) -> None:
    response = admin.post("schedules", json=body)
    assert response.status_code == 422, response.text
    assert [error["field"] for error in response.json()["errors"]] == refusals


def test_two_schedules_of_one_name_conflict(admin: httpx.Client) -> None:
    first = admin.post("schedules", json=daily("Month end", time_of_day="05:00")).json()
    other = admin.post("schedules", json=daily("Week end")).json()
    for response in (
        admin.post("schedules", json=daily("Month end")),
        admin.put(f"schedules/{other['schedule_id']}", json=daily("Month end")),
    ):
        assert response.status_code == 409, response.text
        assert response.json()["error_code"] == "schedule_name_taken"
    assert admin.get(f"schedules/{other['schedule_id']}").json()["name"] == "Week end"
    assert admin.get(f"schedules/{first['schedule_id']}").json()["time_of_day"] == "05:00"


def test_upcoming_lists_each_active_schedules_due_times_in_order(api: str, testbed: ApiTestbed) -> None:
    store = TenantScheduleStore(testbed.history.engine)
    now = dt.datetime.now(dt.UTC)
    tenant = "upcoming"  # a tenant of its own, so the other tests' schedules stay out of the list
    token = testbed.token_store.issue(tenant=tenant, user_id=1, role="viewer", expires_in_days=1).bearer
    morning = store.add(
        TenantScheduleSpec(
            tenant=tenant,
            name="Morning",
            datasets=("sales",),
            formats=("csv",),
            cadence="daily",
            time_of_day="06:00",
            timezone="America/New_York",
        )
    )
    weekday = (now.astimezone(NEW_YORK).date() + dt.timedelta(days=2)).weekday()
    weekly = store.add(
        TenantScheduleSpec(
            tenant=tenant,
            name="Weekly",
            datasets=("bills",),
            formats=("pdf",),
            cadence="weekly",
            day_of_week=weekday,
            time_of_day="23:30",
            timezone="America/New_York",
        )
    )
    paused = store.add(
        TenantScheduleSpec(
            tenant=tenant, name="Paused", datasets=("sales",), formats=("csv",), cadence="daily"
        )
    )
    store.set_active(paused.id, False)

    answer = httpx.get(
        f"{api}/v1/tenants/{tenant}/schedules/upcoming", params={"days": 3}, headers=bearer(token)
    )
    assert answer.status_code == 200, answer.text
    until = now + dt.timedelta(days=3)
    today = now.astimezone(NEW_YORK).date()
    mornings = [dt.datetime.combine(today + dt.timedelta(days=n), dt.time(6), NEW_YORK) for n in range(5)]
    expected = [(morning.id, when.astimezone(dt.UTC)) for when in mornings if when > now]
    expected.append((weekly.id, next_at(dt.time(23, 30), NEW_YORK, now, weekday=weekday)))
    expected = sorted((when, sid) for sid, when in expected if when <= until)
    items = answer.json()["items"]
    assert [(dt.datetime.fromisoformat(i["due_at"]), i["schedule_id"]) for i in items] == expected
    for item in items:
        due_day = dt.datetime.fromisoformat(item["due_at"]).astimezone(NEW_YORK).date()
        if item["schedule_id"] == weekly.id:  # the ISO week before the due day, Monday to Sunday
            monday = due_day - dt.timedelta(days=due_day.weekday())
            period = (monday - dt.timedelta(days=7), monday - dt.timedelta(days=1))
        else:  # the day before
            period = (due_day - dt.timedelta(days=1),) * 2
        assert (item["date_from"], item["date_to"]) == tuple(map(str, period))
        assert item["month"] == period[1].strftime("%Y-%m")
    assert (
        httpx.get(
            f"{api}/v1/tenants/{tenant}/schedules/upcoming", params={"days": 32}, headers=bearer(token)
        ).status_code
        == 422
    )


def test_another_tenants_schedule_answers_the_one_404(admin: httpx.Client, testbed: ApiTestbed) -> None:
    theirs = TenantScheduleStore(testbed.history.engine).add(
        TenantScheduleSpec(
            tenant=OTHER_TENANT, name="Theirs", datasets=("sales",), formats=("csv",), cadence="daily"
        )
    )
    answers = []
    for schedule_id in (theirs.id, uuid.uuid4().hex, "not-an-id"):
        answers += [
            admin.get(f"schedules/{schedule_id}"),
            admin.put(f"schedules/{schedule_id}", json=daily("Mine now")),
            admin.delete(f"schedules/{schedule_id}"),
            admin.post(f"schedules/{schedule_id}/activate"),
            admin.post(f"schedules/{schedule_id}/deactivate"),
            admin.post(f"schedules/{schedule_id}/trigger"),
        ]
    assert [a.status_code for a in answers] == [404] * len(answers)
    assert len({a.content for a in answers}) == 1
    still = TenantScheduleStore(testbed.history.engine).get(theirs.id)
    assert still is not None and still.spec.name == "Theirs" and still.is_active


def test_overdue_and_run_now_answer_503_while_dagster_is_unreachable(
    admin: httpx.Client, testbed: ApiTestbed
) -> None:
    an_hour_ago = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    spec = TenantScheduleSpec(**daily("Run me", time_of_day=f"{an_hour_ago:%H:%M}"), tenant=TENANT)
    schedule = TenantScheduleStore(testbed.history.engine).add(spec, now=an_hour_ago - dt.timedelta(days=2))
    for response in (
        admin.get("schedules/overdue"),
        admin.post(f"schedules/{schedule.id}/trigger"),
    ):
        assert response.status_code == 503, response.text
        assert response.json()["error_code"] == "dagster_unavailable"
        assert response.headers["retry-after"] == "30"
