"""The command line a newcomer follows: seed, sync tenants, materialize with Dagster's own CLI; and
what it prints of users' text."""

from __future__ import annotations

import os
import re
import subprocess
import time
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner

from export_platform.cli import main
from export_platform.tracking.history import ExportHistory
from export_platform.tracking.notifications import NotificationSettings, NotificationSettingsStore
from export_platform.tracking.schema import export_schedules
from export_platform_tests.support.project import BIN


def run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(args, env=env, capture_output=True, text=True, timeout=300, check=False)


def test_seed_sync_and_materialize_from_the_command_line(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "EXPORT_SOURCE_URL": f"sqlite:///{tmp_path / 'source.db'}",
        "EXPORT_ARTIFACT_ROOT": str(tmp_path / "artifacts"),
        "DAGSTER_HOME": str(tmp_path / "home"),
    }
    (tmp_path / "home").mkdir()
    seeded = run(
        str(BIN / "export-platform"),
        "seed",
        "--tenants",
        "2",
        "--months",
        "1",
        "--sales-per-day",
        "3",
        "--end-month",
        "2026-10",
        env=env,
    )
    assert seeded.returncode == 0, seeded.stderr
    assert "[2/2] globex" in seeded.stdout

    synced = run(str(BIN / "export-platform"), "tenants", "sync", env=env)
    assert synced.returncode == 0, synced.stderr
    assert "tenants added: acme, globex" in synced.stdout

    # The README's command for one tenant's month in every format.
    materialized = run(
        str(BIN / "dagster"),
        "asset",
        "materialize",
        "-m",
        "export_platform.definitions",
        "--select",
        "group:datasets or group:exports",
        "--partition",
        "2026-10|acme",
        env=env,
    )
    assert materialized.returncode == 0, materialized.stderr[-3000:]
    frame = pl.read_parquet(tmp_path / "artifacts" / "acme" / "data" / "sales" / "2026-10.parquet")
    assert frame.height > 0 and set(frame["tenant_id"]) == {"acme"}
    folder = tmp_path / "artifacts" / "acme" / "exports" / "sales" / "2026-10"
    assert sorted(p.name for p in folder.iterdir()) == [
        "manifest.json",
        "sales_acme_2026-10.csv",
        "sales_acme_2026-10.pdf",
        "sales_acme_2026-10.xlsx",
    ]
    assert not (tmp_path / "artifacts" / "globex").exists()

    listed = run(str(BIN / "export-platform"), "history", "--tenant", "acme", env=env)
    assert listed.returncode == 0, listed.stderr
    lines = [line for line in listed.stdout.splitlines() if " acme " in line]
    assert len(lines) == 22 and all(" success " in line for line in lines)
    assert any("sales_pdf" in line and "sales_acme_2026-10.pdf" in line for line in lines)
    none_failed = run(str(BIN / "export-platform"), "history", "--status", "failed", env=env)
    assert none_failed.stdout.strip() == "no exports recorded with status failed"
    bad = run(str(BIN / "export-platform"), "history", "--tenant", "../globex", env=env)
    assert bad.returncode == 2 and "invalid tenant slug" in bad.stderr


def test_seed_refuses_bad_options(tmp_path: Path) -> None:
    env = {**os.environ, "EXPORT_SOURCE_URL": f"sqlite:///{tmp_path / 's.db'}"}
    result = run(str(BIN / "export-platform"), "seed", "--tenants", "0", env=env)
    assert result.returncode == 2
    assert "tenants must be between 1 and 10000" in result.stderr
    assert not (tmp_path / "s.db").exists()


def test_sync_requires_dagster_home(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "DAGSTER_HOME"}
    result = run(str(BIN / "export-platform"), "tenants", "sync", env=env)
    assert result.returncode == 2 and "DAGSTER_HOME is not set" in result.stderr


FORGED = "ana\r\n2026-12-01 09:00:00  globex     sales_csv  2026-11|globex  success  12  ana: s3://x\x1b[2K"


@pytest.fixture
def platform_db(tmp_path: Path, monkeypatch) -> ExportHistory:
    url = f"sqlite:///{tmp_path / 'platform.db'}"
    monkeypatch.setenv("EXPORT_SOURCE_URL", url)
    return ExportHistory(url=url)


