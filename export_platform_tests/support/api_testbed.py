"""What the API tests serve: a source seeded like the shared ones (with the platform tables), acme's
October sales published as CSV into a local folder, and a bearer token of every kind. No Dagster runs
behind it: the API is pointed at a port nothing listens on, so what needs Dagster answers 503 (the
end-to-end test starts a real one)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from export_platform.api.config import ApiConfig
from export_platform.source.seeding import seed
from export_platform.source.url import SourceUrl
from export_platform.tracking.api_tokens import ApiTokenStore
from export_platform.tracking.history import ExportHistory
from export_platform.tracking.schema import api_tokens, export_history
from export_platform_tests.support.materialize import materialize_exports
from export_platform_tests.support.ports import free_port
from export_platform_tests.support.seed_plan import OTHER_TENANT, PARTITION, TENANT, TEST_PLAN

PUBLIC_URL = "https://exports.example"
ACME_USER, GLOBEX_USER = 2, 7  # a users.id of each tenant in TEST_PLAN's data
ROLES = ("viewer", "exporter", "admin")


@dataclass(frozen=True)
class ApiTestbed:
    source_url: str
    root: Path
    tokens: dict[str, str]  # viewer, exporter, admin (acme's), other_tenant (globex admin), revoked, expired
    dagster_url: str  # nothing listens there

    @property
    def history(self) -> ExportHistory:
        return ExportHistory(url=self.source_url)

    @property
    def token_store(self) -> ApiTokenStore:
        return ApiTokenStore(self.history.engine)

    def forget(self, rows: list[dict]) -> None:
        """Delete history rows a test made, so that the session's other tests (which count rows of
        their own making) see the testbed as it was built."""
        with self.history.engine.begin() as conn:
            conn.execute(sa.delete(export_history).where(export_history.c.id.in_([r["id"] for r in rows])))

    def config(self, **limits: int) -> ApiConfig:
        return ApiConfig(
            source_url=self.source_url,
            artifact_root=str(self.root),
            public_url=PUBLIC_URL,
            dagster_url=self.dagster_url,
            **limits,
        )


def build_testbed(folder: Path) -> ApiTestbed:
    source_url, root = f"sqlite:///{folder / 'source.db'}", folder / "artifacts"
    seed(SourceUrl(source_url), TEST_PLAN)
    result = materialize_exports(source_url, str(root), PARTITION, selection=["sales", "sales_csv"])
    assert result.success
    store = ApiTokenStore(ExportHistory(url=source_url).engine)

    def issue(tenant: str = TENANT, user_id: int = ACME_USER, role: str = "admin") -> tuple[str, str]:
        issued = store.issue(tenant=tenant, user_id=user_id, role=role, expires_in_days=1)
        return issued.token.id, issued.bearer

    tokens = {role: issue(role=role)[1] for role in ROLES}
    tokens["other_tenant"] = issue(OTHER_TENANT, GLOBEX_USER)[1]
    revoked_id, tokens["revoked"] = issue()
    assert store.revoke(revoked_id)
    expired_id, tokens["expired"] = issue()
    with store.engine.begin() as conn:
        an_hour_ago = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
        conn.execute(
            sa.update(api_tokens).where(api_tokens.c.id == expired_id).values(expires_at=an_hour_ago)
        )
    return ApiTestbed(source_url, root, tokens, f"http://127.0.0.1:{free_port()}")
