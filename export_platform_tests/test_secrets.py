"""Secrets never leak: with a PostgreSQL password, AWS keys and SMTP credentials in the environment, a
full export, a weekly summary e-mail and deliberately failing connections leave none of them in any
log line, event, metadata entry, run record, e-mail or exception message.

The one exception is by design: a SigV4 presigned URL names its access key ID (never the secret key)
in ``X-Amz-Credential``, so the ID may appear there and nowhere else."""

from __future__ import annotations

import email
import email.policy
import logging
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import boto3
import dagster as dg
import psycopg
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from dagster._serdes import serialize_value
from sqlalchemy.engine import make_url

from export_platform.automation.mailer import DeliveryRefused, Mailer, TransientDeliveryError
from export_platform.automation.weekly_summary import weekly_export_summary
from export_platform.datasets.assets import dataset_assets
from export_platform.exports.assets import export_assets
from export_platform.partitions import TENANT_DIMENSION
from export_platform.resources import export_history, mailer, source_database
from export_platform.source.database import READER_ROLE, SourceUrl
from export_platform.source.demo_data import SeedPlan
from export_platform.source.seeding import seed
from export_platform.storage.artifacts import ArtifactStore
from export_platform.storage.io_manager import DatasetParquetIOManager
from export_platform.tracking.history import ExportHistory
from export_platform.tracking.notifications import NotificationSettings, NotificationSettingsStore
from export_platform_tests.conftest import create_database, database_url, drop_database, free_port

PARTITION = "2026-10|acme"


@dataclass
class Inbox:
    user: str
    password: str
    messages: list[bytes] = field(default_factory=list)

    def authenticate(self, server, session, envelope, mechanism, auth_data) -> AuthResult:
        ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
            self.user.encode(),
            self.password.encode(),
        )
        return AuthResult(success=ok)

    async def handle_DATA(self, server, session, envelope) -> str:
        self.messages.append(envelope.content)
        return "250 OK"


@dataclass
class Secrets:
    database: str
    aws_secret: str
    aws_key_id: str
    smtp: str
    database_name: str
    login: str
    inbox: Inbox
    smtp_port: int

    @property
    def all(self) -> list[str]:
        return [self.database, self.aws_secret, self.smtp]


@pytest.fixture
def secrets(monkeypatch: pytest.MonkeyPatch, s3_server: str) -> Iterator[Secrets]:
    token = uuid.uuid4().hex
    name = create_database()
    admin_url = database_url(name)
    seed(SourceUrl(admin_url), SeedPlan(tenants=1, months=1, sales_per_day=2, end_month="2026-10"))
    login, db_secret = f"ep_app_{token[:8]}", f"pg-secret-{token}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {login} LOGIN PASSWORD '{db_secret}' IN ROLE {READER_ROLE}")
        conn.execute(f'GRANT CREATE ON DATABASE "{name}" TO {login}')  # the platform's own schema
    app_url = make_url(admin_url).set(username=login, password=db_secret)
    monkeypatch.setenv("EXPORT_SOURCE_URL", app_url.render_as_string(hide_password=False))

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", f"AKIA{token[:16].upper()}")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", f"aws-secret-{token}")

    inbox, port = Inbox("mailer", f"smtp-secret-{token}"), free_port()
    controller = Controller(
        inbox, hostname="127.0.0.1", port=port, authenticator=inbox.authenticate, auth_require_tls=False
    )
    controller.start()
    monkeypatch.setenv("EXPORT_SMTP_URL", f"smtp://mailer:{inbox.password}@127.0.0.1:{port}")
    yield Secrets(
        db_secret,
        f"aws-secret-{token}",
        f"AKIA{token[:16].upper()}",
        inbox.password,
        name,
        login,
        inbox,
        port,
    )
    controller.stop()
    drop_database(name)
    with psycopg.connect(database_url("postgres"), autocommit=True) as conn:
        conn.execute(f"DROP ROLE IF EXISTS {login}")


def everything_recorded(instance: dg.DagsterInstance) -> str:
    """Runs (config, tags), every event (messages, metadata, errors with their causes), and every
    other file the instance wrote (compute logs, schedules)."""
    parts = []
    for run in instance.get_runs():
        parts.append(serialize_value(run))
        parts.extend(serialize_value(event) for event in instance.all_logs(run.run_id))
    for path in Path(instance.root_directory).rglob("*"):
        # SQLite files are read through the instance above: their pages can split a string in two.
        if path.is_file() and not path.read_bytes().startswith(b"SQLite format 3"):
            parts.append(path.read_bytes().decode("utf-8", "replace"))
    return "\n".join(parts)