def test_history_prints_one_line_per_export_whatever_its_text_holds(platform_db: ExportHistory) -> None:
    """A requester or error holding a line break, an escape sequence or a bidirectional override
    cannot print a line of its own nor hide one: every row is one line, with those characters escaped."""
    base = {
        "tenant": "acme",
        "dataset": "sales",
        "fmt": "csv",
        "partition_key": "2026-11|acme",
        "run_id": "r",
    }
    forged = platform_db.start(**base, requested_by=FORGED)
    platform_db.move(forged, "failed", error_message="boom\u202e\x1b]0;title\x07")
    platform_db.start(**base, requested_by="bob@acme.example")

    listed = CliRunner().invoke(main, ["history", "--tenant", "acme"])

    assert listed.exit_code == 0, listed.output
    lines = listed.output.splitlines()
    assert len(lines) == 3 and not re.search(r"[\x00-\x1f\x7f\u202e]", listed.output.replace("\n", ""))
    assert [line.split()[2] for line in lines[1:]] == ["acme", "acme"]  # no line passes for globex's
    [forged_line] = [line for line in lines if "ana" in line]
    assert "failed" in forged_line and "ana\\r\\n2026-12-01 09:00:00  globex" in forged_line
    assert forged_line.endswith("s3://x\\x1b[2K: boom\\u202e\\x1b]0;title\\x07")


def test_notifications_set_refuses_header_breaking_values_in_one_line(platform_db: ExportHistory) -> None:
    runner = CliRunner()
    set_acme = ["notifications", "set", "--tenant", "acme", "--allowed-domains", "acme.example"]
    for option, value, message in [
        (
            "--sender-name",
            "Acme\r\nBcc: spy@evil.example",
            "--sender-name: control characters are not allowed",
        ),
        ("--sender-name", "Acme\x1b[31m", "(U+001B at character 5)"),
        ("--reply-to", "help@acme.example\r\nBcc: spy@evil.example", "--reply-to: not an e-mail address:"),
        ("--reply-to", "orders@evil.example", "addresses outside the allowed domains (--allowed-domains)"),
        ("--default-recipients", "a\x1b[31m@acme.example", "--default-recipients: not e-mail addresses"),
        ("--allowed-domains", "acme.example\x00", "--allowed-domains: not domain names"),
    ]:
        refused = runner.invoke(main, [*set_acme, option, value])
        assert refused.exit_code == 2, (option, value, refused.output)
        assert refused.output.count("\n") == 1 and message in refused.output, refused.output
        assert not re.search(r"[\x00-\x09\x0b-\x1f]", refused.output)
    assert NotificationSettingsStore(platform_db.engine).get("acme") == NotificationSettings("acme")
    ok = runner.invoke(main, [*set_acme, "--sender-name", "Acme Exports", "--reply-to", "help@acme.example"])
    assert ok.exit_code == 0, ok.output
    assert NotificationSettingsStore(platform_db.engine).get("acme").reply_to == "help@acme.example"


def test_schedules_refuse_a_subject_with_a_line_break_and_list_stored_ones_escaped(
    sqlite_source: str, monkeypatch
) -> None:
    monkeypatch.setenv("EXPORT_SOURCE_URL", sqlite_source)
    runner = CliRunner()
    name = f"Injected {time.time_ns()}"
    add = ["schedules", "add", "--tenant", "acme", "--name", name, "--datasets", "sales", "--formats", "csv"]
    refused = runner.invoke(main, [*add, "--cadence", "daily", "--subject", "Sales\r\nBcc: spy@evil.example"])
    assert refused.exit_code == 2 and refused.output.count("\n") == 1
    assert "invalid schedule: subject: control characters are not allowed (U+000D at character 6)" in (
        refused.output
    )
    added = runner.invoke(main, [*add, "--cadence", "daily"])
    assert added.exit_code == 0, added.output
    history = ExportHistory(url=sqlite_source)
    with history.engine.begin() as conn:  # as a row saved before the rule would hold it
        conn.execute(
            export_schedules.update()
            .where(export_schedules.c.name == name)
            .values(name=f"{name}\r\nfake-id  globex  'Payroll'", recipients='["a\\u001b[8m@acme.example"]')
        )
    listed = runner.invoke(main, ["schedules", "list", "--tenant", "acme"])
    [line] = [line for line in listed.output.splitlines() if name in line]
    assert f"{name}\\r\\nfake-id  globex" in line and "a\\x1b[8m@acme.example" in line
    assert "fake-id" not in listed.output.replace(line, "")
