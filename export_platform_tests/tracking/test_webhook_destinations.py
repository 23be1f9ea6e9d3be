"""A schedule's webhooks: which URLs may be saved, the tenant's host allowlist, the signing secrets the
store keeps (PostgreSQL), the signature a receiver checks, and the commands that save them."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from pydantic import ValidationError

from export_platform.automation.webhooks import signature_header, verify_signature
from export_platform.cli import main
from export_platform.source.demo_data import SeedPlan
from export_platform.source.seeding import seed
from export_platform.source.url import SourceUrl
from export_platform.tracking.history import ExportHistory
from export_platform.tracking.notifications import (
    InvalidSettings,
    NotificationSettings,
    NotificationSettingsStore,
)
from export_platform.tracking.tenant_schedules import TenantScheduleSpec, TenantScheduleStore
from export_platform_tests.support.postgres import create_database, database_url, drop_database


def spec(**changes: object) -> TenantScheduleSpec:
    values: dict[str, object] = {
        "tenant": "acme",
        "name": "Daily sales",
        "datasets": ("sales",),
        "formats": ("csv",),
        "cadence": "daily",
        **changes,
    }
    return TenantScheduleSpec(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("http://hooks.example.com/x", "must be https (plain http only to 127.0.0.1, localhost or ::1)"),
        ("ftp://hooks.example.com/x", "must be https"),
        ("https://user:pw@hooks.example.com/x", "must not hold a user name, password or #fragment"),
        ("https:///x", "names no host"),
        ("https://hooks.example.com/a b", "holds spaces or control characters"),
    ],
)
def test_a_webhook_that_is_not_https_is_refused_naming_the_field(url: str, problem: str) -> None:
    for field in ("webhooks", "slack_webhooks"):
        with pytest.raises(ValidationError) as refused:
            spec(**{field: (url,)})
        assert f"{field}: {url!r} {problem}" in str(refused.value)


def test_plain_http_is_allowed_to_loopback_only() -> None:
    loopback = ("http://127.0.0.1:8000/hook", "http://localhost/hook", "http://[::1]:9/hook")
    assert spec(webhooks=loopback).webhooks == loopback
    with pytest.raises(ValidationError):
        spec(webhooks=("http://127.0.0.2/hook",))


def test_the_host_allowlist_is_exact_and_empty_refuses_every_webhook() -> None:
    urls = ["https://hooks.slack.com/services/T/B/X", "https://evil.hooks.slack.com/x", "https://a.example/x"]
    assert NotificationSettings("acme").refused_webhooks(urls) == urls
    allowed = NotificationSettings("acme", webhook_hosts=("HOOKS.slack.com", "a.example"))
    assert allowed.refused_webhooks(urls) == ["https://evil.hooks.slack.com/x"]
    assert allowed.refused_webhooks(["http://a.example/x"]) == ["http://a.example/x"]  # not https
    with pytest.raises(InvalidSettings, match="webhook_hosts: not host names: \\['hooks/slack'\\]"):
        NotificationSettings("acme", webhook_hosts=("hooks/slack",)).check()


def test_the_signature_is_an_hmac_of_the_timestamp_and_body() -> None:
    secret, body, stamp = "k" * 64, b'{"tenant":"acme"}', 1_790_000_000
    expected = hmac.new(secret.encode(), b'1790000000.{"tenant":"acme"}', hashlib.sha256).hexdigest()
    header = signature_header(secret, body, stamp)
    assert header == f"t=1790000000,v1={expected}"
    assert verify_signature(secret, body, header, now=stamp + 299)
    assert not verify_signature(secret, body, header, now=stamp + 301)  # a replay, too late
    assert not verify_signature(secret, body + b" ", header, now=stamp)
    assert not verify_signature("other" * 13, body, header, now=stamp)


@pytest.fixture
def platform_url(tmp_path: Path) -> Iterator[str]:
    name = create_database()
    url = database_url(name)
    seed(SourceUrl(url), SeedPlan(tenants=1, months=1, sales_per_day=1, end_month="2026-10"))
    yield url
    ExportHistory(url=url).engine.dispose()
    drop_database(name)


def test_each_webhook_keeps_its_secret_while_it_stays(platform_url: str) -> None:
    store = TenantScheduleStore(ExportHistory(url=platform_url).engine)
    a, b = "https://a.example/hook", "https://b.example/hook"
    added = store.add(spec(webhooks=(a,), slack_webhooks=("https://hooks.slack.com/x",)))
    assert set(added.webhook_secrets) == {a} and len(added.webhook_secrets[a]) == 64
    assert secrets_in_repr_free(added)
    read = store.get(added.id)
    assert read is not None and read.webhook_secrets == added.webhook_secrets
    assert read.spec.slack_webhooks == ("https://hooks.slack.com/x",)
    replaced = store.replace(added.id, spec(webhooks=(a, b)))
    assert replaced is not None and replaced.webhook_secrets[a] == added.webhook_secrets[a]
    assert replaced.webhook_secrets[b] not in (added.webhook_secrets[a], "")
    again = store.replace(added.id, spec(webhooks=(b,)))
    assert again is not None and again.webhook_secrets == {b: replaced.webhook_secrets[b]}
    assert store.replace(added.id, spec(tenant="globex")) is None  # another tenant's id


def secrets_in_repr_free(schedule) -> bool:
    """A schedule printed (in a log line, say) does not show its secrets."""
    return all(secret not in repr(schedule) for secret in schedule.webhook_secrets.values())


def test_the_commands_refuse_a_host_off_the_allowlist_and_show_a_new_secret_once(
    platform_url: str, monkeypatch
) -> None:
    monkeypatch.setenv("EXPORT_SOURCE_URL", platform_url)
    runner = CliRunner()
    base = ["schedules", "add", "--tenant", "acme", "--name", "Sales", "--datasets", "sales"]
    base += ["--formats", "csv", "--cadence", "daily"]
    insecure = runner.invoke(main, [*base, "--webhook", "http://hooks.example.com/x"])
    assert (
        insecure.exit_code == 2 and "webhooks: 'http://hooks.example.com/x' must be https" in insecure.output
    )
    unlisted = runner.invoke(main, [*base, "--webhook", "https://hooks.example.com/x"])
    assert unlisted.exit_code == 2, unlisted.output
    assert "--webhook: https://hooks.example.com/x: host not on acme's webhook hosts" in unlisted.output
    assert len(unlisted.output.strip().splitlines()) == 1

    allowed = runner.invoke(
        main,
        ["notifications", "set", "--tenant", "acme", "--webhook-hosts", "hooks.example.com,hooks.slack.com"],
    )
    assert allowed.exit_code == 0, allowed.output
    added = runner.invoke(main, [*base, "--webhook", "https://hooks.example.com/x"])
    assert added.exit_code == 0, added.output
    schedule_id = added.output.split()[2]
    stored = TenantScheduleStore(ExportHistory(url=platform_url).engine).get(schedule_id)
    assert stored is not None
    secret = stored.webhook_secrets["https://hooks.example.com/x"]
    assert f"signing secret of webhook https://hooks.example.com/x: {secret}" in added.output

    updated = runner.invoke(
        main, ["schedules", "update", schedule_id, "--slack", "https://hooks.slack.com/s"]
    )
    assert updated.exit_code == 0, updated.output
    assert "webhook https://hooks.example.com/x, slack https://hooks.slack.com/s" in updated.output
    assert "signing secret" not in updated.output  # the webhook was not new; Slack's has none
    listed = runner.invoke(main, ["schedules", "list", "--tenant", "acme"])
    assert secret not in listed.output and "https://hooks.example.com/x" in listed.output
    removed = runner.invoke(main, ["schedules", "update", schedule_id, "--webhook", ""])
    assert removed.exit_code == 0, removed.output
    settings = NotificationSettingsStore(ExportHistory(url=platform_url).engine).get("acme")
    assert settings.webhook_hosts == ("hooks.example.com", "hooks.slack.com")
    after = TenantScheduleStore(ExportHistory(url=platform_url).engine).get(schedule_id)
    assert after is not None and after.spec.webhooks == () and after.webhook_secrets == {}
