"""Secrets never leak: with a PostgreSQL password, AWS keys and SMTP credentials in the environment, a
full export, a weekly summary e-mail and deliberately failing connections leave none of them in any
log line, event, metadata entry, run record, e-mail or exception message.

The one exception is by design: a SigV4 presigned URL names its access key ID (never the secret key)
in ``X-Amz-Credential``, so the ID may appear there and nowhere else."""

from __future__ import annotations

import contextlib
import email
import email.policy
import logging
import os
import re
import sqlite3
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import boto3
import dagster as dg
import psycopg
import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from dagster._serdes import serialize_value
from sqlalchemy.engine import make_url

from export_platform.automation.mailer import Mailer, smtp_server
from export_platform.automation.weekly_summary import weekly_export_summary
from export_platform.credentials import masked_url
from export_platform.datasets.assets import dataset_assets
from export_platform.errors import DeliveryRefused, MalformedUrl, TransientDeliveryError
from export_platform.exports.assets import export_assets
from export_platform.partitions import TENANT_DIMENSION
from export_platform.resources import export_history, mailer, source_database
from export_platform.source.demo_data import SeedPlan
from export_platform.source.security import READER_ROLE
from export_platform.source.seeding import seed
from export_platform.source.url import SourceUrl
from export_platform.storage.artifacts import ArtifactStore
from export_platform.storage.io_manager import DatasetParquetIOManager
from export_platform.tracking.history import ExportHistory
from export_platform.tracking.notifications import NotificationSettings, NotificationSettingsStore
from export_platform.tracking.schema import export_history as export_history_table
from export_platform_tests.support.ports import free_port
from export_platform_tests.support.postgres import PG_ADMIN_URL, create_database, database_url, drop_database

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


def planted(separators: str) -> str:
    """A password of unique 12-hex-digit tokens joined by ``separators``: the characters that break
    naive URL parsing, and pieces a test can look for one by one, since a leak may show only a piece."""
    tokens = [uuid.uuid4().hex[:12] for _ in range(len(separators) + 1)]
    return tokens[0] + "".join(sep + token for sep, token in zip(separators, tokens[1:], strict=True))


def fragments(secret: str) -> list[str]:
    return re.findall(r"[0-9a-f]{12,}", secret)


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
    planted: list[str] = field(default_factory=list)  # passwords a test put in URLs of its own

    @property
    def all(self) -> list[str]:
        return [self.database, self.aws_secret, self.smtp, *self.planted]

    @property
    def pieces(self) -> list[str]:
        return [piece for secret in self.all for piece in fragments(secret)]


def source_url_with(login: str, password: str, database: str, *, port: int | None = None) -> str:
    """A PostgreSQL URL written by hand with the password as is, unencoded."""
    admin = make_url(PG_ADMIN_URL)
    return f"postgresql://{login}:{password}@{admin.host}:{port or admin.port or 5432}/{database}"


