"""Notification settings over the API: defaults until set, a PUT that replaces them all (admin), and
the same rules the CLI applies, refused with the field that broke them."""

from __future__ import annotations

import httpx

from export_platform.tracking.notifications import NotificationSettingsStore
from export_platform_tests.support.api_server import bearer
from export_platform_tests.support.api_testbed import ApiTestbed
from export_platform_tests.support.seed_plan import OTHER_TENANT, TENANT

DEFAULTS = {
    "notify_on_success": True,
    "notify_on_failure": True,
    "default_recipients": [],
    "failure_recipients": [],
    "sender_name": None,
    "reply_to": None,
    "allowed_domains": [],
    "webhook_hosts": [],
    "retention_days": 30,
    "monthly_retention_days": None,
}


def test_unset_settings_read_as_the_defaults(api: str, testbed: ApiTestbed) -> None:
    response = httpx.get(
        f"{api}/v1/tenants/{OTHER_TENANT}/notifications", headers=bearer(testbed.tokens["other_tenant"])
    )
    assert response.status_code == 200 and response.json() == DEFAULTS


def test_an_admin_replaces_the_settings_and_the_store_holds_them(api: str, testbed: ApiTestbed) -> None:
    url, admin = f"{api}/v1/tenants/{TENANT}/notifications", bearer(testbed.tokens["admin"])
    wanted = {
        **DEFAULTS,
        "notify_on_success": False,
        "default_recipients": ["ops@acme.example"],
        "failure_recipients": ["it@Acme.Example"],
        "sender_name": "Acme exports",
        "reply_to": "help@acme.example",
        "allowed_domains": ["acme.example"],
        "retention_days": 14,
        "monthly_retention_days": 400,
    }
    put = httpx.put(url, json=wanted, headers=admin)
    assert put.status_code == 200 and put.json() == wanted
    assert httpx.get(url, headers=bearer(testbed.tokens["viewer"])).json() == wanted
    stored = NotificationSettingsStore(testbed.history.engine).get(TENANT)
    assert (
        stored.retention_days,
        stored.monthly_retention_days,
        stored.failure_recipients,
        stored.notify_on_success,
        stored.sender_name,
        stored.reply_to,
    ) == (14, 400, ("it@Acme.Example",), False, "Acme exports", "help@acme.example")

    partial = httpx.put(url, json={"allowed_domains": ["acme.example"]}, headers=admin)
    assert partial.json() == {**DEFAULTS, "allowed_domains": ["acme.example"]}  # a PUT replaces everything


def test_settings_breaking_a_rule_are_refused_naming_the_field(api: str, testbed: ApiTestbed) -> None:
    url, admin = f"{api}/v1/tenants/{TENANT}/notifications", bearer(testbed.tokens["admin"])
    before = httpx.get(url, headers=admin).json()
    refusals = [
        (
            {"allowed_domains": ["acme.example"], "default_recipients": ["x@evil.example"]},
            "body.default_recipients",
        ),
        ({"allowed_domains": ["acme.example"], "reply_to": "x@evil.example"}, "body.reply_to"),
        ({"failure_recipients": ["not an address"]}, "body.failure_recipients"),
        ({"sender_name": "Acme\r\nBcc: x@evil.example"}, "body.sender_name"),
        ({"allowed_domains": ["../etc"]}, "body.allowed_domains"),
        ({"retention_days": 0}, "body.retention_days"),
        ({"monthly_retention_days": 0}, "body.monthly_retention_days"),
        ({"colour": "red"}, "body.colour"),
        ({"notify_on_success": "sometimes"}, "body.notify_on_success"),
    ]
    for body, field in refusals:
        response = httpx.put(url, json=body, headers=admin)
        assert response.status_code == 422, (body, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["error_code"] == "invalid_request"
        assert [e["field"] for e in response.json()["errors"]] == [field], body
    not_json = httpx.put(url, content=b"{not json", headers={**admin, "Content-Type": "application/json"})
    assert not_json.status_code == 400 and not_json.json()["error_code"] == "malformed_body"
    assert httpx.get(url, headers=admin).json() == before
