"""Retention: per tenant, delete ad-hoc and scheduled export files older than the tenant's
``retention_days`` (30 unless it set another) and monthly exports older than its
``monthly_retention_days`` (kept for good unless it set one), marking their history rows ``expired``;
delete export-history rows older than the history retention, and writes that a dead process left
unfinished (S3 multipart uploads never completed nor aborted, local temporary files) once they have
been idle a day. History rows a run left pending or processing when it ended are first closed as
failed (as ``unfinished_export_sensor`` does), so they are kept and deleted like any other; rows of a
run still going are kept.

A file under ``{tenant}/exports/`` is a scheduled one when every export recorded for it was requested
by one of the tenant's own schedules; one the monthly close, a backfill or a person ever wrote, or one
the history no longer knows, is a monthly export, so a tenant's schedule can never shorten the life of
a month's close. Its manifest entry goes before the file does.

Only ``{tenant}/adhoc/`` and ``{tenant}/exports/`` are ever listed for deletion, and ``{tenant}/`` for
unfinished writes, one tenant at a time, and every key is checked to lie under that tenant's prefix
before anything is deleted, so a clean-up can never touch another tenant's files. Every deleted (or,
in a dry run, deletable) key is logged.

The same can be left to S3 itself with lifecycle rules; see docs/guide.md ("Ad-hoc exports and
retention").
"""

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import dagster as dg
import sqlalchemy as sa
from pydantic import Field

from export_platform.automation.monthly_close import monthly_close
from export_platform.automation.unfinished_exports import close_ended_runs
from export_platform.partitions import TENANT_DIMENSION, validate_tenant_slug
from export_platform.storage.artifacts import ArtifactStore
from export_platform.storage.layout import is_tenant_object_key
from export_platform.storage.object_store import ObjectStore, StoredObject, UnfinishedWrite
from export_platform.tracking.history import BATCH, UNFINISHED, ExportHistory
from export_platform.tracking.notifications import NotificationSettings, NotificationSettingsStore
from export_platform.tracking.schema import export_history


def now_utc() -> dt.datetime:
    """The clean-up's clock (tests move it forward rather than wait)."""
    return dt.datetime.now(dt.UTC)


class RetentionConfig(dg.Config):
    dry_run: bool = Field(default=False, description="Only list what would be deleted.")
    history_retention_days: int = Field(default=365, ge=1, description="Keep export-history rows this long.")
    unfinished_write_hours: float = Field(
        default=24,
        gt=0,
        description=(
            "Abort S3 multipart uploads started, and delete local temporary files last written, longer "
            "ago than this: what a killed export left behind. Keep it above the longest export."
        ),
    )


def _check_under(key: str, prefix: str) -> None:
    if not key.startswith(prefix) or ".." in key.split("/"):
        raise ValueError(f"refusing to touch {key!r}: not under {prefix}")


def expired(objects: Iterable[StoredObject], tenant: str, cutoff: dt.datetime) -> list[StoredObject]:
    """The tenant's ad-hoc objects last modified before ``cutoff``; anything outside its prefix is refused."""
    prefix = f"{validate_tenant_slug(tenant)}/adhoc/"
    chosen = []
    for item in objects:
        _check_under(item.key, prefix)
        if not is_tenant_object_key(tenant, item.key):
            continue  # not a file the platform wrote (".DS_Store", "a (1).csv"): left where it is
        if item.modified < cutoff:
            chosen.append(item)
    return chosen


@dataclass(frozen=True)
class ExportFile:
    """A file under ``{tenant}/exports/{dataset}/{month}/``, with its URI as the history records it."""

    item: StoredObject
    uri: str
    dataset: str
    month: str


def export_files(
    objects: Iterable[StoredObject], tenant: str, uri_of: Callable[[str], str]
) -> list[ExportFile]:
    """The export files among the tenant's objects under ``{tenant}/exports/``, manifests left out;
    anything outside that prefix is refused, and a file the platform did not write is left alone."""
    prefix = f"{validate_tenant_slug(tenant)}/exports/"
    files = []
    for item in objects:
        _check_under(item.key, prefix)
        parts = item.key.split("/")
        if not is_tenant_object_key(tenant, item.key) or len(parts) != 5 or parts[4] == "manifest.json":
            continue
        files.append(ExportFile(item, uri_of(item.key), parts[2], parts[3]))
    return files


