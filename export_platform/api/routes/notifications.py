"""The tenant's notification settings: who gets deliveries and failure notices, from which domains,
under which sender name and reply-to address, which hosts its schedules' webhooks may point at, and
how long its files are kept. Anyone of the tenant
may read them; only an admin may set them."""

from __future__ import annotations

import dataclasses
from typing import Annotated

from fastapi import Depends
from pydantic import BaseModel, ConfigDict, Field

from export_platform.api.auth import Admin, Viewer, tenant_router
from export_platform.api.platform import Platform, current_platform
from export_platform.api.problems import invalid
from export_platform.tracking.notifications import (
    DEFAULT_RETENTION_DAYS,
    MAX_RETENTION_DAYS,
    InvalidSettings,
    NotificationSettings,
)

router = tenant_router(tags=["notifications"])
PlatformDep = Annotated[Platform, Depends(current_platform)]


class NotificationSettingsBody(BaseModel):
    """The whole of a tenant's settings: a PUT replaces them all, and a field left out takes its
    default. Every recipient and the reply-to address must lie in ``allowed_domains``. Mail the
    tenant's people receive is from the platform's address (``EXPORT_MAIL_FROM``) under
    ``sender_name`` when set, with ``reply_to`` as its Reply-To."""

    model_config = ConfigDict(extra="forbid")

    notify_on_success: bool = True
    notify_on_failure: bool = True
    default_recipients: list[str] = Field(default_factory=list, max_length=100)
    failure_recipients: list[str] = Field(default_factory=list, max_length=100)
    sender_name: str | None = Field(
        default=None,
        max_length=200,
        description="Display name on the tenant's mail; the address stays the platform's.",
    )
    reply_to: str | None = Field(
        default=None, description="Reply-To of the tenant's mail, in allowed_domains."
    )
    allowed_domains: list[str] = Field(default_factory=list, max_length=100)
    webhook_hosts: list[str] = Field(
        default_factory=list,
        max_length=100,
        description="Hosts the schedules' webhooks may point at (exact names, e.g. hooks.slack.com); "
        "empty refuses every webhook.",
    )
    retention_days: int = Field(
        default=DEFAULT_RETENTION_DAYS,
        ge=1,
        le=MAX_RETENTION_DAYS,
        description="Days ad-hoc and scheduled files are kept; then deleted, their history rows expired.",
    )
    monthly_retention_days: int | None = Field(
        default=None,
        ge=1,
        le=MAX_RETENTION_DAYS,
        description="Days monthly exports are kept; null keeps them for good.",
    )

    @classmethod
    def of(cls, settings: NotificationSettings) -> NotificationSettingsBody:
        values = dataclasses.asdict(settings)
        del values["tenant"]
        return cls(**values)


@router.get("/notifications", summary="The tenant's notification settings (defaults if never set)")
def get_notifications(caller: Viewer, platform: PlatformDep) -> NotificationSettingsBody:
    return NotificationSettingsBody.of(platform.notifications.get(caller.tenant))


@router.put("/notifications", summary="Replace the tenant's notification settings (admin)")
def put_notifications(
    caller: Admin, platform: PlatformDep, body: NotificationSettingsBody
) -> NotificationSettingsBody:
    settings = NotificationSettings(
        caller.tenant,
        notify_on_success=body.notify_on_success,
        notify_on_failure=body.notify_on_failure,
        default_recipients=tuple(body.default_recipients),
        failure_recipients=tuple(body.failure_recipients),
        sender_name=body.sender_name,
        reply_to=body.reply_to,
        allowed_domains=tuple(body.allowed_domains),
        retention_days=body.retention_days,
        monthly_retention_days=body.monthly_retention_days,
        webhook_hosts=tuple(body.webhook_hosts),
    )
    try:
        settings.check()
    except InvalidSettings as refused:
        raise invalid(f"body.{refused.field_name}", refused.problem) from None
    addresses = {
        "default_recipients": settings.default_recipients,
        "failure_recipients": settings.failure_recipients,
        "reply_to": (settings.reply_to,) if settings.reply_to else (),
    }
    for name, listed in addresses.items():
        if outside := settings.refused(listed):
            raise invalid(f"body.{name}", f"outside the allowed domains (allowed_domains): {outside}")
    platform.notifications.put(settings)
    return NotificationSettingsBody.of(settings)
