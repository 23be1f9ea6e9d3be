"""Retention deletes exactly the expired files of each tenant (ad-hoc and scheduled after its
retention_days, monthly exports after its monthly_retention_days, kept by default), marks their
history rows expired, and touches nothing of anyone else."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import boto3
import dagster as dg
import pytest

from export_platform.automation import retention
from export_platform.automation.retention import expired, retention_cleanup
from export_platform.storage.artifacts import ArtifactStore, PublishedFile, sha256_of
from export_platform.storage.object_store import StoredObject
from export_platform.tracking.history import ExportHistory
from export_platform.tracking.notifications import NotificationSettings, NotificationSettingsStore
from export_platform.tracking.schema import export_history, notification_settings

NOW = dt.datetime.now(dt.UTC)


def make_file(root: Path, key: str, age_days: float) -> Path:
    path = root / key
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x")
    stamp = (NOW - dt.timedelta(days=age_days)).timestamp()
    os.utime(path, (stamp, stamp))
    return path


def run(root: Path, history: ExportHistory, instance: dg.DagsterInstance, dry_run: bool):
    return retention_cleanup.execute_in_process(
        run_config={"ops": {"clean_up_expired_exports": {"config": {"dry_run": dry_run}}}},
        resources={"artifacts": ArtifactStore(root=str(root)), "history": history},
        instance=instance,
    )


def test_expired_files_of_each_tenant_and_nothing_else(tmp_path: Path) -> None:
    root = tmp_path / "artifacts"
    history = ExportHistory(url=f"sqlite:///{tmp_path / 'platform.db'}")
    NotificationSettingsStore(history.engine).put(NotificationSettings("globex", retention_days=7))
    files = {
        "acme/adhoc/run1/old.csv": 45,
        "acme/adhoc/run2/recent.csv": 10,  # acme keeps 30 days (default)
        "globex/adhoc/run3/old.csv": 8,
        "globex/adhoc/run4/recent.csv": 2,  # globex keeps 7
        "acme/exports/sales/2024-01/sales_acme_2024-01.csv": 400,  # monthly exports are never touched
        "initech/adhoc/run5/old.csv": 90,  # a tenant this instance does not serve: not listed at all
    }
    # Temporary files of writes whose process was killed: idle two days (abandoned), or an hour (a
    # write that may still be running, kept); another system's under no tenant is never listed.
    temporaries = {
        "acme/exports/sales/2026-09/.sales_acme_2026-09.csv.k2j4h8sd.tmp": 2,
        "globex/datasets/sales/2026-10/.sales.parquet.0dk3m1xa.tmp": 1 / 24,
        "initech/exports/sales/2026-10/.sales_initech_2026-10.csv.x8a0b1c2.tmp": 9,
    }
    for key, age in {**files, **temporaries}.items():
        make_file(root, key, age)
    old_row = history.start(
        tenant="acme", requested_by="x", dataset="sales", fmt="csv", partition_key=None, run_id="r"
    )
    with history.engine.begin() as conn:
        conn.execute(
            export_history.update()
            .where(export_history.c.id == old_row)
            .values(created_at=NOW - dt.timedelta(days=400))
        )
    recent_row = history.start(
        tenant="acme", requested_by="x", dataset="sales", fmt="csv", partition_key=None, run_id="r"
    )

    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions("tenant", ["acme", "globex"])
    dry = run(root, history, instance, dry_run=True)
    assert dry.output_for_node("clean_up_expired_exports") == {
        "files": {"acme": 1, "globex": 1},
        "expired_rows": {},
        "unfinished_writes": {"acme": 1},
        "history_rows": 1,
        "unfinished_closed": 2,  # both rows are of run "r", which this instance does not know
        "dry_run": True,
    }
    assert all((root / key).exists() for key in [*files, *temporaries])
    logged = [e.user_message for e in instance.all_logs(dry.run_id) if "would delete" in e.user_message]
    assert any("acme/adhoc/run1/old.csv" in m for m in logged) and any(
        "globex/adhoc/run3/old.csv" in m for m in logged
    )
    assert any(
        "would abandon the unfinished write of " in m
        and str(root / "acme/exports/sales/2026-09/sales_acme_2026-09.csv") in m
        for m in (e.user_message for e in instance.all_logs(dry.run_id))
    )

    real = run(root, history, instance, dry_run=False)
    assert real.output_for_node("clean_up_expired_exports")["files"] == {"acme": 1, "globex": 1}
    remaining = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
    gone = {"acme/adhoc/run1/old.csv", "globex/adhoc/run3/old.csv", *list(temporaries)[:1]}
    assert remaining == sorted({*files, *temporaries} - gone)
    ids = {r["id"] for r in history.entries(limit=100)}
    assert recent_row in ids and old_row not in ids


def test_a_key_outside_the_tenants_prefix_is_refused() -> None:
    outside = StoredObject("globex/adhoc/run/x.csv", 1, NOW - dt.timedelta(days=99))
    with pytest.raises(ValueError, match="refusing to touch"):
        expired([outside], "acme", NOW)
    with pytest.raises(ValueError, match="refusing to touch"):
        expired([StoredObject("acme/adhoc/../exports/x.csv", 1, NOW)], "acme", NOW)


def test_a_file_the_platform_did_not_write_is_left_and_stops_nothing() -> None:
    old = NOW - dt.timedelta(days=99)
    listed = [
        StoredObject("acme/adhoc/run/.DS_Store", 1, old),
        StoredObject("acme/adhoc/run/sales (1).csv", 1, old),
        StoredObject("acme/adhoc/run/sales.csv", 1, old),
    ]
    assert [item.key for item in expired(listed, "acme", NOW)] == ["acme/adhoc/run/sales.csv"]


def test_s3_listing_and_deletion(s3_bucket: str) -> None:
    store = ArtifactStore(root=f"s3://{s3_bucket}/p").store
    s3 = boto3.client("s3")
    for key in ("p/acme/adhoc/r/a.csv", "p/acme/adhoc/r/b.pdf", "p/globex/adhoc/r/c.csv"):
        s3.put_object(Bucket=s3_bucket, Key=key, Body=b"1")
    listed = list(store.list("acme/adhoc/"))
    assert [o.key for o in listed] == ["acme/adhoc/r/a.csv", "acme/adhoc/r/b.pdf"]
    for item in expired(listed, "acme", dt.datetime.now(dt.UTC) + dt.timedelta(days=1)):
        store.delete(item.key)
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=s3_bucket)["Contents"]] == ["p/globex/adhoc/r/c.csv"]


def _start_upload(s3, bucket: str, key: str) -> str:
    upload = s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    s3.upload_part(Bucket=bucket, Key=key, UploadId=upload, PartNumber=1, Body=b"x" * 1024)
    return upload


def test_s3_uploads_a_killed_export_left_open_are_aborted_per_tenant(s3_bucket: str, tmp_path: Path) -> None:
    """A process killed mid-upload cannot abort its own multipart upload; the daily clean-up does, for
    the tenants it serves, once the upload is older than ``unfinished_write_hours``. (The S3 server used
    here reports every upload as started in 2010, so the age cut-off itself is proven on the local
    store above; here a dry run must leave them all open.)"""
    s3 = boto3.client("s3")
    keys = {
        "acme": "p/acme/exports/sales/2026-10/sales_acme_2026-10.csv",
        "globex": "p/globex/datasets/sales/2026-10/sales.parquet",
        "initech": "p/initech/exports/sales/2026-10/sales_initech_2026-10.csv",  # not served here
    }
    uploads = {tenant: _start_upload(s3, s3_bucket, key) for tenant, key in keys.items()}
    history = ExportHistory(url=f"sqlite:///{tmp_path / 'platform.db'}")
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions("tenant", ["acme", "globex"])

    def clean_up(dry_run: bool):
        return retention_cleanup.execute_in_process(
            run_config={"ops": {"clean_up_expired_exports": {"config": {"dry_run": dry_run}}}},
            resources={"artifacts": ArtifactStore(root=f"s3://{s3_bucket}/p"), "history": history},
            instance=instance,
        ).output_for_node("clean_up_expired_exports")["unfinished_writes"]

    def open_uploads() -> dict[str, str]:
        listed = s3.list_multipart_uploads(Bucket=s3_bucket).get("Uploads", [])
        return {u["Key"]: u["UploadId"] for u in listed}

    assert clean_up(dry_run=True) == {"acme": 1, "globex": 1}
    assert open_uploads() == {keys[t]: uploads[t] for t in keys}
    assert clean_up(dry_run=False) == {"acme": 1, "globex": 1}
    assert open_uploads() == {keys["initech"]: uploads["initech"]}
    assert not s3.list_objects_v2(Bucket=s3_bucket).get("Contents")  # aborting publishes nothing


def backdate(history: ExportHistory, entry: str, days: int) -> None:
    with history.engine.begin() as conn:
        conn.execute(
            export_history.update()
            .where(export_history.c.id == entry)
            .values(created_at=NOW - dt.timedelta(days=days))
        )


def test_rows_a_killed_export_left_processing_are_closed_then_deleted(tmp_path: Path) -> None:
    """A year-old row left ``processing`` by a run that was killed (failed by the run monitor) is
    closed as failed and deleted with the other old rows; the old row of a run still going is kept."""
    history = ExportHistory(url=f"sqlite:///{tmp_path / 'platform.db'}")
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions("tenant", ["acme"])
    killed = instance.add_run(dg.DagsterRun(job_name="exports_job", status=dg.DagsterRunStatus.STARTED))
    instance.report_run_failed(killed)
    live = instance.add_run(dg.DagsterRun(job_name="exports_job", status=dg.DagsterRunStatus.STARTED))
    rows = {}
    for name, run_id, age in (("killed old", killed.run_id, 400), ("killed recent", killed.run_id, 1)):
        rows[name] = history.start(
            tenant="acme", requested_by="x", dataset="sales", fmt="csv", partition_key=None, run_id=run_id
        )
        history.move(rows[name], "processing")
        backdate(history, rows[name], age)
    rows["live old"] = history.start(
        tenant="acme", requested_by="x", dataset="sales", fmt="pdf", partition_key=None, run_id=live.run_id
    )
    history.move(rows["live old"], "processing")
    backdate(history, rows["live old"], 400)

    dry = run(tmp_path / "artifacts", history, instance, dry_run=True).output_for_node(
        "clean_up_expired_exports"
    )
    assert (dry["unfinished_closed"], dry["history_rows"]) == (2, 1)
    assert {r["status"] for r in history.entries(limit=10)} == {"processing"}

    real = run(tmp_path / "artifacts", history, instance, dry_run=False).output_for_node(
        "clean_up_expired_exports"
    )
    assert (real["unfinished_closed"], real["history_rows"]) == (2, 1)
    left = {r["id"]: r for r in history.entries(limit=10)}
    assert set(left) == {rows["killed recent"], rows["live old"]}
    assert left[rows["killed recent"]]["status"] == "failed"
    assert left[rows["killed recent"]]["error_message"] == (
        f"run {killed.run_id} ended FAILURE before this export finished"
    )
    assert left[rows["live old"]]["status"] == "processing"


def test_one_tenants_bad_settings_do_not_stop_the_others_clean_up(tmp_path: Path) -> None:
    """globex's settings row cannot be read (a hand edit broke its JSON): acme is still cleaned up,
    and the run fails naming globex and why."""
    root = tmp_path / "artifacts"
    history = ExportHistory(url=f"sqlite:///{tmp_path / 'platform.db'}")
    NotificationSettingsStore(history.engine).put(NotificationSettings("globex", retention_days=7))
    with history.engine.begin() as conn:
        conn.execute(notification_settings.update().values(allowed_domains="[not json"))
    old = {tenant: make_file(root, f"{tenant}/adhoc/run/old.csv", 45) for tenant in ("acme", "globex")}
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions("tenant", ["acme", "globex"])
    result = retention_cleanup.execute_in_process(
        run_config={"ops": {"clean_up_expired_exports": {"config": {"dry_run": False}}}},
        resources={"artifacts": ArtifactStore(root=str(root)), "history": history},
        instance=instance,
        raise_on_error=False,
    )
    assert not result.success
    assert not old["acme"].exists() and old["globex"].exists()
    failure = next(e for e in result.all_events if e.is_step_failure).event_specific_data.error.message
    assert "retention failed for 1 tenants (the others were cleaned up): globex: JSONDecodeError" in failure


SCHEDULED, MONTHLY_CLOSE = "schedule:Daily ledger", "schedule:monthly_close"


def written(history: ExportHistory, store, key: str, *requesters: str) -> list[str]:
    """History rows saying each of ``requesters`` wrote the file at ``key`` (e-mailed, for the tenant's
    schedule)."""
    rows = []
    for who in requesters:
        entry = history.start(
            tenant="acme", requested_by=who, dataset="sales", fmt="csv", partition_key=None, run_id="r"
        )
        history.move(entry, "processing")
        history.move(entry, "success", record_count=1, file_size_bytes=1, sha256="0" * 64, uri=store.uri(key))
        if who == SCHEDULED:
            history.move(entry, "emailed")
        rows.append(entry)
    return rows


def recorded(artifacts: ArtifactStore, key: str, path: Path) -> None:
    """``key``'s entry in its month's manifest, as an export records it."""
    _, _, dataset, month, name = key.split("/")
    fmt = name.rsplit(".", 1)[1]
    artifacts.record(
        "acme",
        dataset,
        month,
        PublishedFile(fmt, name, key, artifacts.store.uri(key), 1, sha256_of(path), 1, "text/csv", "x"),
    )


def statuses(history: ExportHistory, rows: list[str]) -> list[str]:
    by_id = {r["id"]: r["status"] for r in history.entries(limit=1000)}
    return [by_id[row] for row in rows]


def test_scheduled_files_expire_and_monthly_exports_keep_their_own_retention(tmp_path: Path) -> None:
    root = tmp_path / "artifacts"
    artifacts = ArtifactStore(root=str(root))
    history = ExportHistory(url=f"sqlite:///{tmp_path / 'platform.db'}")
    keys = {
        "adhoc": "acme/adhoc/run1/sales.csv",  # 45 days old: past the 30 days
        "scheduled": "acme/exports/sales/2026-09/sales_acme_2026-09.csv",  # only a schedule wrote it
        "scheduled recent": "acme/exports/sales/2026-11/sales_acme_2026-11.csv",
        "closed": "acme/exports/sales/2026-08/sales_acme_2026-08.csv",  # a schedule, then the close
        "old close": "acme/exports/bills/2025-08/bills_acme_2025-08.csv",  # history long deleted
    }
    ages = {"adhoc": 45, "scheduled": 45, "scheduled recent": 3, "closed": 45, "old close": 480}
    paths = {name: make_file(root, key, ages[name]) for name, key in keys.items()}
    sibling = make_file(root, "acme/exports/sales/2026-09/sales_acme_2026-09.xlsx", 45)
    for name in ("scheduled", "closed"):
        recorded(artifacts, keys[name], paths[name])
    recorded(artifacts, "acme/exports/sales/2026-09/sales_acme_2026-09.xlsx", sibling)
    store = artifacts.store
    rows = {
        "adhoc": written(history, store, keys["adhoc"], "ana@acme.example"),
        "scheduled": written(history, store, keys["scheduled"], SCHEDULED, SCHEDULED),
        "scheduled recent": written(history, store, keys["scheduled recent"], SCHEDULED),
        "closed": written(history, store, keys["closed"], SCHEDULED, MONTHLY_CLOSE),
    }
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions("tenant", ["acme"])

    dry = run(root, history, instance, dry_run=True).output_for_node("clean_up_expired_exports")
    assert (dry["files"], dry["expired_rows"]) == ({"acme": 2}, {})
    assert all(path.exists() for path in paths.values())

    real = run(root, history, instance, dry_run=False).output_for_node("clean_up_expired_exports")
    assert (real["files"], real["expired_rows"]) == ({"acme": 2}, {"acme": 3})
    assert {name for name, path in paths.items() if not path.exists()} == {"adhoc", "scheduled"}
    assert sibling.exists()  # the xlsx of that month was written by nobody known: a monthly export
    assert sorted(artifacts.manifest("acme", "sales", "2026-09")["files"]) == ["xlsx"]
    assert sorted(artifacts.manifest("acme", "sales", "2026-08")["files"]) == ["csv"]
    assert {name: statuses(history, ids) for name, ids in rows.items()} == {
        "adhoc": ["expired"],
        "scheduled": ["expired", "expired"],
        "scheduled recent": ["emailed"],
        "closed": ["emailed", "success"],
    }
    [adhoc_row] = [r for r in history.entries(limit=100) if r["id"] == rows["adhoc"][0]]
    assert adhoc_row["error_message"] == "expired: the file was deleted by retention after 30 days (ad-hoc)"
    assert adhoc_row["uri"] == store.uri(keys["adhoc"])  # what was exported, and where, stays on record

    NotificationSettingsStore(history.engine).put(NotificationSettings("acme", monthly_retention_days=365))
    later = run(root, history, instance, dry_run=False).output_for_node("clean_up_expired_exports")
    assert later["files"] == {"acme": 1}
    assert {name for name, path in paths.items() if not path.exists()} == {"adhoc", "scheduled", "old close"}
    assert paths["closed"].exists() and sibling.exists()


def test_s3_scheduled_and_monthly_retention(s3_bucket: str, tmp_path: Path, monkeypatch) -> None:
    """The same on S3 (moto's server), with the clean-up's clock moved 31 days ahead, as the S3 server
    dates every object now: acme's scheduled file goes, its month's close stays; globex, keeping
    monthly exports 20 days, loses its close too; nothing under another tenant or prefix moves."""
    artifacts = ArtifactStore(root=f"s3://{s3_bucket}/p")
    store = artifacts.store
    s3 = boto3.client("s3")
    keys = [
        "acme/exports/sales/2026-09/sales_acme_2026-09.csv",
        "acme/exports/sales/2026-10/sales_acme_2026-10.csv",
        "acme/adhoc/run1/sales.csv",
        "acme/data/sales/2026-09.parquet",
        "globex/exports/sales/2026-10/sales_globex_2026-10.csv",
        "initech/adhoc/run9/sales.csv",
    ]
    for key in keys:
        s3.put_object(Bucket=s3_bucket, Key=f"p/{key}", Body=b"x")
    history = ExportHistory(url=f"sqlite:///{tmp_path / 'platform.db'}")
    scheduled = written(history, store, keys[0], SCHEDULED)
    closed = written(history, store, keys[1], MONTHLY_CLOSE)
    NotificationSettingsStore(history.engine).put(NotificationSettings("globex", monthly_retention_days=20))
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions("tenant", ["acme", "globex"])
    ahead = dt.datetime.now(dt.UTC) + dt.timedelta(days=31)
    monkeypatch.setattr(retention, "now_utc", lambda: ahead)

    result = retention_cleanup.execute_in_process(
        run_config={"ops": {"clean_up_expired_exports": {"config": {"dry_run": False}}}},
        resources={"artifacts": artifacts, "history": history},
        instance=instance,
    ).output_for_node("clean_up_expired_exports")

    assert result["files"] == {"acme": 2, "globex": 1}
    left = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=s3_bucket)["Contents"])
    assert left == sorted(f"p/{key}" for key in (keys[1], keys[3], keys[5]))
    assert (statuses(history, scheduled), statuses(history, closed)) == (["expired"], ["success"])
