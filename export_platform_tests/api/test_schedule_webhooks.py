"""A schedule's webhooks over the API: refused naming the field unless https on the tenant's
webhook_hosts; the signing secret in the answer to the request that added the webhook, and never
again."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from export_platform.tracking.notifications import NotificationSettings, NotificationSettingsStore
from export_platform.tracking.tenant_schedules import TenantScheduleStore
from export_platform_tests.support.api_server import bearer
from export_platform_tests.support.api_testbed import ApiTestbed
from export_platform_tests.support.seed_plan import TENANT

HOOK = "https://hooks.acme.example/exports"
SLACK = "https://hooks.slack.com/services/T0/B0/x"


@pytest.fixture
def admin(api: str, testbed: ApiTestbed) -> Iterator[httpx.Client]:
    base = f"{api}/v1/tenants/{TENANT}/"
    with httpx.Client(base_url=base, headers=bearer(testbed.tokens["admin"])) as client:
        yield client
    NotificationSettingsStore(testbed.history.engine).put(NotificationSettings(TENANT))


def test_webhooks_are_checked_and_their_secret_shown_once(admin: httpx.Client, testbed: ApiTestbed) -> None:
    body = {"name": "Hooked sales", "datasets": ["sales"], "formats": ["csv"], "cadence": "daily"}
    insecure = admin.post("schedules", json={**body, "webhooks": ["http://hooks.acme.example/x"]})
    assert insecure.status_code == 422
    assert [e["field"] for e in insecure.json()["errors"]] == ["body.webhooks"]
    unlisted = admin.post("schedules", json={**body, "webhooks": [HOOK]})
    assert unlisted.status_code == 422
    assert unlisted.json()["errors"][0]["field"] == "body.webhooks"

    hosts = admin.put("notifications", json={"webhook_hosts": ["hooks.acme.example", "hooks.slack.com"]})
    assert hosts.status_code == 200 and hosts.json()["webhook_hosts"] == [
        "hooks.acme.example",
        "hooks.slack.com",
    ]
    created = admin.post("schedules", json={**body, "webhooks": [HOOK], "slack_webhooks": [SLACK]})
    assert created.status_code == 201, created.text
    entry = created.json()
    stored = TenantScheduleStore(testbed.history.engine).get(entry["schedule_id"])
    assert stored is not None
    assert entry["webhook_secrets"] == {HOOK: stored.webhook_secrets[HOOK]}
    assert (entry["webhooks"], entry["slack_webhooks"]) == ([HOOK], [SLACK])
    read = admin.get(f"schedules/{entry['schedule_id']}").json()
    assert read["webhook_secrets"] is None and read["webhooks"] == [HOOK]
    second = "https://hooks.acme.example/other"
    replaced = admin.put(f"schedules/{entry['schedule_id']}", json={**body, "webhooks": [HOOK, second]})
    assert replaced.status_code == 200, replaced.text
    assert list(replaced.json()["webhook_secrets"]) == [second]  # only the one this request added
    assert admin.delete(f"schedules/{entry['schedule_id']}").status_code == 204
