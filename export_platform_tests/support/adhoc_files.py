"""An ad-hoc export file as a finished ``adhoc_export`` run leaves it, for API tests that need one
without running Dagster: the bytes under ``{tenant}/adhoc/{run_id}/`` in the artifact store and the
successful history row that names them, recorded through the history's own ``attempt``."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass

from export_platform.storage.artifacts import ArtifactStore
from export_platform.storage.layout import adhoc_key
from export_platform.tracking.history import ExportHistory


@dataclass(frozen=True)
class AdhocFile:
    run_id: str
    name: str
    body: bytes
    history_id: str


def publish_adhoc_file(history: ExportHistory, root: str, tenant: str, user_id: int | None) -> AdhocFile:
    """A CSV of ``tenant``'s inventory published by a made-up run id, as the job would record it."""
    run_id, name = str(uuid.uuid4()), f"inventory_{tenant}_2026-10-01_2026-10-31.csv"
    body = "".join(f"{n};{tenant};{n * 7}.00\r\n" for n in range(2000)).encode()
    store = ArtifactStore(root=root).store
    key = adhoc_key(tenant, run_id, name)
    store.put_bytes(key, body)
    with history.attempt(
        tenant=tenant,
        requested_by=f"user@{tenant}.example",
        user_id=user_id,
        dataset="inventory",
        fmt="csv",
        partition_key=None,
        run_id=run_id,
        filters={"date_from": "2026-10-01", "date_to": "2026-10-31"},
    ) as attempt:
        attempt.published(
            record_count=2000,
            file_size_bytes=len(body),
            sha256=hashlib.sha256(body).hexdigest(),
            uri=store.uri(key),
        )
    return AdhocFile(run_id, name, body, attempt.id)
