"""The command line a newcomer follows: seed, sync tenants, materialize with Dagster's own CLI; and
what it prints of users' text."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import time
from pathlib import Path

import polars as pl
import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from export_platform.cli import main
from export_platform.tracking.history import ExportHistory
from export_platform.tracking.notifications import NotificationSettings, NotificationSettingsStore
from export_platform.tracking.schema import export_history, export_schedules
from export_platform_tests.support.project import BIN


def run(*args: str, env: dict[str, str], cwd: Path | None = None) -> subprocess.CompletedProcess:
    """``args`` run as a user would, in ``cwd`` (where commands keep .export_platform/logs/)."""
    return subprocess.run(args, env=env, cwd=cwd, capture_output=True, text=True, timeout=300, check=False)


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


def test_notifications_set_retention_for_files_and_for_monthly_exports(platform_db: ExportHistory) -> None:
    runner = CliRunner()
    store = NotificationSettingsStore(platform_db.engine)
    set_acme = ["notifications", "set", "--tenant", "acme"]
    ok = runner.invoke(main, [*set_acme, "--retention-days", "14", "--monthly-retention-days", "400"])
    assert ok.exit_code == 0, ok.output
    assert (store.get("acme").retention_days, store.get("acme").monthly_retention_days) == (14, 400)
    shown = runner.invoke(main, ["notifications", "show", "--tenant", "acme"]).output
    assert "retention_days: 14\n" in shown and "monthly_retention_days: 400\n" in shown
    unchanged = runner.invoke(main, [*set_acme, "--sender-name", "Acme Exports"])
    assert unchanged.exit_code == 0 and store.get("acme").monthly_retention_days == 400
    kept = runner.invoke(main, [*set_acme, "--monthly-retention-days", "keep"])
    assert kept.exit_code == 0 and store.get("acme").monthly_retention_days is None
    shown = runner.invoke(main, ["notifications", "show", "--tenant", "acme"]).output
    assert "monthly_retention_days: keep\n" in shown
    refused = runner.invoke(main, [*set_acme, "--monthly-retention-days", "0"])
    assert (
        refused.exit_code == 2
        and "'0' is neither a number of days from 1 to 3650 nor 'keep'" in refused.output
    )
    assert store.get("acme").monthly_retention_days is None


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


def seeded_env(tmp_path: Path) -> dict[str, str]:
    """The environment of a small seeded SQLite source, its artifacts and a Dagster home in ``tmp_path``."""
    env = {
        **os.environ,
        "EXPORT_SOURCE_URL": f"sqlite:///{tmp_path / 'source.db'}",
        "EXPORT_ARTIFACT_ROOT": str(tmp_path / "artifacts"),
        "DAGSTER_HOME": str(tmp_path / "home"),
    }
    (tmp_path / "home").mkdir()
    (tmp_path / "home" / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    seeded = run(*SEED, env=env)
    assert seeded.returncode == 0, seeded.stderr
    return env


SEED = (str(BIN / "export-platform"), "seed", "--tenants", "2", "--months", "1", "--sales-per-day", "1")


def test_seed_refuses_a_source_that_holds_data_unless_told_to_replace_it(tmp_path: Path) -> None:
    env = seeded_env(tmp_path)
    source = sa.create_engine(env["EXPORT_SOURCE_URL"])
    with source.connect() as conn:
        sales = conn.exec_driver_sql("SELECT count(*) FROM sales").scalar_one()

    refused = run(*SEED, "--sales-per-day", "5", env=env)

    assert refused.returncode == 2 and refused.stdout == ""
    what, fix = refused.stderr.splitlines()
    assert what.startswith("Error: sqlite:///") and "holds 2 tenants (acme, globex) and " in what
    assert f"sales {sales:,}" in what and "tenants 2" in what and what.endswith("which seed would drop.")
    assert fix == "Run `export-platform seed --replace` to drop them and seed anew."
    with source.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM sales").scalar_one() == sales

    replaced = run(*SEED, "--sales-per-day", "5", "--replace", env=env)
    assert replaced.returncode == 0, replaced.stderr
    assert replaced.stdout.splitlines()[1].startswith("dropping 2 tenants (acme, globex) and ")
    with source.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM sales").scalar_one() > sales


def test_history_says_when_it_shows_part_filters_by_day_and_prints_json_lines(
    platform_db: ExportHistory,
) -> None:
    recent = [
        platform_db.start(
            tenant="acme", requested_by="ana", dataset="sales", fmt="csv", partition_key=None, run_id=f"r{n}"
        )
        for n in range(53)
    ]
    with platform_db.engine.begin() as conn:  # three of them made on 2026-01-05
        conn.execute(
            export_history.update()
            .where(export_history.c.id.in_(recent[:3]))
            .values(created_at=dt.datetime(2026, 1, 5, 12, tzinfo=dt.UTC))
        )
    env = dict(os.environ)
    cli = str(BIN / "export-platform")

    shown = run(cli, "history", env=env)
    assert shown.returncode == 0, shown.stderr
    assert len(shown.stdout.splitlines()) == 1 + 50
    assert shown.stderr == "showing 50 of 53 (use --limit)\n"
    every = run(cli, "history", "--limit", "60", env=env)
    assert len(every.stdout.splitlines()) == 1 + 53 and every.stderr == ""

    since = run(cli, "history", "--since", "2026-01-06", "--limit", "60", env=env)
    assert len(since.stdout.splitlines()) == 1 + 50 and since.stderr == ""
    assert (
        run(cli, "history", "--since", "2099-01-01", env=env).stdout
        == "no exports recorded since 2099-01-01\n"
    )

    as_json = run(cli, "history", "--json", "--limit", "2", env=env)
    assert as_json.returncode == 0 and as_json.stderr == "showing 2 of 53 (use --limit)\n"
    rows = [json.loads(line) for line in as_json.stdout.splitlines()]
    assert [row["id"] for row in rows] == [entry["id"] for entry in platform_db.entries(limit=2)]
    assert rows[0]["tenant_id"] == "acme" and rows[0]["status"] == "pending" and rows[0]["filters"] == {}
    assert dt.datetime.fromisoformat(rows[0]["created_at"]).tzinfo is not None
    old = run(cli, "history", "--json", "--since", "2026-01-01", "--limit", "100", env=env)
    assert len(old.stdout.splitlines()) == 53
    assert "JSON Lines" in run(cli, "history", "--help", env=env).stdout

    wrong = run(cli, "history", "--since", "2026-13-01", env=env)
    assert wrong.returncode == 2 and len(wrong.stderr.splitlines()) == 2 and "--since" in wrong.stderr


def test_adhoc_checks_a_request_whole_then_runs_it_and_lists_its_files(
    sqlite_source: str, tmp_path: Path
) -> None:
    copy = tmp_path / "source.db"
    copy.write_bytes(Path(sqlite_source.removeprefix("sqlite:///")).read_bytes())
    (tmp_path / "home").mkdir()
    (tmp_path / "home" / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    env = {
        **os.environ,
        "EXPORT_SOURCE_URL": f"sqlite:///{copy}",
        "EXPORT_ARTIFACT_ROOT": str(tmp_path / "artifacts"),
        "DAGSTER_HOME": str(tmp_path / "home"),
    }
    request = tmp_path / "request.yaml"
    cli = str(BIN / "export-platform")

    request.write_text("ops: {run_adhoc_export: {config: {tenant: initech, dataset: sales}}}\n")
    unknown = run(cli, "adhoc", "--config", str(request), env=env)
    assert unknown.returncode == 2 and "Traceback" not in unknown.stderr
    assert unknown.stderr.splitlines()[1:] == [
        "  tenant: unknown tenant 'initech': no such row in the source's tenants table"
    ]

    request.write_text(
        "ops: {run_adhoc_export: {config: {tenant: acme, dataset: sales, formats: [csv, pdf],\n"
        "  date_from: '2026-10-01', date_to: '2026-10-31', requested_by: ana@acme.example}}}\n"
    )
    done = run(cli, "adhoc", "--config", str(request), env=env, cwd=tmp_path)

    assert done.returncode == 0, done.stderr
    heading, *files = done.stdout.splitlines()
    assert heading.startswith("Exported sales for acme (run ")
    assert [line.split()[0] for line in files] == ["csv", "pdf"]
    for line in files:
        assert Path(line.split()[-1]).is_file() and Path(line.split()[-1]).is_relative_to(tmp_path)
    [log_line] = done.stderr.splitlines()
    log = tmp_path / log_line.removeprefix("Dagster's logs: ").split(" (")[0]
    assert log.is_relative_to(tmp_path / ".export_platform" / "logs") and "RUN_SUCCESS" in log.read_text()
    run_id = heading.removeprefix("Exported sales for acme (run ").removesuffix("):")
    rows = ExportHistory(url=env["EXPORT_SOURCE_URL"]).entries(run_id=run_id)
    assert {(r["format"], r["status"], r["requested_by"]) for r in rows} == {
        ("csv", "success", "ana@acme.example"),
        ("pdf", "success", "ana@acme.example"),
    }
