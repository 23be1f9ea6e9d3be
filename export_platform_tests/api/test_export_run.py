"""End to end with a real Dagster: a token is issued, ``POST exports`` launches an ``adhoc_export`` run
through the webserver's GraphQL API, the daemon starts it, the client polls until ``success`` and
downloads the file in two byte ranges whose bytes hash to the sha256 the history recorded; the rows
name the user. A schedule run now is polled the same way; a due schedule is overdue until the
sensor starts its run, and stays overdue for a tenant Dagster does not know."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
import sqlalchemy as sa

from export_platform.api.config import ApiConfig
from export_platform.source import schema
from export_platform.source.demo_data import SeedPlan
from export_platform.source.seeding import seed
from export_platform.source.url import SourceUrl
from export_platform.tracking.api_tokens import ApiTokenStore
from export_platform.tracking.history import ExportHistory
from export_platform.tracking.tenant_schedules import TenantScheduleSpec, TenantScheduleStore
from export_platform_tests.support.api_server import bearer, serving
from export_platform_tests.support.dagster_stack import dagster_home, dagster_stack

pytestmark = pytest.mark.daemon

RUN_SECONDS = 60
USER = 2  # a user of acme in the seeded source
PUBLIC_URL = "https://exports.example"


@dataclass(frozen=True)
class Stack:
    api: str
    source_url: str
    root: Path
    due: dict[str, str]  # tenant -> the id of its schedule that fell due an hour ago

    @property
    def history(self) -> ExportHistory:
        return ExportHistory(url=self.source_url)

    def token(self, tenant: str, role: str) -> dict[str, str]:
        store = ApiTokenStore(self.history.engine)
        return bearer(
            store.issue(
                tenant=tenant, user_id=USER if tenant == "acme" else 7, role=role, expires_in_days=1
            ).bearer
        )

    def local(self, url: str) -> str:
        """``url``, a public URL the API gave out, as this test reaches the API."""
        return self.api + urlsplit(url).path


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Acme and globex seeded; globex inactive, so it never becomes a partition. Each has a daily
    schedule due an hour ago and made two days before; then Dagster (knowing acme) and the API."""
    folder = tmp_path_factory.mktemp("export_run")
    source_url, root = f"sqlite:///{folder / 'source.db'}", folder / "artifacts"
    seed(SourceUrl(source_url), SeedPlan(tenants=2, months=1, sales_per_day=2, end_month="2026-10"))
    engine = ExportHistory(url=source_url).engine
    with engine.begin() as conn:
        conn.execute(sa.update(schema.tenants).where(schema.tenants.c.id == "globex").values(is_active=False))
    an_hour_ago = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    due = {
        tenant: TenantScheduleStore(engine)
        .add(
            TenantScheduleSpec(
                tenant=tenant,
                name="Daily sales",
                datasets=("sales",),
                formats=("csv",),
                cadence="daily",
                time_of_day=f"{an_hour_ago:%H:%M}",
            ),
            now=an_hour_ago - dt.timedelta(days=2),
        )
        .id
        for tenant in ("acme", "globex")
    }
    dagster_home(folder / "home", ["acme"])
    env = {
        **os.environ,
        "DAGSTER_HOME": str(folder / "home"),
        "EXPORT_SOURCE_URL": source_url,
        "EXPORT_ARTIFACT_ROOT": str(root),
    }
    with dagster_stack(env, folder) as dagster:
        config = ApiConfig(
            source_url=source_url, artifact_root=str(root), public_url=PUBLIC_URL, dagster_url=dagster
        )
        with serving(config) as api:
            yield Stack(api, source_url, root, due)


def finished(stack: Stack, status_url: str, headers: dict[str, str]) -> dict:
    """The export at ``status_url`` once it succeeded or failed, polled as a client would."""
    deadline = time.monotonic() + RUN_SECONDS
    while True:
        export = httpx.get(stack.local(status_url), headers=headers).json()
        assert export["status"] in ("pending", "processing", "success", "failed"), export
        if export["status"] in ("success", "failed") or time.monotonic() > deadline:
            return export
        time.sleep(0.5)


def acme_email(stack: Stack) -> str:
    with ExportHistory(url=stack.source_url).engine.connect() as conn:
        return conn.execute(sa.select(schema.users.c.email).where(schema.users.c.id == USER)).scalar_one()


