"""Scheduled runs delivered to webhooks and Slack: real runs on a PostgreSQL platform database, one
tick of the delivery sensor, and real HTTP receivers on 127.0.0.1 that check the signature with their
own HMAC; the e-mail through a real SMTP server."""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import dagster as dg
import pytest
from click.testing import CliRunner

from export_platform.automation import scheduled_retries as retries_module
from export_platform.automation.scheduled_retries import scheduled_export_retry_sensor
from export_platform.automation.slack_messages import slack_message
from export_platform.automation.tenant_schedule_sensor import DueExport
from export_platform.automation.webhooks import DeliveredRun, LinkedFile, post_webhook
from export_platform.cli import main
from export_platform.datasets.source_database import SourceDatabase
from export_platform.errors import InvalidSetting
from export_platform.exports.adhoc import adhoc_export
from export_platform.source.demo_data import SeedPlan
from export_platform.source.seeding import seed
from export_platform.source.url import SourceUrl
from export_platform.storage.artifacts import ArtifactStore
from export_platform.storage.signed_links import DOWNLOADS_PATH, LinkSigner
from export_platform.tracking.history import ExportHistory
from export_platform.tracking.notifications import NotificationSettings, NotificationSettingsStore
from export_platform.tracking.tenant_schedules import TenantScheduleSpec, TenantScheduleStore
from export_platform.tracking.webhook_deliveries import WebhookDeliveryLog
from export_platform_tests.support.adhoc_runs import run_sensor_request
from export_platform_tests.support.mail_delivery import (
    OPERATOR,
    add_schedule,
    deliver,
    scheduled_run,
    smtp_inbox,
)
from export_platform_tests.support.materialize import ephemeral_instance
from export_platform_tests.support.postgres import create_database, database_url, drop_database
from export_platform_tests.support.webhook_receiver import webhook_receiver

LINK_SECRET = "l" * 40
UTC = dt.UTC


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch) -> None:
    monkeypatch.setenv("EXPORT_WEBHOOK_TRIES", "3")
    monkeypatch.setenv("EXPORT_WEBHOOK_BACKOFF_SECONDS", "0.1")
    monkeypatch.setenv("EXPORT_WEBHOOK_TIMEOUT_SECONDS", "0.5")
    monkeypatch.setenv("EXPORT_LINK_SECRET", LINK_SECRET)


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[tuple[str, ExportHistory, Path]]:
    """acme and globex in a PostgreSQL source that also holds the platform tables; each tenant allows
    its own mail domain and webhooks to 127.0.0.1."""
    name = create_database()
    url = database_url(name)
    seed(SourceUrl(url), SeedPlan(tenants=2, months=1, sales_per_day=2, end_month="2026-10"))
    history = ExportHistory(url=url)
    for tenant in ("acme", "globex"):
        NotificationSettingsStore(history.engine).put(
            NotificationSettings(tenant, allowed_domains=(f"{tenant}.example",), webhook_hosts=("127.0.0.1",))
        )
    yield url, history, tmp_path / "artifacts"
    history.engine.dispose()
    drop_database(name)


def secrets_of(history: ExportHistory, schedule_id: str) -> dict[str, str]:
    schedule = TenantScheduleStore(history.engine).get(schedule_id)
    assert schedule is not None
    return dict(schedule.webhook_secrets)


