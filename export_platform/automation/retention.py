"""Retention: delete ad-hoc export files older than each tenant's retention (30 days unless the tenant
set another), export-history rows older than the history retention, and writes that a dead process
left unfinished (S3 multipart uploads never completed nor aborted, local temporary files) once they
have been idle a day. History rows a run left pending or processing when it ended are first closed as
failed (as ``unfinished_export_sensor`` does), so they are kept and deleted like any other; rows of a
run still going are kept.

Only ``{tenant}/adhoc/`` is ever listed for deletion, and ``{tenant}/`` for unfinished writes, one
tenant at a time, and every key is checked to lie under that tenant's prefix before anything is
deleted, so a clean-up can never touch another tenant's files or the monthly exports. Every deleted
(or, in a dry run, deletable) key is logged.

The same can be left to S3 itself with lifecycle rules; see README ("Retention").
"""

import datetime as dt
from collections.abc import Iterable

import dagster as dg
import sqlalchemy as sa
from pydantic import Field

from export_platform.automation.unfinished_exports import close_ended_runs
from export_platform.partitions import TENANT_DIMENSION, validate_tenant_slug
from export_platform.storage.artifacts import ArtifactStore
from export_platform.storage.layout import is_tenant_object_key
from export_platform.storage.object_store import ObjectStore, StoredObject, UnfinishedWrite
from export_platform.tracking.history import UNFINISHED, ExportHistory
from export_platform.tracking.notifications import NotificationSettingsStore
from export_platform.tracking.schema import export_history


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


def abandoned(writes: Iterable[UnfinishedWrite], tenant: str, cutoff: dt.datetime) -> list[UnfinishedWrite]:
    """The tenant's unfinished writes idle since before ``cutoff``; anything outside its prefix is refused."""
    prefix = f"{validate_tenant_slug(tenant)}/"
    chosen = []
    for write in writes:
        _check_under(write.key, prefix)
        if write.last_active < cutoff:
            chosen.append(write)
    return chosen


def _clean_up_tenant(
    context: dg.OpExecutionContext,
    config: RetentionConfig,
    store: ObjectStore,
    settings: NotificationSettingsStore,
    tenant: str,
    now: dt.datetime,
) -> tuple[int, int]:
    """Delete one tenant's expired ad-hoc files and abandon its idle unfinished writes; return how
    many of each (would have been, in a dry run)."""
    cutoff = now - dt.timedelta(days=settings.get(tenant).retention_days)
    doomed = expired(store.list(f"{tenant}/adhoc/"), tenant, cutoff)
    for item in doomed:
        context.log.info(
            f"{'would delete' if config.dry_run else 'deleting'} {store.uri(item.key)} "
            f"(modified {item.modified:%Y-%m-%d})"
        )
        if not config.dry_run:
            store.delete(item.key)
    idle_since = now - dt.timedelta(hours=config.unfinished_write_hours)
    stale = abandoned(store.unfinished_writes(f"{tenant}/"), tenant, idle_since)
    for write in stale:
        context.log.info(
            f"{'would abandon' if config.dry_run else 'abandoning'} the unfinished write of "
            f"{store.uri(write.key)} ({write.handle}, last active {write.last_active:%Y-%m-%d %H:%M} UTC)"
        )
        if not config.dry_run:
            store.abandon(write)
    return len(doomed), len(stale)


@dg.op(
    description=(
        "Delete expired ad-hoc exports per tenant, old export-history rows (after closing those an ended "
        "run left unfinished), and writes killed exports left unfinished."
    )
)
def clean_up_expired_exports(
    context: dg.OpExecutionContext, config: RetentionConfig, artifacts: ArtifactStore, history: ExportHistory
) -> dict:
    now = dt.datetime.now(dt.UTC)
    settings = NotificationSettingsStore(history.engine)
    store = artifacts.store
    deleted: dict[str, int] = {}
    unfinished: dict[str, int] = {}
    failed: dict[str, str] = {}
    for tenant in sorted(context.instance.get_dynamic_partitions(TENANT_DIMENSION)):
        try:
            deleted[tenant], stale = _clean_up_tenant(context, config, store, settings, tenant, now)
        except Exception as exc:  # one tenant's odd files or settings must not keep the others' forever
            failed[tenant] = f"{type(exc).__name__}: {exc}"
            context.log.error(f"retention of {tenant} failed, the other tenants go on: {failed[tenant]}")
            continue
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
        "unfinished_writes": unfinished,
        "history_rows": rows,
        "unfinished_closed": sum(count for _, count in closed.values()),
        "dry_run": config.dry_run,
    }


@dg.job(
    name="retention_cleanup",
    description=(
        "Deletes ad-hoc export files older than each tenant's retention (default 30 days), export-history "
        "rows older than a year, and uploads or temporary files a killed export left unfinished a day ago; "
        "logs every key. Set dry_run to only list them. Monthly exports are kept."
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