def test_an_export_requested_over_the_api_runs_and_downloads_resumed(stack: Stack) -> None:
    request = {
        "dataset": "sales",
        "formats": ["csv"],
        "date_from": "2026-10-01",
        "date_to": "2026-10-31",
        "delimiter": ";",
    }
    accepted = httpx.post(
        f"{stack.api}/v1/tenants/acme/exports", json=request, headers=stack.token("acme", "exporter")
    )
    assert accepted.status_code == 202, accepted.text
    run_id = accepted.json()["export_id"]
    assert (
        accepted.headers["location"]
        == accepted.json()["status_url"]
        == f"{PUBLIC_URL}/v1/tenants/acme/exports/{run_id}"
    )
    assert (accepted.json()["status"], accepted.json()["files"]) == ("pending", [])

    viewer = stack.token("acme", "viewer")
    export = finished(stack, accepted.headers["location"], viewer)
    assert export["status"] == "success" and export["success"], export
    [row] = stack.history.entries(tenant="acme", run_id=run_id)
    assert (row["user_id"], row["requested_by"], row["status"]) == (USER, acme_email(stack), "success")
    assert (export["user_id"], export["requested_by"]) == (USER, acme_email(stack))
    [file] = export["files"]
    assert (file["export_id"], file["sha256"], file["record_count"]) == (
        row["id"],
        row["sha256"],
        row["record_count"],
    )
    assert (export["record_count"], export["file_size_bytes"]) == (
        row["record_count"],
        row["file_size_bytes"],
    )
    assert export["download_url"] == file["download_url"]

    half = row["file_size_bytes"] // 2
    url = stack.local(file["download_url"])
    first = httpx.get(url, headers={**viewer, "Range": f"bytes=0-{half - 1}"})
    rest = httpx.get(url, headers={**viewer, "Range": f"bytes={half}-", "If-Range": first.headers["etag"]})
    assert (first.status_code, rest.status_code) == (206, 206)
    body = first.content + rest.content
    assert len(body) == row["file_size_bytes"] and hashlib.sha256(body).hexdigest() == row["sha256"]
    assert body.startswith(b"\xef\xbb\xbf") and b";" in body.splitlines()[0]

    other = httpx.get(
        f"{stack.api}/v1/tenants/globex/exports/{run_id}", headers=stack.token("globex", "viewer")
    )
    assert other.status_code == 404


def test_a_schedule_runs_now_and_is_overdue_only_until_its_run_starts(stack: Stack) -> None:
    admin = stack.token("acme", "admin")
    acme = f"{stack.api}/v1/tenants/acme"
    created = httpx.post(
        f"{acme}/schedules",
        json={
            "name": "Bills now",
            "datasets": ["bills"],
            "formats": ["csv"],
            "cadence": "monthly",
            "day_of_month": "last",
            "period": "month_to_date",
        },
        headers=admin,
    )
    triggered = httpx.post(f"{acme}/schedules/{created.json()['schedule_id']}/trigger", headers=admin)
    assert triggered.status_code == 202, triggered.text
    export = finished(stack, triggered.headers["location"], admin)
    assert export["status"] == "success", export
    month = (dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)).strftime("%Y-%m")
    [row] = stack.history.entries(tenant="acme", run_id=export["export_id"])
    assert (row["dataset"], row["format"], row["partition_key"]) == ("bills", "csv", f"{month}|acme")
    assert (row["user_id"], row["requested_by"]) == (USER, acme_email(stack))
    published = httpx.get(stack.local(export["download_url"]), headers=admin)
    assert published.status_code == 200 and hashlib.sha256(published.content).hexdigest() == row["sha256"]

    deadline = time.monotonic() + RUN_SECONDS  # the sensor starts acme's due run on one of its first ticks
    while (
        httpx.get(f"{acme}/schedules/overdue", headers=admin).json()["items"] and time.monotonic() < deadline
    ):
        time.sleep(1)
    assert httpx.get(f"{acme}/schedules/overdue", headers=admin).json() == {"items": []}
    globex = httpx.get(
        f"{stack.api}/v1/tenants/globex/schedules/overdue", headers=stack.token("globex", "viewer")
    )
    [late] = globex.json()["items"]
    assert (late["schedule_id"], late["name"]) == (stack.due["globex"], "Daily sales")