def test_a_webhook_gets_signed_links_to_the_files_and_slack_a_message(platform) -> None:
    url, history, root = platform
    instance = ephemeral_instance("acme")
    with (
        webhook_receiver("/hook") as hook,
        webhook_receiver("/slack") as slack,
        smtp_inbox() as (inbox, smtp_url),
    ):
        schedule_id = add_schedule(
            history, ("finance@acme.example",), webhooks=(hook.url,), slack_webhooks=(slack.url,)
        )
        hook.secret = secrets_of(history, schedule_id)[hook.url]
        run = scheduled_run(url, root, instance, schedule_id)
        assert run.success
        before = time.time()
        deliver(instance, history, root, smtp_url)
        deliver(instance, history, root, smtp_url)  # a later tick sends nothing again

    [request] = hook.received
    assert request.signature_valid is True
    assert request.headers["X-Export-Delivery"] == run.run_id
    document = request.json
    assert document["tenant"] == "acme" and document["run_id"] == run.run_id
    assert document["schedule"] == {"id": schedule_id, "name": "Monthly 1finance@acme.example"}
    assert document["datasets"] == ["sales"]
    assert document["period"] == {"from": "2026-10-01", "to": "2026-10-31"}
    folder = root / "acme" / "exports" / "sales" / "2026-10"
    files = {f["name"]: f for f in document["files"]}
    assert sorted(files) == ["sales_acme_2026-10.csv", "sales_acme_2026-10.pdf", "sales_acme_2026-10.xlsx"]
    signer = LinkSigner(LINK_SECRET.encode())
    for name, entry in files.items():
        content = (folder / name).read_bytes()
        assert (entry["size"], entry["sha256"]) == (len(content), hashlib.sha256(content).hexdigest())
        link = urlsplit(entry["url"])
        query = {k: v[0] for k, v in parse_qs(link.query).items()}
        key = link.path.removeprefix(f"{DOWNLOADS_PATH}/")
        assert key == f"acme/exports/sales/2026-10/{name}"
        signer.verify(key, query["expires"], query["signature"], now=time.time())  # a link that opens
        expires = dt.datetime.fromisoformat(entry["expires_at"]).timestamp()
        assert abs(expires - int(query["expires"])) <= 2 and expires > before + 6 * 24 * 3600

    [posted] = slack.received
    message = posted.json
    assert set(message) == {"text", "blocks"} and posted.signature_valid is None
    assert message["text"].startswith("Monthly 1finance@acme.example: ") and "2026-10" in message["text"]
    lines = [block["text"]["text"] for block in message["blocks"][1:]]
    assert len(lines) == 3
    for line, name in zip(lines, sorted(files), strict=True):
        assert line.startswith(f"<{files[name]['url']}|{name}> (")

    [mail] = inbox.messages  # the e-mail goes too
    assert mail["To"] == "finance@acme.example"
    assert {r["status"] for r in history.entries(tenant="acme")} == {"emailed"}
    logged = WebhookDeliveryLog(history.engine).entries(run_id=run.run_id)
    assert [(r["kind"], r["status"], r["tries"], r["http_status"]) for r in logged] == [
        ("webhook", "delivered", 1, 200),
        ("slack", "delivered", 1, 200),
    ]


def test_a_webhook_only_schedule_is_delivered_without_mail(platform) -> None:
    url, history, root = platform
    instance = ephemeral_instance("acme")
    with webhook_receiver() as hook, smtp_inbox() as (inbox, smtp_url):
        schedule_id = add_schedule(history, ("finance@acme.example",), webhooks=(hook.url,))
        store = TenantScheduleStore(history.engine)
        schedule = store.get(schedule_id)
        assert schedule is not None
        store.replace(schedule_id, schedule.spec.model_copy(update={"recipients": ()}))
        assert scheduled_run(url, root, instance, schedule_id).success
        deliver(instance, history, root, smtp_url)
    assert len(hook.received) == 1 and inbox.messages == []
    assert {r["status"] for r in history.entries(tenant="acme")} == {"emailed"}


def test_a_5xx_is_retried_with_backoff_until_delivered() -> None:
    with webhook_receiver() as hook:
        hook.secret = "s" * 64
        hook.statuses = [503, 500]
        outcome = post_webhook(hook.url, {"a": 1}, delivery_id="run-1", secret=hook.secret)
    assert (outcome.delivered, outcome.tries, outcome.http_status) == (True, 3, 200)
    assert [r.signature_valid for r in hook.received] == [True, True, True]
    first_wait = hook.received[1].at - hook.received[0].at
    second_wait = hook.received[2].at - hook.received[1].at
    assert first_wait >= 0.1 and second_wait >= 0.2  # 0.1 s, then twice as long


def test_the_receiver_tells_a_wrong_secret() -> None:
    """The receivers above would notice a signature made with another secret."""
    with webhook_receiver() as hook:
        hook.secret = "s" * 64
        outcome = post_webhook(hook.url, {"a": 1}, delivery_id="run-1", secret="t" * 64)
    assert outcome.delivered and [r.signature_valid for r in hook.received] == [False]


