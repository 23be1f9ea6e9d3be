"""Tokens through the command line, on SQLite and PostgreSQL: issued only for a user of the tenant,
printed once and stored as a hash, listed without their secret, revoked for good; and the platform
tables of an older database gaining the token table and history's user column."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from export_platform.api.config import ApiConfig
from export_platform.cli import main
from export_platform.source.url import SourceUrl
from export_platform.tracking import schema
from export_platform.tracking.history import ExportHistory
from export_platform_tests.support.api_server import bearer, serving
from export_platform_tests.support.api_testbed import ACME_USER, GLOBEX_USER
from export_platform_tests.support.platform_migrations import engine_at_revision, insert_old_row
from export_platform_tests.support.seed_plan import TENANT

TOKEN = re.compile(r"ept_([0-9a-f]{16})_([A-Za-z0-9_-]{43})")


def stored_text(source_url: str) -> str:
    """Everything the api_tokens table holds, as text; and for SQLite the database file's bytes."""
    engine = ExportHistory(url=source_url).engine
    with engine.connect() as conn:
        rows = conn.execute(sa.select(schema.api_tokens)).all()
    text = repr(rows)
    url = SourceUrl(source_url)
    if url.dialect == "sqlite":
        text += url.sqlite_path.read_bytes().decode("latin-1")
    return text


def test_tokens_are_issued_listed_and_revoked_from_the_command_line(
    source_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("EXPORT_SOURCE_URL", source_url)
    cli = CliRunner()
    issued = cli.invoke(
        main,
        [
            "tokens",
            "issue",
            "--tenant",
            TENANT,
            "--user",
            str(ACME_USER),
            "--role",
            "exporter",
            "--label",
            "laptop",
        ],
    )
    assert issued.exit_code == 0, issued.output
    secret = issued.stdout.strip()
    match = TOKEN.fullmatch(secret)
    assert match, issued.stdout
    token_id, key = match.groups()
    assert f"issued token {token_id} for {TENANT} user {ACME_USER} (exporter)" in issued.stderr
    assert secret not in issued.stderr

    at_rest = stored_text(source_url)
    assert secret not in at_rest and key not in at_rest
    assert hashlib.sha256(key.encode()).hexdigest() in at_rest

    listed = cli.invoke(main, ["tokens", "list", "--tenant", TENANT])
    [line] = [line for line in listed.output.splitlines() if line.startswith(token_id)]
    assert re.search(
        rf"{TENANT}\s+user {ACME_USER}\s+exporter\s+active\s+expires \S+ \S+ UTC\s+laptop$", line
    )
    assert key not in listed.output

    config = ApiConfig(source_url=source_url, artifact_root=str(tmp_path), public_url="https://x.example")
    with serving(config) as base:
        history = f"{base}/v1/tenants/{TENANT}/history"
        assert httpx.get(history, headers=bearer(secret)).status_code == 200
        revoked = cli.invoke(main, ["tokens", "revoke", token_id])
        assert revoked.exit_code == 0 and revoked.output == f"token {token_id} revoked\n"
        refused = httpx.get(history, headers=bearer(secret))
    assert refused.status_code == 401 and refused.json()["error_code"] == "token_revoked"
    assert re.search(rf"^{token_id} .* revoked ", cli.invoke(main, ["tokens", "list"]).output, re.M)
    again = cli.invoke(main, ["tokens", "revoke", "0123456789abcdef"])
    assert again.exit_code == 2 and "no token 0123456789abcdef" in again.output


@pytest.mark.parametrize(
    ("options", "refusal"),
    [
        (["--tenant", TENANT, "--user", str(GLOBEX_USER)], f"{TENANT} has no user {GLOBEX_USER}"),
        (["--tenant", TENANT, "--user", "999999"], f"{TENANT} has no user 999999"),
        (["--tenant", "initech", "--user", str(ACME_USER)], "unknown tenant 'initech'"),
        (["--tenant", "../globex", "--user", str(ACME_USER)], "invalid tenant slug"),
    ],
)
def test_a_token_is_refused_for_anyone_but_a_user_of_the_tenant(
    sqlite_source: str, monkeypatch: pytest.MonkeyPatch, options: list[str], refusal: str
) -> None:
    monkeypatch.setenv("EXPORT_SOURCE_URL", sqlite_source)
    before = stored_text(sqlite_source)
    result = CliRunner().invoke(main, ["tokens", "issue", *options, "--role", "viewer"])
    assert result.exit_code == 2 and refusal in result.output, result.output
    assert not TOKEN.search(result.output)
    assert stored_text(sqlite_source).count("ept_") == before.count("ept_")


def test_an_older_platform_schema_gains_tokens_and_history_user_ids(tmp_path: Path) -> None:
    engine = engine_at_revision(f"sqlite:///{tmp_path / 'platform.db'}", "0001")
    insert_old_row(
        engine,
        "export_history",
        {
            "id": "old",
            "tenant_id": "acme",
            "requested_by": "schedule:M",
            "dataset": "sales",
            "format": "csv",
            "status": "success",
            "created_at": dt.datetime(2026, 10, 1, tzinfo=dt.UTC),
        },
    )
    schema.create_platform_tables(engine)
    with engine.connect() as conn:
        assert conn.execute(sa.select(schema.export_history.c.id, schema.export_history.c.user_id)).all() == [
            ("old", None)
        ]
        assert conn.execute(sa.select(sa.func.count()).select_from(schema.api_tokens)).scalar() == 0
