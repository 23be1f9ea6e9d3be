"""Who may call what: every endpoint built so far, with no token, an unusable one, another tenant's,
and each role, answers the status and problem document its rules give; and whatever a caller may
not see answers one 404, byte for byte, whether it is missing or someone else's."""

from __future__ import annotations

import datetime as dt
import uuid

import httpx
import pytest

from export_platform.tracking.tenant_schedules import TenantScheduleSpec, TenantScheduleStore
from export_platform_tests.support.adhoc_files import publish_adhoc_file
from export_platform_tests.support.api_server import bearer
from export_platform_tests.support.api_testbed import ACME_USER, ApiTestbed
from export_platform_tests.support.seed_plan import MONTH, OTHER_TENANT, TENANT

SETTINGS = {"allowed_domains": ["acme.example"], "default_recipients": ["ops@acme.example"]}
SCHEDULE = {"name": "Changed by the matrix", "datasets": ["sales"], "formats": ["csv"], "cadence": "daily"}
ENDPOINTS = [
    ("GET", "history", None),
    ("GET", "history/{export_id}", None),
    ("GET", "history/recent", None),
    ("GET", "history/statistics", None),
    ("GET", "notifications", None),
    ("PUT", "notifications", SETTINGS),
    ("GET", "artifacts", None),
    ("GET", f"artifacts/sales/{MONTH}/sales_{TENANT}_{MONTH}.csv", None),
    ("POST", "exports", {"dataset": "sales", "date_preset": "last_30_days"}),
    ("GET", "exports/{run_id}", None),
    ("GET", "exports/{run_id}/files/{file_name}", None),
    ("GET", "schedules", None),
    ("POST", "schedules", {**SCHEDULE, "name": "Made by the matrix"}),
    ("GET", "schedules/upcoming", None),
    ("GET", "schedules/overdue", None),
    ("GET", "schedules/{schedule_id}", None),
    ("PUT", "schedules/{schedule_id}", SCHEDULE),
    ("POST", "schedules/{schedule_id}/deactivate", None),
    ("POST", "schedules/{schedule_id}/activate", None),
    ("POST", "schedules/{schedule_id}/trigger", None),
    ("DELETE", "schedules/{doomed_schedule_id}", None),
    ("POST", "exports/inventory.csv", {"date_preset": "last_30_days"}),
]
ADMIN_ONLY = {
    ("PUT", "notifications"),
    ("POST", "schedules"),
    ("PUT", "schedules/{schedule_id}"),
    ("POST", "schedules/{schedule_id}/deactivate"),
    ("POST", "schedules/{schedule_id}/activate"),
    ("POST", "schedules/{schedule_id}/trigger"),
    ("DELETE", "schedules/{doomed_schedule_id}"),
}
EXPORTER_OR_ADMIN = {("POST", "exports/inventory.csv"), ("POST", "exports")}
# What a caller whose role may gets where it is not 200: the API under test reaches no Dagster (503).
ANSWERS = {
    ("POST", "exports"): 503,
    ("GET", "exports/{run_id}"): 503,
    ("POST", "schedules"): 201,
    ("GET", "schedules/overdue"): 503,
    ("POST", "schedules/{schedule_id}/trigger"): 503,
    ("DELETE", "schedules/{doomed_schedule_id}"): 204,
}
PROBLEM_KEYS = {"type", "title", "status", "detail", "error_code"}


def wrong_secret(token: str) -> str:
    """The same token id with another secret of the same shape."""
    return token[:-1] + ("A" if token[-1] != "A" else "B")


def headers_for(testbed: ApiTestbed, credential: str) -> dict[str, str]:
    unusable = {
        "none": {},
        "malformed": bearer("not-a-token"),
        "wrong_secret": bearer(wrong_secret(testbed.tokens["viewer"])),
        "basic_scheme": {"Authorization": "Basic dXNlcjpwYXNz"},
    }
    return unusable[credential] if credential in unusable else bearer(testbed.tokens[credential])


def expected(credential: str, method: str, path: str) -> tuple[int, str | None]:
    """The status and error_code the rules give."""
    return {
        "none": (401, "token_missing"),
        "basic_scheme": (401, "token_missing"),
        "malformed": (401, "token_invalid"),
        "wrong_secret": (401, "token_invalid"),
        "expired": (401, "token_expired"),
        "revoked": (401, "token_revoked"),
        "other_tenant": (404, "not_found"),
    }.get(credential) or (
        (403, "insufficient_role")
        if ((method, path) in ADMIN_ONLY and credential != "admin")
        or ((method, path) in EXPORTER_OR_ADMIN and credential == "viewer")
        else (ANSWERS.get((method, path), 200), None)
    )


@pytest.fixture(scope="module")
def acme_export_id(testbed: ApiTestbed) -> str:
    """The history row of the materialized sales CSV."""
    [row] = [
        r
        for r in testbed.history.entries(tenant=TENANT, limit=1000)
        if r["dataset"] == "sales" and r["partition_key"] is not None  # the monthly export's
    ]
    return row["id"]


@pytest.fixture(scope="module")
def path_ids(testbed: ApiTestbed, acme_export_id: str) -> dict[str, str]:
    """What the endpoints' paths name, all acme's: the sales CSV's history row, an ad-hoc run's file,
    a schedule to change, one to delete; and a schedule due an hour ago, so overdue asks Dagster."""
    schedules = TenantScheduleStore(testbed.history.engine)
    an_hour_ago = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    due = TenantScheduleSpec(**SCHEDULE, tenant=TENANT, time_of_day=f"{an_hour_ago:%H:%M}")
    schedules.add(
        due.model_copy(update={"name": "Due for the matrix"}), now=an_hour_ago - dt.timedelta(days=2)
    )
    adhoc = publish_adhoc_file(testbed.history, str(testbed.root), TENANT, ACME_USER)
    return {
        "export_id": acme_export_id,
        "run_id": adhoc.run_id,
        "file_name": adhoc.name,
        "schedule_id": schedules.add(TenantScheduleSpec(**SCHEDULE, tenant=TENANT)).id,
        "doomed_schedule_id": schedules.add(due.model_copy(update={"name": "Deleted by the matrix"})).id,
    }