MONTHLY_CLOSE_REQUESTER = f"schedule:{monthly_close.name}"


def is_tenant_schedule(requested_by: str) -> bool:
    """Whether an export was requested by one of a tenant's own schedules (``schedule:<name>``)."""
    return requested_by.startswith("schedule:") and requested_by != MONTHLY_CLOSE_REQUESTER


def scheduled_only(history: ExportHistory, tenant: str, uris: list[str]) -> set[str]:
    """The URIs among ``uris`` whose every recorded export (in any status) a tenant schedule asked for."""
    writers: dict[str, set[str]] = {}
    t = export_history
    with history.engine.connect() as conn:
        for start in range(0, len(uris), BATCH):
            stmt = sa.select(t.c.uri, t.c.requested_by).where(
                t.c.tenant_id == tenant, t.c.uri.in_(uris[start : start + BATCH])
            )
            for uri, requested_by in conn.execute(stmt):
                writers.setdefault(uri, set()).add(requested_by)
    return {uri for uri, who in writers.items() if all(is_tenant_schedule(w) for w in who)}


def expired_exports(
    files: list[ExportFile], scheduled: set[str], settings: NotificationSettings, now: dt.datetime
) -> tuple[list[ExportFile], list[ExportFile]]:
    """The scheduled files older than ``retention_days`` and the monthly ones older than
    ``monthly_retention_days`` (none when that is unset)."""
    files_cutoff = now - dt.timedelta(days=settings.retention_days)
    monthly_days = settings.monthly_retention_days
    monthly_cutoff = now - dt.timedelta(days=monthly_days) if monthly_days is not None else None
    scheduled_files = [f for f in files if f.uri in scheduled and f.item.modified < files_cutoff]
    monthly = [
        f
        for f in files
        if f.uri not in scheduled and monthly_cutoff is not None and f.item.modified < monthly_cutoff
    ]
    return scheduled_files, monthly


def abandoned(writes: Iterable[UnfinishedWrite], tenant: str, cutoff: dt.datetime) -> list[UnfinishedWrite]:
    """The tenant's unfinished writes idle since before ``cutoff``; anything outside its prefix is refused."""
    prefix = f"{validate_tenant_slug(tenant)}/"
    chosen = []
    for write in writes:
        _check_under(write.key, prefix)
        if write.last_active < cutoff:
            chosen.append(write)
    return chosen


def _delete_expired_files(
    context: dg.OpExecutionContext,
    config: RetentionConfig,
    artifacts: ArtifactStore,
    history: ExportHistory,
    tenant: str,
    now: dt.datetime,
) -> tuple[int, int]:
    """Delete the tenant's expired ad-hoc, scheduled and monthly files, each monthly or scheduled
    one's manifest entry first, and mark their history rows ``expired``; return how many files and
    rows (none marked in a dry run)."""
    store = artifacts.store
    settings = NotificationSettingsStore(history.engine).get(tenant)
    adhoc = expired(store.list(f"{tenant}/adhoc/"), tenant, now - dt.timedelta(days=settings.retention_days))
    files = export_files(store.list(f"{tenant}/exports/"), tenant, store.uri)
    scheduled, monthly = expired_exports(
        files, scheduled_only(history, tenant, [f.uri for f in files]), settings, now
    )
    doomed: list[tuple[str, list[tuple[StoredObject, str, ExportFile | None]]]] = [
        (f"{settings.retention_days} days (ad-hoc)", [(item, store.uri(item.key), None) for item in adhoc]),
        (f"{settings.retention_days} days (scheduled)", [(f.item, f.uri, f) for f in scheduled]),
        (f"{settings.monthly_retention_days} days (monthly)", [(f.item, f.uri, f) for f in monthly]),
    ]
    rows = 0
    for kept_for, group in doomed:
        for item, uri, export in group:
            context.log.info(
                f"{'would delete' if config.dry_run else 'deleting'} {uri} "
                f"(modified {item.modified:%Y-%m-%d}, kept {kept_for})"
            )
            if config.dry_run:
                continue
            if export is not None:
                artifacts.unrecord(tenant, export.dataset, export.month, item.key)
            store.delete(item.key)
        if group and not config.dry_run:
            reason = f"expired: the file was deleted by retention after {kept_for}"
            rows += history.expire(tenant, [uri for _, uri, _ in group], reason)
    return sum(len(group) for _, group in doomed), rows


