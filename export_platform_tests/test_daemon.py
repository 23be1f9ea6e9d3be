"""End to end with a real daemon: dagster-daemon on the PostgreSQL-backed instance (dagster.yaml)
evaluates export_schedule_sensor, which launches a real run; its artifacts, history rows and the
delivery e-mail arrive. The built-in schedules run from the start: the daemon took them up unasked."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import dagster as dg
import pytest
from aiosmtpd.controller import Controller
from dagster._core.definitions.run_request import InstigatorType
from dagster._core.scheduler.instigation import InstigatorStatus

from export_platform.source.demo_data import SeedPlan
from export_platform.source.seeding import seed
from export_platform.source.url import SourceUrl
from export_platform.tracking.history import ExportHistory
from export_platform.tracking.notifications import NotificationSettings, NotificationSettingsStore
from export_platform.tracking.tenant_schedules import TenantScheduleSpec, TenantScheduleStore
from export_platform_tests.support.instigators import BUILT_IN_SCHEDULES
from export_platform_tests.support.mail_delivery import Inbox
from export_platform_tests.support.ports import free_port
from export_platform_tests.support.project import BIN, PROJECT

pytestmark = pytest.mark.daemon

DEADLINE_SECONDS = 240


def delivered(history: ExportHistory) -> bool:
    return any(row["status"] == "emailed" for row in history.entries(tenant="acme"))


def test_daemon_runs_a_due_schedule_and_delivers_it(tmp_path: Path, dagster_database: str) -> None:
    source_url = f"sqlite:///{tmp_path / 'source.db'}"
    seed(SourceUrl(source_url), SeedPlan(tenants=1, months=1, sales_per_day=2, end_month="2026-10"))
    history = ExportHistory(url=source_url)
    NotificationSettingsStore(history.engine).put(
        NotificationSettings("acme", allowed_domains=("acme.example",))
    )
    spec = TenantScheduleSpec(
        tenant="acme",
        name="Daily ledger",
        datasets=("bills",),
        formats=("csv",),
        cadence="daily",
        time_of_day="00:00",
        period="month_to_date",  # the month's file under exports/, as the monthly close writes it
        recipients=("finance@acme.example",),
    )
    TenantScheduleStore(history.engine).add(spec, now=dt.datetime.now(dt.UTC) - dt.timedelta(days=2))

    home = tmp_path / "home"
    home.mkdir()
    shutil.copyfile(PROJECT / "deploy" / "dagster.yaml", home / "dagster.yaml")
    handler, port = Inbox(), free_port()
    smtp = Controller(handler, hostname="127.0.0.1", port=port)
    smtp.start()
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "EXPORT_SOURCE_URL": source_url,
        "EXPORT_ARTIFACT_ROOT": str(tmp_path / "artifacts"),
        "EXPORT_SMTP_URL": f"smtp://127.0.0.1:{port}",
        "EXPORT_MAIL_FROM": "Acme Reports <reports@platform.example>",
    }
    synced = subprocess.run(
        [str(BIN / "export-platform"), "tenants", "sync"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert synced.returncode == 0, synced.stderr
    daemon = subprocess.Popen(
        [str(BIN / "dagster-daemon"), "run", "-w", "workspace.yaml"],
        cwd=PROJECT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(tmp_path / "daemon.log").open("w"),
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + DEADLINE_SECONDS
        # Wait for the history to record the delivery too: the run worker belongs to the daemon's
        # process group, and stopping the daemon as soon as the mail lands could kill it before that.
        while time.monotonic() < deadline and not (handler.messages and delivered(history)):
            assert daemon.poll() is None, (tmp_path / "daemon.log").read_text()[-3000:]
            time.sleep(2)
    finally:
        os.killpg(daemon.pid, signal.SIGTERM)
        daemon.wait(timeout=60)
        smtp.stop()
    assert len(handler.messages) == 1, (tmp_path / "daemon.log").read_text()[-3000:]
    today = dt.datetime.now(dt.UTC).date()
    month = (today - dt.timedelta(days=1)).strftime("%Y-%m")
    artifact = tmp_path / "artifacts" / "acme" / "exports" / "bills" / month / f"bills_acme_{month}.csv"
    assert artifact.is_file()
    rows = history.entries(tenant="acme")
    assert [(r["dataset"], r["format"], r["status"], r["requested_by"]) for r in rows] == [
        ("bills", "csv", "emailed", "schedule:Daily ledger")
    ]
    attachment = next(handler.messages[0].iter_attachments())
    assert attachment.get_payload(decode=True) == artifact.read_bytes()
    with dg.DagsterInstance.from_config(str(home)) as instance:
        states = instance.all_instigator_state(instigator_type=InstigatorType.SCHEDULE)
    taken_up = {state.instigator_name: state.status for state in states}
    # DECLARED_IN_CODE: running because the code says so, not because someone switched it on.
    assert {name: taken_up.get(name) for name in BUILT_IN_SCHEDULES} == dict.fromkeys(
        BUILT_IN_SCHEDULES, InstigatorStatus.DECLARED_IN_CODE
    )