@pytest.fixture
def secrets(monkeypatch: pytest.MonkeyPatch, s3_server: str) -> Iterator[Secrets]:
    """A database login, AWS keys and an SMTP login, each password holding raw ``@``, ``/``, ``#`` and
    ``?`` and set in the environment unencoded, as an operator pastes them."""
    token = uuid.uuid4().hex
    name = create_database()
    admin_url = database_url(name)
    seed(SourceUrl(admin_url), SeedPlan(tenants=1, months=1, sales_per_day=2, end_month="2026-10"))
    login, db_secret = f"ep_app_{token[:8]}", planted("@/#?")
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {login} LOGIN PASSWORD '{db_secret}' IN ROLE {READER_ROLE}")
        conn.execute(f'GRANT CREATE ON DATABASE "{name}" TO {login}')  # the platform's own schema
    monkeypatch.setenv("EXPORT_SOURCE_URL", source_url_with(login, db_secret, name))

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", f"AKIA{token[:16].upper()}")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", f"aws-secret-{token}")

    inbox, port = Inbox("mailer", planted("/#@")), free_port()
    controller = Controller(
        inbox, hostname="127.0.0.1", port=port, authenticator=inbox.authenticate, auth_require_tls=False
    )
    controller.start()
    monkeypatch.setenv("EXPORT_SMTP_URL", f"smtp://mailer:{inbox.password}@127.0.0.1:{port}")
    monkeypatch.setenv("EXPORT_MAIL_FROM", "Acme Reports <reports@platform.example>")
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
    file the instance wrote (compute logs, schedules), its SQLite databases dumped row by row (a raw
    read of their pages could find a string split across two)."""
    parts = []
    for run in instance.get_runs():
        parts.append(serialize_value(run))
        parts.extend(serialize_value(event) for event in instance.all_logs(run.run_id))
    for path in Path(instance.root_directory).rglob("*"):
        if not path.is_file():
            continue
        if path.read_bytes().startswith(b"SQLite format 3"):
            with contextlib.closing(sqlite3.connect(path)) as db:
                parts.extend(db.iterdump())
        else:
            parts.append(path.read_bytes().decode("utf-8", "replace"))
    return "\n".join(parts)


def assert_no_secret(text: str, secrets: Secrets, where: str, *, key_id: bool = True) -> None:
    for piece in secrets.pieces:
        at = text.find(piece)
        assert at < 0, f"{where} contains a piece of a secret: {text[max(0, at - 200) : at + 50]!r}"
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
        unreachable = source_url_with(
            secrets.login, secrets.database, secrets.database_name, port=free_port()
        )
        monkeypatch.setenv("EXPORT_SOURCE_URL", unreachable)
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
    assert_no_secret(mail_text(secrets.inbox.messages[0]), secrets, "the e-mail")


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
        Mailer(
            smtp_url=f"smtp://mailer:{wrong}@127.0.0.1:{secrets.smtp_port}", sender="reports@platform.example"
        ).send(message)
    text = f"{refused.value!s} {refused.value!r} {refused.value.__cause__!r} {refused.value.__context__!r}"
    assert "127.0.0.1" in text
    for piece in fragments(wrong):
        assert piece not in text and piece not in caplog.text
    assert secrets.inbox.messages == []


def mail_text(raw: bytes) -> str:
    """A message as sent, and every part of it decoded (a base64 or quoted-printable part hides its text
    from a search of the raw message)."""
    message = email.message_from_bytes(raw, policy=email.policy.default)
    parts = [part.get_content() for part in message.walk() if not part.is_multipart()]
    return "\n".join([raw.decode("utf-8", "replace"), *map(str, parts)])


def history_rows(url: str) -> str:
    with ExportHistory(url=url).engine.connect() as conn:
        return "\n".join(map(repr, conn.execute(sa.select(export_history_table))))


def step_failure(result: dg.ExecuteInProcessResult) -> str:
    return next(e for e in result.all_events if e.is_step_failure).event_specific_data.error.to_string()


def test_planted_passwords_never_leak_from_failures(
    secrets: Secrets,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """Export through URLs whose passwords hold raw ``@``, ``/``, ``#`` and ``?``; then fail on purpose
    with the password in the user-info, in the query (``password=``, ``sslpassword=``) and with a raw
    ``@``, and with an SMTP URL that does not parse; then look for every piece of every password in
    the instance's files and databases, the logs, the export history, the e-mail and the artifacts."""
    caplog.set_level(logging.DEBUG)
    root = tmp_path / "artifacts"
    good = os.environ["EXPORT_SOURCE_URL"]
    monkeypatch.setenv("EXPORT_TEST_HISTORY_URL", good)  # history stays reachable while the source fails
    resources = {
        "source": source_database(),
        "history": ExportHistory(url=dg.EnvVar("EXPORT_TEST_HISTORY_URL")),
        "mailer": mailer(),
        "artifacts": ArtifactStore(root=str(root)),
        "dataset_io_manager": DatasetParquetIOManager(root=str(root)),
    }
    port = free_port()
    in_query, raw_at = planted("/#&"), planted("@@")
    secrets.planted += [in_query, raw_at]
    name, login = secrets.database_name, secrets.login
    host = f"{make_url(PG_ADMIN_URL).host}:{port}"
    unreachable = {
        # URL as written -> how the failure must print it
        source_url_with(login, secrets.database, name, port=port): f"postgresql://{login}:***@{host}/{name}",
        f"postgresql://{login}@{host}/{name}?sslmode=disable&password={quote(in_query, safe='')}": (
            f"postgresql://{login}@{host}/{name}?sslmode=disable&password=***"
        ),
        source_url_with(login, raw_at, name, port=port): f"postgresql://{login}:***@{host}/{name}",
    }
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(TENANT_DIMENSION, ["acme"])
        exported = dg.materialize(
            [*dataset_assets, *export_assets],
            selection=["sales", "sales_csv"],
            partition_key=PARTITION,
            instance=instance,
            resources=resources,
        )
        assert exported.success  # the database password's raw @ / # ? reached PostgreSQL intact

        for url, shown in unreachable.items():
            monkeypatch.setenv("EXPORT_SOURCE_URL", url)
            failed = dg.materialize(
                [*dataset_assets, *export_assets],
                selection=["sales_csv"],
                partition_key=PARTITION,
                instance=instance,
                resources=resources,
                raise_on_error=False,
            )
            assert not failed.success
            assert f"cannot reach source database {shown}:" in step_failure(failed)
        monkeypatch.setenv("EXPORT_SOURCE_URL", good)

        NotificationSettingsStore(ExportHistory(url=good).engine).put(
            NotificationSettings(
                "acme", default_recipients=("boss@acme.example",), allowed_domains=("acme.example",)
            )
        )
        summary = dg.materialize(
            [weekly_export_summary], partition_key="acme", instance=instance, resources=resources
        )
        # The SMTP password's raw / # @ logged in; the summary lists the three failures, URLs masked.
        assert summary.success and len(secrets.inbox.messages) == 1
        mail = mail_text(secrets.inbox.messages[0])
        assert all(shown in mail for shown in unreachable.values())

        monkeypatch.setenv("EXPORT_SMTP_URL", f"smtp://mailer:{secrets.smtp}@127.0.0.1:smtp")
        unparseable = dg.materialize(
            [weekly_export_summary],
            partition_key="acme",
            instance=instance,
            resources={**resources, "mailer": mailer()},
            raise_on_error=False,
        )
        assert not unparseable.success
        assert "EXPORT_SMTP_URL must read smtp://user:password@host:port" in step_failure(unparseable)

        recorded = everything_recorded(instance)
    history = history_rows(good)
    for text in (recorded, history):  # the failures were recorded, masked
        assert all(shown in text for shown in unreachable.values())
    assert_no_secret(recorded, secrets, "the instance's runs, events, files or databases")
    assert_no_secret(history, secrets, "the export history")
    assert_no_secret(caplog.text, secrets, "Python log records", key_id=False)
    out, err = capfd.readouterr()
    assert_no_secret(out + err, secrets, "stdout/stderr")
    assert_no_secret(mail, secrets, "the e-mail")
    files = [path for path in root.rglob("*") if path.is_file()]
    assert any(path.suffix == ".csv" for path in files)
    for path in files:
        assert_no_secret(path.read_bytes().decode("utf-8", "replace"), secrets, f"artifact {path.name}")


