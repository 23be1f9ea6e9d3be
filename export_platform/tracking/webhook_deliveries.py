"""The webhook delivery log: one row per run and webhook, saying whether it was delivered, after how
many tries, and the last answer. A run's e-mail may be deferred to a later tick (the mail server busy):
the webhooks it already reached are read back here and not sent again."""

from __future__ import annotations

import datetime as dt
import uuid

import sqlalchemy as sa

from export_platform.tracking.schema import webhook_deliveries


class WebhookDeliveryLog:
    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    def delivered_urls(self, run_id: str) -> set[str]:
        """The webhooks ``run_id`` was delivered to."""
        t = webhook_deliveries
        with self.engine.connect() as conn:
            found = conn.execute(sa.select(t.c.url).where(t.c.run_id == run_id, t.c.status == "delivered"))
            return set(found.scalars())

    def record(
        self,
        *,
        tenant: str,
        run_id: str,
        schedule_id: str,
        kind: str,
        url: str,
        delivered: bool,
        tries: int,
        http_status: int | None,
        error: str | None,
    ) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                sa.insert(webhook_deliveries).values(
                    id=uuid.uuid4().hex,
                    tenant_id=tenant,
                    run_id=run_id,
                    schedule_id=schedule_id,
                    kind=kind,
                    url=url,
                    status="delivered" if delivered else "failed",
                    tries=tries,
                    http_status=http_status,
                    error_message=(error or None) and error[:4000],
                    created_at=dt.datetime.now(dt.UTC),
                )
            )

    def entries(self, *, tenant: str | None = None, run_id: str | None = None) -> list[dict]:
        """The logged deliveries, oldest first, of one tenant and/or one run."""
        t = webhook_deliveries
        stmt = sa.select(t).order_by(t.c.created_at, t.c.id)
        if tenant is not None:
            stmt = stmt.where(t.c.tenant_id == tenant)
        if run_id is not None:
            stmt = stmt.where(t.c.run_id == run_id)
        with self.engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(stmt)]