def test_a_timeout_is_retried_and_then_fails() -> None:
    with webhook_receiver() as hook:
        hook.delay_seconds = 1.0  # longer than EXPORT_WEBHOOK_TIMEOUT_SECONDS
        outcome = post_webhook(hook.url, {"a": 1}, delivery_id="run-1", secret="s" * 64)
    assert (outcome.delivered, outcome.tries, outcome.http_status) == (False, 3, None)
    assert outcome.error == "no answer (TimeoutError) after 3 tries"
    assert len(hook.received) == 3


def test_a_refusing_webhook_fails_the_run_once_without_retries_and_tells_the_operators(platform) -> None:
    url, history, root = platform
    instance = ephemeral_instance("acme")
    with webhook_receiver() as hook, smtp_inbox() as (inbox, smtp_url):
        hook.statuses = [410]
        schedule_id = add_schedule(history, ("finance@acme.example",), webhooks=(hook.url,))
        run = scheduled_run(url, root, instance, schedule_id)
        assert run.success
        deliver(instance, history, root, smtp_url)
        assert isinstance(deliver(instance, history, root, smtp_url), dg.SkipReason)
    assert len(hook.received) == 1  # a 4xx is final
    assert [m["To"] for m in inbox.messages] == [OPERATOR]  # no e-mail to finance
    reason = f"not delivered: webhook {hook.url} answered HTTP 410"
    assert {(r["status"], r["error_message"]) for r in history.entries(tenant="acme")} == {("failed", reason)}
    assert f"Run: {run.run_id}" in inbox.messages[0].get_body(("plain",)).get_content()
    [logged] = WebhookDeliveryLog(history.engine).entries(run_id=run.run_id)
    assert (logged["status"], logged["tries"], logged["http_status"]) == ("failed", 1, 410)


def test_a_host_taken_off_the_allowlist_is_refused_at_send_time(platform) -> None:
    url, history, root = platform
    instance = ephemeral_instance("acme")
    with webhook_receiver() as hook, smtp_inbox() as (inbox, smtp_url):
        schedule_id = add_schedule(history, ("finance@acme.example",), webhooks=(hook.url,))
        settings = NotificationSettingsStore(history.engine)
        settings.put(NotificationSettings("acme", allowed_domains=("acme.example",), webhook_hosts=()))
        assert scheduled_run(url, root, instance, schedule_id).success
        deliver(instance, history, root, smtp_url)
    assert hook.received == [] and [m["To"] for m in inbox.messages] == [OPERATOR]
    reason = f"not delivered: webhooks ['{hook.url}'] are not https URLs on acme's webhook_hosts"
    assert {(r["status"], r["error_message"]) for r in history.entries(tenant="acme")} == {("failed", reason)}


def test_one_tenants_files_never_reach_another_tenants_webhook(platform) -> None:
    url, history, root = platform
    instance = ephemeral_instance("acme", "globex")
    with (
        webhook_receiver() as acme_hook,
        webhook_receiver() as globex_hook,
        smtp_inbox() as (inbox, smtp_url),
    ):
        hooks = {"acme": acme_hook, "globex": globex_hook}
        schedules = {
            t: add_schedule(history, (f"finance@{t}.example",), tenant=t, webhooks=(hooks[t].url,))
            for t in ("acme", "globex")
        }
        runs = {t: scheduled_run(url, root, instance, schedules[t], tenant=t) for t in ("acme", "globex")}
        # globex's run tagged with acme's schedule: whoever tagged it, acme's webhook must not get it.
        stray = scheduled_run(url, root, instance, schedules["acme"], tenant="globex")
        assert all(r.success for r in (*runs.values(), stray))
        deliver(instance, history, root, smtp_url)
    for tenant, hook in hooks.items():
        [request] = hook.received
        document = request.json
        assert (document["tenant"], document["run_id"]) == (tenant, runs[tenant].run_id)
        assert all(f"_{tenant}_" in f["name"] and f"/{tenant}/" in f["url"] for f in document["files"])
    stray_rows = history.entries(run_id=stray.run_id)
    assert {r["status"] for r in stray_rows} == {"failed"}
    assert all("a schedule of another tenant (acme)" in r["error_message"] for r in stray_rows)
    assert WebhookDeliveryLog(history.engine).entries(run_id=stray.run_id) == []
    assert sorted(m["To"] for m in inbox.messages) == [
        "finance@acme.example",
        "finance@globex.example",
        OPERATOR,
    ]