def _abandon_unfinished_writes(
    context: dg.OpExecutionContext, config: RetentionConfig, store: ObjectStore, tenant: str, now: dt.datetime
) -> int:
    """Abandon the tenant's writes idle longer than ``unfinished_write_hours``; return how many."""
    idle_since = now - dt.timedelta(hours=config.unfinished_write_hours)
    stale = abandoned(store.unfinished_writes(f"{tenant}/"), tenant, idle_since)
    for write in stale:
        context.log.info(
            f"{'would abandon' if config.dry_run else 'abandoning'} the unfinished write of "
            f"{store.uri(write.key)} ({write.handle}, last active {write.last_active:%Y-%m-%d %H:%M} UTC)"
        )
        if not config.dry_run:
            store.abandon(write)
    return len(stale)


@dg.op(
    description=(
        "Delete expired ad-hoc, scheduled and monthly export files per tenant (their history rows marked "
        "expired), old export-history rows (after closing those an ended run left unfinished), and writes "
        "killed exports left unfinished."
    )
)
def clean_up_expired_exports(
    context: dg.OpExecutionContext, config: RetentionConfig, artifacts: ArtifactStore, history: ExportHistory
) -> dict:
    now = now_utc()
    deleted: dict[str, int] = {}
    expired_rows: dict[str, int] = {}
    unfinished: dict[str, int] = {}
    failed: dict[str, str] = {}
    for tenant in sorted(context.instance.get_dynamic_partitions(TENANT_DIMENSION)):
        try:
            deleted[tenant], rows = _delete_expired_files(context, config, artifacts, history, tenant, now)
            stale = _abandon_unfinished_writes(context, config, artifacts.store, tenant, now)
        except Exception as exc:  # one tenant's odd files or settings must not keep the others' forever
            failed[tenant] = f"{type(exc).__name__}: {exc}"
            context.log.error(f"retention of {tenant} failed, the other tenants go on: {failed[tenant]}")
            continue
        if rows:
            expired_rows[tenant] = rows
        if stale:
            unfinished[tenant] = stale
    closed = close_ended_runs(context.instance, history, limit=None, dry_run=config.dry_run)
    for reason, count in closed.values():
        context.log.info(
            f"{'would close' if config.dry_run else 'closed'} {count} unfinished exports: {reason}"
        )
    history_cutoff = now - dt.timedelta(days=config.history_retention_days)
    old_rows = sa.and_(
        export_history.c.created_at < history_cutoff,
        sa.or_(export_history.c.status.not_in(UNFINISHED), export_history.c.run_id.in_(list(closed))),
    )
    with history.engine.begin() as conn:
        if config.dry_run:
            rows = conn.execute(
                sa.select(sa.func.count()).select_from(export_history).where(old_rows)
            ).scalar_one()
        else:
            rows = conn.execute(sa.delete(export_history).where(old_rows)).rowcount
    context.log.info(f"{'would delete' if config.dry_run else 'deleted'} {rows} export-history rows")
    if failed:
        raise dg.Failure(
            f"retention failed for {len(failed)} tenants (the others were cleaned up): "
            + "; ".join(f"{tenant}: {reason}" for tenant, reason in failed.items())
        )
    return {
        "files": deleted,
        "expired_rows": expired_rows,
        "unfinished_writes": unfinished,
        "history_rows": rows,
        "unfinished_closed": sum(count for _, count in closed.values()),
        "dry_run": config.dry_run,
    }


@dg.job(
    name="retention_cleanup",
    description=(
        "Deletes ad-hoc and scheduled export files older than each tenant's retention (default 30 days) "
        "and monthly exports older than its monthly retention (default: kept), marking their history "
        "rows expired; export-history rows older than a year; and uploads or temporary files a killed "
        "export left unfinished a day ago. Logs every key; set dry_run to only list them."
    ),
    executor_def=dg.in_process_executor,
)
def retention_cleanup() -> None:
    clean_up_expired_exports()


retention_schedule = dg.ScheduleDefinition(
    name="retention_cleanup_daily",
    job=retention_cleanup,
    cron_schedule="30 3 * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Runs retention_cleanup every day at 03:30 UTC.",
)