def assert_problem(response: httpx.Response, status: int, error_code: str, *secrets: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert set(body) >= PROBLEM_KEYS and body["status"] == status and body["error_code"] == error_code
    assert body["type"] == f"/v1/problems/{error_code}" and body["title"] and body["detail"]
    for leak in ("Traceback", "/tmp", "sqlite", "File ", *secrets):
        assert leak not in response.text
    return body


CREDENTIALS = [
    "none",
    "basic_scheme",
    "malformed",
    "wrong_secret",
    "expired",
    "revoked",
    "other_tenant",
    "viewer",
    "exporter",
    "admin",
]


@pytest.mark.parametrize("credential", CREDENTIALS)
def test_every_endpoint_answers_each_credential_as_the_rules_say(
    api: str, testbed: ApiTestbed, path_ids: dict[str, str], credential: str
) -> None:
    headers = headers_for(testbed, credential)
    with httpx.Client(base_url=f"{api}/v1/tenants/{TENANT}/", headers=headers) as client:
        for method, path, body in ENDPOINTS:
            response = client.request(method, path.format(**path_ids), json=body)
            status, error_code = expected(credential, method, path)
            where = f"{credential}: {method} {path}"
            if error_code is None:
                assert response.status_code == status, (where, response.text)
                continue
            secrets = [v for v in testbed.tokens.values()]
            assert_problem(response, status, error_code, *secrets)
            challenge = response.headers.get("www-authenticate")
            if status == 401:
                assert challenge and challenge.startswith("Bearer "), where
                assert ('error="invalid_token"' in challenge) == (error_code != "token_missing"), where
            else:
                assert challenge is None, where


def test_what_a_caller_may_not_see_answers_one_404_whoever_owns_it(
    api: str, testbed: ApiTestbed, acme_export_id: str
) -> None:
    globex = httpx.get(
        f"{api}/v1/tenants/{OTHER_TENANT}/history", headers=bearer(testbed.tokens["other_tenant"])
    )
    assert globex.status_code == 200
    globex_export = testbed.history.start(
        tenant=OTHER_TENANT,
        requested_by="schedule:Monthly",
        dataset="sales",
        fmt="csv",
        partition_key=f"{MONTH}|{OTHER_TENANT}",
        run_id=None,
    )
    globex_schedule = (
        TenantScheduleStore(testbed.history.engine)
        .add(TenantScheduleSpec(**SCHEDULE, tenant=OTHER_TENANT))
        .id
    )
    globex_file = publish_adhoc_file(testbed.history, str(testbed.root), OTHER_TENANT, None)
    acme = bearer(testbed.tokens["admin"])
    unseen = [
        f"tenants/{TENANT}/history/{globex_export}",  # another tenant's export
        f"tenants/{TENANT}/history/{uuid.uuid4().hex}",  # no such export
        f"tenants/{OTHER_TENANT}/history/{globex_export}",  # its own tenant's path, with acme's token
        f"tenants/{OTHER_TENANT}/history",
        f"tenants/{OTHER_TENANT}/notifications",
        f"tenants/{OTHER_TENANT}/artifacts",
        "tenants/initech/history",  # no such tenant
        f"tenants/{TENANT}/artifacts/sales/{MONTH}/sales_{OTHER_TENANT}_{MONTH}.csv",  # globex's file name
        f"tenants/{TENANT}/artifacts/sales/2026-09/sales_{TENANT}_2026-09.csv",  # not published
        f"tenants/{TENANT}/artifacts/sales/2026-13/sales_{TENANT}_2026-13.csv",  # no such month
        f"tenants/{TENANT}/artifacts/payroll/{MONTH}/payroll_{TENANT}_{MONTH}.csv",  # no such dataset
        f"tenants/{TENANT}/artifacts/sales/{MONTH}/sales_{TENANT}_{MONTH}.exe",  # no such format
        f"tenants/{TENANT}/artifacts/sales/{MONTH}/..%2F..%2F{OTHER_TENANT}%2Fexports",  # a climb
        f"tenants/{TENANT}/schedules/{globex_schedule}",  # another tenant's schedule
        f"tenants/{TENANT}/schedules/{uuid.uuid4().hex}",  # no such schedule
        f"tenants/{OTHER_TENANT}/schedules",
        f"tenants/{TENANT}/exports/{uuid.uuid4().hex}",  # no run id
        f"tenants/{TENANT}/exports/{globex_file.run_id}/files/{globex_file.name}",  # another tenant's file
        f"tenants/{TENANT}/nothing-here",  # no such route
    ]
    answers = [httpx.get(f"{api}/v1/{path}", headers=acme) for path in unseen]
    for path, response in zip(unseen, answers, strict=True):
        assert response.status_code == 404, (path, response.text)
        assert response.headers["content-type"] == "application/problem+json", path
    assert len({response.content for response in answers}) == 1
    assert_problem(answers[0], 404, "not_found", globex_export, TENANT, OTHER_TENANT)
    own = httpx.get(
        f"{api}/v1/tenants/{OTHER_TENANT}/history/{globex_export}",
        headers=bearer(testbed.tokens["other_tenant"]),
    )
    assert own.status_code == 200 and own.json()["export_id"] == globex_export