def test_slack_text_is_escaped() -> None:
    expires = dt.datetime(2026, 11, 8, 6, tzinfo=UTC)
    run = DeliveredRun(
        tenant="acme",
        tenant_name="Acme <Tools> & Co",
        schedule_id="s1",
        schedule_name="Sales",
        run_id="r1",
        period_label="2026-10",
        date_from="2026-10-01",
        date_to="2026-10-31",
        files=(
            LinkedFile(
                "sales", "csv", "sales_acme_2026-10.csv", 2048, "0" * 64, 7, "https://x/f?a=1", expires
            ),
        ),
    )
    message = slack_message(run)
    assert message["text"] == "Sales: Acme &lt;Tools&gt; &amp; Co exports for 2026-10: 1 files"
    assert message["blocks"][1]["text"]["text"] == (
        "<https://x/f?a=1|sales_acme_2026-10.csv> (2.0 KB, 7 rows), link valid until 2026-11-08 06:00 UTC"
    )


def test_each_attempt_of_a_retried_scheduled_run_names_the_first(platform, monkeypatch) -> None:
    """The first attempt fails on an unreachable source (a transient fault, before any row); the
    retry sensor, evaluated six hours later, launches attempt 2, whose rows name the first run."""
    url, history, root = platform
    spec = TenantScheduleSpec(
        tenant="acme", name="Daily sales", datasets=("sales",), formats=("csv",), cadence="daily"
    )
    schedule = TenantScheduleStore(history.engine).add(spec, now=dt.datetime(2026, 1, 1, tzinfo=UTC))
    [due] = DueExport(schedule, dt.datetime(2026, 10, 16, 6, tzinfo=UTC)).run_requests()

    with dg.instance_for_test() as instance:
        ok = run_sensor_request(due, instance, url, history, root)
        [row] = history.entries(run_id=ok.run_id)
        assert (row["attempt"], row["first_run_id"]) == (1, ok.run_id)

        first = run_sensor_request(due, instance, "postgresql://postgres@127.0.0.1:9/nowhere", history, root)
        assert not first.success and history.entries(run_id=first.run_id) == []
        record = instance.get_run_record_by_id(first.run_id)
        assert record is not None and record.end_time is not None
        later = dt.datetime.fromtimestamp(record.end_time, UTC) + dt.timedelta(hours=6)
        monkeypatch.setattr(retries_module, "now_utc", lambda: later)
        result = scheduled_export_retry_sensor(dg.build_sensor_context(instance=instance))
        assert isinstance(result, dg.SensorResult)
        [retry] = result.run_requests
        second = run_sensor_request(
            retry, instance, url, history, root, sensor="scheduled_export_retry_sensor"
        )
        assert second.success
    [row] = history.entries(run_id=second.run_id)
    assert (row["attempt"], row["first_run_id"], row["status"]) == (2, first.run_id, "success")
    monkeypatch.setenv("EXPORT_SOURCE_URL", url)
    listed = CliRunner().invoke(main, ["history", "--tenant", "acme"])
    assert listed.exit_code == 0 and listed.output.count(f"(attempt 2 of {first.run_id})") == 1, listed.output
    manual = adhoc_export.execute_in_process(  # a run no schedule launched has no attempt
        run_config=due.run_config,
        instance=dg.DagsterInstance.ephemeral(),
        tags={**due.tags, "export_platform/attempt": "7"},
        resources={
            "source": SourceDatabase(url=url),
            "artifacts": ArtifactStore(root=str(root)),
            "history": history,
        },
    )
    [row] = history.entries(run_id=manual.run_id)
    assert (row["attempt"], row["first_run_id"]) == (None, None)


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("EXPORT_WEBHOOK_TRIES", "0"),
        ("EXPORT_WEBHOOK_TRIES", "2.5"),
        ("EXPORT_WEBHOOK_TIMEOUT_SECONDS", "soon"),
    ],
)
def test_a_webhook_setting_that_is_not_a_positive_number_is_refused_naming_it(
    monkeypatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(InvalidSetting, match=f"^{variable}="):
        post_webhook("http://127.0.0.1:9/hook", {}, delivery_id="r", secret=None)