def assert_no_secret(text: str, secrets: Secrets, where: str, *, key_id: bool = True) -> None:
    for secret in secrets.all:
        assert secret not in text, f"{where} contains a secret"
    if not key_id:
        return
    outside_presigned_urls = text.replace(f"X-Amz-Credential={secrets.aws_key_id}", "")
    at = outside_presigned_urls.find(secrets.aws_key_id)
    assert at < 0, f"{where} names the access key ID: {outside_presigned_urls[max(0, at - 300) : at + 100]!r}"


def test_no_secret_in_logs_metadata_mail_or_errors(
    secrets: Secrets,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    caplog.set_level(logging.DEBUG)
    bucket = f"exports-{uuid.uuid4().hex[:8]}"
    boto3.client("s3").create_bucket(Bucket=bucket)
    root = f"s3://{bucket}/platform"
    resources = {
        "source": source_database(),
        "history": export_history(),
        "mailer": mailer(),
        "artifacts": ArtifactStore(root=root),
        "dataset_io_manager": DatasetParquetIOManager(root=root),
    }
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(TENANT_DIMENSION, ["acme"])
        exported = dg.materialize(
            [*dataset_assets, *export_assets], partition_key=PARTITION, instance=instance, resources=resources
        )
        assert exported.success
        metadata = [
            serialize_value(e.materialization.metadata) for e in exported.get_asset_materialization_events()
        ]
        assert any("X-Amz-Credential=" in m for m in metadata)  # presigned links were recorded

        NotificationSettingsStore(ExportHistory(url=os.environ["EXPORT_SOURCE_URL"]).engine).put(
            NotificationSettings(
                "acme", default_recipients=("boss@acme.example",), allowed_domains=("acme.example",)
            )
        )
        summary = dg.materialize(
            [weekly_export_summary], partition_key="acme", instance=instance, resources=resources
        )
        assert summary.success and len(secrets.inbox.messages) == 1

        # A source that cannot be reached, with the password in its URL: the failure must mask it.
        unreachable = make_url(os.environ["EXPORT_SOURCE_URL"]).set(port=free_port())
        monkeypatch.setenv("EXPORT_SOURCE_URL", unreachable.render_as_string(hide_password=False))
        failed = dg.materialize(
            dataset_assets[:1],
            partition_key=PARTITION,
            instance=instance,
            resources={"source": source_database(), "dataset_io_manager": DatasetParquetIOManager(root=root)},
            raise_on_error=False,
        )
        assert not failed.success
        failure = next(e for e in failed.all_events if e.is_step_failure).event_specific_data.error
        assert "cannot reach source database" in failure.to_string() and "***" in failure.to_string()

        recorded = everything_recorded(instance)
    assert_no_secret(recorded, secrets, "the instance's runs, events or files")
    assert_no_secret("\n".join(metadata), secrets, "materialization metadata")
    # At DEBUG botocore logs request headers, whose SigV4 Authorization names the access key ID (never
    # the secret key); from INFO up, which is what a deployment logs, not even the ID appears.
    assert_no_secret(caplog.text, secrets, "Python log records", key_id=False)
    info = "\n".join(r.getMessage() for r in caplog.records if r.levelno >= logging.INFO)
    assert_no_secret(info, secrets, "Python log records from INFO up")
    out, err = capfd.readouterr()
    assert_no_secret(out + err, secrets, "stdout/stderr")
    message = email.message_from_bytes(secrets.inbox.messages[0], policy=email.policy.default)
    assert_no_secret(message.as_string(), secrets, "the e-mail")


def test_failed_smtp_login_does_not_repeat_the_password(
    secrets: Secrets, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = f"wrong-{secrets.smtp}"
    message = email.message.EmailMessage()
    message["To"], message["Subject"] = "boss@acme.example", "test"
    message.set_content("hello")
    # aiosmtpd drops the connection after the refused login, which the mailer treats as transient.
    with pytest.raises((DeliveryRefused, TransientDeliveryError)) as refused:
        Mailer(smtp_url=f"smtp://mailer:{wrong}@127.0.0.1:{secrets.smtp_port}").send(message)
    text = f"{refused.value!s} {refused.value!r} {refused.value.__cause__!r} {refused.value.__context__!r}"
    assert "127.0.0.1" in text
    assert wrong not in text and wrong not in caplog.text
    assert secrets.inbox.messages == []