URL_SECRET = "s3cr3t-0123456789ab"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://app:s3cr3t-0123456789ab@db:5432/exports", "postgresql://app:***@db:5432/exports"),
        ("postgresql://app:s3cr3t-0123456789ab%40x@db/exports", "postgresql://app:***@db/exports"),
        ("postgresql://app:s3cr3t@0123456789ab@db/exports", "postgresql://app:***@db/exports"),
        ("postgresql://app:s3cr3t/0123456789ab@db/exports", "postgresql://app:***@db/exports"),
        ("postgresql://app:s3cr3t#0123456789ab@db/exports", "postgresql://app:***@db/exports"),
        ("postgresql://app:s3cr3t?0123456789ab@db/exports", "postgresql://app:***@db/exports"),
        ("postgresql://app:s3:cr3t-0123456789ab@db/exports", "postgresql://app:***@db/exports"),
        (
            "postgresql://app@db/exports?sslmode=require&password=s3cr3t-0123456789ab",
            "postgresql://app@db/exports?sslmode=require&password=***",
        ),
        (
            "postgresql://app@db/exports?sslpassword=s3cr3t-0123456789ab&application_name=ep",
            "postgresql://app@db/exports?sslpassword=***&application_name=ep",
        ),
        ("https://db/x?access_token=s3cr3t-0123456789ab#top", "https://db/x?access_token=***#top"),
        ("https://db/x?API_KEY=s3cr3t-0123456789ab&Secret=s3cr3t", "https://db/x?API_KEY=***&Secret=***"),
        ("smtp://mailer:s3cr3t/0123456789ab#x@mail:587", "smtp://mailer:***@mail:587"),
        # A raw "@" in a query value: the last "@" is not the user-info's, and nothing before it shows.
        ("postgresql://app@db/exports?password=s3cr3t@0123456789ab", "postgresql://***"),
        ("postgresql://db:5432/exports?user=app&password=s3cr3t@0123456789ab", "postgresql://***"),
        ("sqlite:////srv/me@corp/source.db", "sqlite:////srv/me@corp/source.db"),
        ("app:s3cr3t-0123456789ab@db/exports", "<not a scheme:// URL; not shown>"),
        ("postgresql:/app:s3cr3t-0123456789ab@db", "<not a scheme:// URL; not shown>"),
    ],
)
def test_every_url_is_printed_with_its_credentials_masked(url: str, shown: str) -> None:
    assert masked_url(url) == shown
    assert "0123456789ab" not in masked_url(url) and "s3cr3t" not in masked_url(url)
    if url.startswith("postgresql://"):
        assert SourceUrl(url).redacted == shown and shown in repr(SourceUrl(url))


