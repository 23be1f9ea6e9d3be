"""A real ``dagster-daemon`` retries a scheduled export that failed on a transient fault: S3 (moto,
behind a proxy) is down when the schedule's run writes its file, and back before the retry. One file,
two history attempts (the failed one and the delivered one), one e-mail, and no failure notice."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import boto3
import dagster as dg
import pytest
from aiosmtpd.controller import Controller

from export_platform.automation.scheduled_retries import ATTEMPT_TAG, FIRST_RUN_TAG
from export_platform.source.demo_data import SeedPlan
from export_platform.source.seeding import seed
from export_platform.source.url import SourceUrl
from export_platform.tracking.history import ExportHistory
from export_platform.tracking.notifications import NotificationSettings, NotificationSettingsStore
from export_platform.tracking.tenant_schedules import TenantScheduleSpec, TenantScheduleStore
from export_platform_tests.support.cuttable_proxy import CuttableProxy
from export_platform_tests.support.mail_delivery import Inbox
from export_platform_tests.support.ports import free_port
from export_platform_tests.support.project import BIN, PROJECT

pytestmark = [pytest.mark.faults, pytest.mark.daemon]

DEADLINE_SECONDS = 300
SCHEDULE_TAG = "export_platform/schedule_id"
NOTICE_SENSOR_SECONDS = 30
"""export_failure_notice_sensor's interval (Dagster's default for run status sensors)."""


def test_the_daemon_retries_a_transient_failure_once_and_tells_nobody(
    tmp_path: Path, dagster_database: str, s3_server: str, s3_bucket: str
) -> None:
    yesterday = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)
    source_url = f"sqlite:///{tmp_path / 'source.db'}"
    seed(
        SourceUrl(source_url), SeedPlan(tenants=1, months=1, sales_per_day=2, end_month=f"{yesterday:%Y-%m}")
    )
    history = ExportHistory(url=source_url)
    NotificationSettingsStore(history.engine).put(
        NotificationSettings(
            "acme", failure_recipients=("it@acme.example",), allowed_domains=("acme.example",)
        )
    )
    an_hour_ago = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    spec = TenantScheduleSpec(
        tenant="acme",
        name="Daily sales",
        datasets=("sales",),
        formats=("csv",),
        cadence="daily",
        time_of_day=f"{an_hour_ago:%H:%M}",
        recipients=("finance@acme.example",),
        options={"delimiter": ";"},
    )
    TenantScheduleStore(history.engine).add(spec, now=an_hour_ago - dt.timedelta(days=2))

    proxy = CuttableProxy(int(s3_server.rsplit(":", 1)[1]))  # down: S3 refuses every connection
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
        "EXPORT_ARTIFACT_ROOT": f"s3://{s3_bucket}",
        "AWS_ENDPOINT_URL": proxy.endpoint,
        "EXPORT_SMTP_URL": f"smtp://127.0.0.1:{port}",
        "EXPORT_MAIL_FROM": "Export Platform <exports@platform.example>",
        "EXPORT_OPERATOR_EMAILS": "ops@platform.example",
        "EXPORT_SCHEDULE_CHECK_SECONDS": "5",
        "EXPORT_SCHEDULE_RETRY_DELAY_SECONDS": "20",
    }
    synced = subprocess.run(
        [str(BIN / "export-platform"), "tenants", "sync"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert synced.returncode == 0, synced.stderr
    log = tmp_path / "daemon.log"
    daemon = subprocess.Popen(
        [str(BIN / "dagster-daemon"), "run", "-w", "workspace.yaml"],
        cwd=PROJECT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log.open("w"),
        start_new_session=True,
    )

    def wait_for(condition) -> None:
        deadline = time.monotonic() + DEADLINE_SECONDS
        while not condition():
            assert daemon.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.5)

    try:
        with dg.DagsterInstance.from_config(str(home)) as instance:

            def scheduled() -> list[dg.DagsterRun]:
                return [r for r in instance.get_runs() if SCHEDULE_TAG in r.tags]

            wait_for(lambda: any(r.status == dg.DagsterRunStatus.FAILURE for r in scheduled()))
            failed_at = time.monotonic()
            proxy.up()  # S3 is back before the retry falls due
            wait_for(lambda: [r["status"] for r in history.entries(tenant="acme")][:1] == ["emailed"])
            # The failure notice sensor has looked at the failed run by now, and a later tick of the
            # retry sensor must not launch anything more.
            time.sleep(max(0.0, NOTICE_SENSOR_SECONDS + 10 - (time.monotonic() - failed_at)))
            runs = sorted(scheduled(), key=lambda r: int(r.tags.get(ATTEMPT_TAG, "1")))
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(daemon.pid, signal.SIGTERM)
        daemon.wait(timeout=60)
        smtp.stop()
        proxy.down()

    described = [(r.run_id, r.tags.get(ATTEMPT_TAG), r.status.value) for r in runs]
    assert [r.status for r in runs] == [dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.SUCCESS], described
    first, retry = runs
    assert (retry.tags[ATTEMPT_TAG], retry.tags[FIRST_RUN_TAG]) == ("2", first.run_id)
    rows = sorted(history.entries(tenant="acme"), key=lambda r: r["created_at"])
    assert [(r["run_id"], r["status"]) for r in rows] == [(first.run_id, "failed"), (retry.run_id, "emailed")]
    assert rows[0]["error_message"].startswith("EndpointConnectionError"), rows[0]["error_message"]
    objects = boto3.client("s3", endpoint_url=s3_server).list_objects_v2(
        Bucket=s3_bucket, Prefix="acme/adhoc/"
    )
    keys = [o["Key"] for o in objects.get("Contents", [])]
    name = f"sales_acme_{yesterday}_{yesterday}.csv"
    assert keys == [f"acme/adhoc/{retry.run_id}/{name}"]
    [message] = handler.messages  # the delivery; no failure notice, to the tenant or the operators
    assert message["To"] == "finance@acme.example"
    assert next(message.iter_attachments()).get_filename() == name
