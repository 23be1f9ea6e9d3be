"""Who the platform's e-mails are from and what their subjects say, through a real SMTP server
(aiosmtpd): the sender is EXPORT_MAIL_FROM, refused at start-up when missing or malformed; a tenant's
own sender name and reply-to address show on the mail its people receive; subjects name the tenant, as
the source spells it, and the period."""

from __future__ import annotations

import datetime as dt
from email.headerregistry import Address
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa

from export_platform.automation.mailer import Mailer
from export_platform.automation.weekly_summary import weekly_export_summary
from export_platform.datasets.source_database import SourceDatabase
from export_platform.errors import InvalidSetting
from export_platform.resources import mailer
from export_platform.settings import mail_from
from export_platform.source import schema
from export_platform.source.demo_data import SeedPlan
from export_platform.source.seeding import seed
from export_platform.source.url import SourceUrl, create_engine
from export_platform.tracking.history import ExportHistory
from export_platform.tracking.notifications import NotificationSettings, NotificationSettingsStore
from export_platform_tests.support.mail_delivery import (
    SENDER,
    add_schedule,
    deliver,
    notice_failure,
    scheduled_run,
    smtp_inbox,
)
from export_platform_tests.support.materialize import ephemeral_instance

NAME = "Acme Retail & Sons"


@pytest.fixture
def platform(tmp_path: Path):
    """acme, renamed in the source to ``NAME``, with its own sender name and reply-to address."""
    url = f"sqlite:///{tmp_path / 'source.db'}"
    seed(SourceUrl(url), SeedPlan(tenants=1, months=1, sales_per_day=3, end_month="2026-10"))
    with create_engine(SourceUrl(url)).begin() as conn:
        conn.execute(sa.update(schema.tenants).where(schema.tenants.c.id == "acme").values(name=NAME))
    history = ExportHistory(url=url)
    NotificationSettingsStore(history.engine).put(
        NotificationSettings(
            "acme",
            default_recipients=("boss@acme.example",),
            failure_recipients=("it@acme.example",),
            allowed_domains=("acme.example",),
            sender_name="Acme Finance",
            reply_to="help@acme.example",
        )
    )
    return url, history, tmp_path / "artifacts"


def test_a_delivery_is_from_the_platform_address_under_the_tenants_name(platform) -> None:
    url, history, root = platform
    instance = ephemeral_instance("acme")
    schedule = add_schedule(history, ("finance@acme.example",), name="Month end", subject=None)
    assert scheduled_run(url, root, instance, schedule).success
    with smtp_inbox() as (inbox, smtp_url):
        deliver(instance, history, root, smtp_url)
    (message,) = inbox.messages
    assert message["From"].addresses == (Address("Acme Finance", "exports", "platform.example"),)
    assert inbox.envelopes[0].mail_from == "exports@platform.example"
    assert message["Reply-To"] == "help@acme.example"
    assert message["Subject"] == f"Month end: {NAME} exports for 2026-10"


def test_without_a_sender_name_the_platforms_own_name_shows(platform) -> None:
    url, history, root = platform
    store = NotificationSettingsStore(history.engine)
    settings = store.get("acme")
    store.put(NotificationSettings(**{**vars(settings), "sender_name": None, "reply_to": None}))
    instance = ephemeral_instance("acme")
    assert scheduled_run(url, root, instance, add_schedule(history, ("finance@acme.example",))).success
    with smtp_inbox() as (inbox, smtp_url):
        deliver(instance, history, root, smtp_url)
    (message,) = inbox.messages
    assert message["From"].addresses == (Address("Export Platform", "exports", "platform.example"),)
    assert message["Reply-To"] is None


def test_the_weekly_summary_names_the_tenant_and_the_week(platform) -> None:
    _, history, _ = platform
    with smtp_inbox() as (inbox, smtp_url):
        before = dt.datetime.now(dt.UTC)
        result = dg.materialize(
            [weekly_export_summary],
            partition_key="acme",
            instance=ephemeral_instance("acme"),
            resources={
                "history": history,
                "mailer": Mailer(smtp_url=smtp_url, sender=SENDER),
                "source": SourceDatabase(url=history.url),
            },
        )
        after = dt.datetime.now(dt.UTC)
    assert result.success
    (message,) = inbox.messages
    weeks = {f"{moment - dt.timedelta(days=7):%Y-%m-%d} to {moment:%Y-%m-%d}" for moment in (before, after)}
    assert message["Subject"] in {f"Weekly export summary: {NAME}, {week}" for week in weeks}
    assert message["From"].addresses == (Address("Acme Finance", "exports", "platform.example"),)
    assert message["Reply-To"] == "help@acme.example"


def test_a_failure_notice_names_the_tenant_and_the_month(platform, tmp_path: Path) -> None:
    url, history, root = platform
    instance = ephemeral_instance("acme")
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the artifact root should be")
    run = scheduled_run(url, root, instance, "none", artifact_root=str(blocked))
    assert not run.success
    with smtp_inbox() as (inbox, smtp_url):
        notice_failure(run, instance, history, smtp_url)
    (message,) = inbox.messages
    failed = sorted(f"{r['dataset']}_{r['format']}" for r in history.entries(status="failed"))
    subject = message["Subject"]
    assert subject.startswith(f"Export failed: {NAME} ") and subject.endswith(" for 2026-10")
    assert sorted(
        subject.removeprefix(f"Export failed: {NAME} ").removesuffix(" for 2026-10").split(", ")
    ) == (failed)
    assert message["From"].addresses == (Address("Acme Finance", "exports", "platform.example"),)


@pytest.mark.parametrize(
    ("value", "smtp", "expected"),
    [
        ("Acme Reports <reports@example.com>", True, "Acme Reports <reports@example.com>"),
        ("reports@example.com", True, "reports@example.com"),
        (None, False, None),  # no mail server: messages are only logged
    ],
)
def test_the_sender_comes_from_the_environment(monkeypatch, value, smtp, expected) -> None:
    if value is None:
        monkeypatch.delenv("EXPORT_MAIL_FROM", raising=False)
    else:
        monkeypatch.setenv("EXPORT_MAIL_FROM", value)
    if smtp:
        monkeypatch.setenv("EXPORT_SMTP_URL", "smtp://127.0.0.1:25")
    else:
        monkeypatch.delenv("EXPORT_SMTP_URL", raising=False)
    assert mail_from() == expected
    assert mailer().sender == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (None, "EXPORT_MAIL_FROM is not set: EXPORT_SMTP_URL sends mail, so name its sender, e.g. "),
        ("reports", "EXPORT_MAIL_FROM='reports' is not one sender address: e.g. "),
        ("a@example.com, b@example.com", "is not one sender address"),
        ("Acme\r\nBcc: spy@evil.example <a@example.com>", "is not one sender address"),
    ],
)
def test_a_missing_or_malformed_sender_stops_the_start(monkeypatch, value, message) -> None:
    monkeypatch.setenv("EXPORT_SMTP_URL", "smtp://127.0.0.1:25")
    if value is None:
        monkeypatch.delenv("EXPORT_MAIL_FROM", raising=False)
    else:
        monkeypatch.setenv("EXPORT_MAIL_FROM", value)
    with pytest.raises(InvalidSetting) as refused:
        mailer()
    assert message in str(refused.value) and "\n" not in str(refused.value)