@pytest.mark.parametrize(
    "password", ["plain", "p@ss@word", "pa/ss", "pa#ss", "pa?ss", "p:a:ss", "50%", "@/#?:%&=+ é"]
)
@pytest.mark.parametrize("encoded", [False, True])
def test_a_password_reaches_the_driver_whole_written_raw_or_encoded(password: str, encoded: bool) -> None:
    written = quote(password, safe="") if encoded else password
    if not encoded and "%" in password:
        written = password.replace("%", "%25")  # a raw % must be written %25: passwords are decoded
    url = SourceUrl(f"postgresql://app:{written}@db.internal:6543/exports?sslmode=require")
    parsed = url.sqlalchemy_url
    assert (parsed.username, parsed.password, parsed.host, parsed.port) == (
        "app",
        password,
        "db.internal",
        6543,
    )
    assert (parsed.database, dict(parsed.query)) == ("exports", {"sslmode": "require"})
    assert url.redacted == "postgresql://app:***@db.internal:6543/exports?sslmode=require"
    server = smtp_server(f"smtp://mailer:{written}@mail.internal:587")
    assert (server.scheme, server.hostname, server.port) == ("smtp", "mail.internal", 587)
    assert (server.username, server.password) == ("mailer", password)
    assert password not in repr(server)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("smtps://mail.internal", ("smtps", "mail.internal", 465, None, None)),
        ("smtp://mail.internal", ("smtp", "mail.internal", 25, None, None)),
        ("smtp://me@[::1]:2525/", ("smtp", "::1", 2525, "me", None)),
        ("SMTP://me%40corp:p%2Fw@mail:26", ("smtp", "mail", 26, "me@corp", "p/w")),
    ],
)
def test_smtp_urls_are_read_as_written(url: str, expected: tuple) -> None:
    server = smtp_server(url)
    assert (server.scheme, server.hostname, server.port, server.username, server.password) == expected


@pytest.mark.parametrize(
    "url",
    [
        f"smtp://mailer:{URL_SECRET}@mail:port",
        f"smtp://mailer:{URL_SECRET}@mail:25/path",
        f"smtp://mailer:{URL_SECRET}@mail:25?x=1",
        f"http://mailer:{URL_SECRET}@mail:25",
        f"smtp://mailer:{URL_SECRET}@",
        f"mailer:{URL_SECRET}@mail:25",
        f"smtp:/mailer:{URL_SECRET}@mail:25",
    ],
)
def test_an_smtp_url_that_does_not_parse_is_refused_without_its_text(url: str) -> None:
    with pytest.raises(MalformedUrl) as refused:
        smtp_server(url)
    assert str(refused.value).startswith("EXPORT_SMTP_URL must read smtp://user:password@host:port")
    assert "0123456789ab" not in str(refused.value) and refused.value.__cause__ is None


def test_an_smtp_port_out_of_range_is_named() -> None:
    with pytest.raises(MalformedUrl, match="EXPORT_SMTP_URL names port 70000: use a port from 1 to 65535"):
        smtp_server(f"smtp://mailer:{URL_SECRET}@mail:70000")


@pytest.mark.parametrize(
    "url",
    [
        f"postgresql://app:{URL_SECRET}@db:port/exports",
        f"app:{URL_SECRET}@db/exports",
        f"postgresql//app:{URL_SECRET}@db/exports",
    ],
)
def test_a_source_url_that_does_not_parse_is_refused_without_its_text(url: str) -> None:
    with pytest.raises(MalformedUrl) as refused:
        SourceUrl(url)
    message = str(refused.value)
    assert message.startswith("the source database URL (EXPORT_SOURCE_URL) cannot be parsed")
    assert "0123456789ab" not in message and "s3cr3t" not in message and refused.value.__cause__ is None
