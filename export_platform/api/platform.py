"""What the routes reach the platform through: its tables (history, tokens, notification settings,
schedules) in the configured database, the artifact root, Dagster's webserver, and the per-token rate
limiter. One per app."""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa
from fastapi import Request

from export_platform.api.config import ApiConfig
from export_platform.api.dagster_runs import DagsterRuns
from export_platform.api.rate_limit import RateLimiter
from export_platform.api.run_cache import RunCache
from export_platform.tracking.api_tokens import ApiTokenStore
from export_platform.tracking.history import ExportHistory
from export_platform.tracking.notifications import NotificationSettingsStore
from export_platform.tracking.tenant_schedules import TenantScheduleStore


@dataclass(frozen=True)
class Platform:
    config: ApiConfig
    limiter: RateLimiter
    runs: RunCache = field(default_factory=RunCache)
    """Runs read from Dagster, shared by the app's requests."""

    @property
    def history(self) -> ExportHistory:
        return ExportHistory(url=self.config.source_url)

    @property
    def engine(self) -> sa.Engine:
        """The platform database; connected (and migrated) on first use, so the API starts, and
        answers 503, while the database is down."""
        return self.history.engine

    @property
    def tokens(self) -> ApiTokenStore:
        return ApiTokenStore(self.engine)

    @property
    def notifications(self) -> NotificationSettingsStore:
        return NotificationSettingsStore(self.engine)

    @property
    def schedules(self) -> TenantScheduleStore:
        return TenantScheduleStore(self.engine)

    @property
    def dagster(self) -> DagsterRuns:
        """Dagster's webserver; a new client each time, as a client is not shared between requests."""
        return DagsterRuns(self.config.dagster_url)


def current_platform(request: Request) -> Platform:
    """The app's ``Platform``, as a dependency."""
    return request.app.state.platform
