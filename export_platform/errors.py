"""Typed errors that carry the context an operator needs (tenant, dataset, partition, location).

Messages never include credentials: every URL is printed through ``credentials.masked_url``, and a
URL that cannot be parsed is named by its setting, never quoted.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pydantic import ValidationError


def validation_problems(error: ValidationError, whole: str = "") -> list[str]:
    """Each problem of a pydantic ``ValidationError`` as one line led by its field once
    (``formats[1]: ...``; rules across fields name their field in their own message); ``whole`` names
    a problem of no single field."""
    problems = []
    for problem in error.errors():
        field = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in problem["loc"])
        field = field.lstrip(".") or whole
        message = problem["msg"].removeprefix("Value error, ")
        problems.append(f"{field}: {message}" if field and not message.startswith(f"{field}:") else message)
    return problems


def validation_message(error: ValidationError, whole: str = "") -> str:
    """``validation_problems`` on one line, for a history row or a one-line refusal."""
    return "; ".join(validation_problems(error, whole))


class ExportPlatformError(Exception):
    """Base class for errors the platform raises on purpose."""


class SourceUnavailable(ExportPlatformError):
    """The source database could not be reached or opened: transient, worth retrying."""


class SourceAccessDenied(ExportPlatformError):
    """The source refuses the platform's reader role (missing role, grant or policy): not transient."""


class UnknownTenant(ExportPlatformError):
    """A partition names a tenant that the source does not have."""


class InvalidSourceData(ExportPlatformError):
    """Source rows that break an invariant the datasets rely on."""


class StorageFull(ExportPlatformError):
    """The disk ran out of space (or a file-size limit was hit) while writing an artifact."""


class StorageConflict(ExportPlatformError):
    """An object kept being changed by other writers while a conditional update retried."""


class KeyOutsideTenant(ExportPlatformError, ValueError):
    """A storage key, read from a manifest or built from input, that does not name an object inside
    its tenant's own prefix (another tenant's file, an absolute path, a ``..`` escape)."""


class MalformedUrl(ExportPlatformError, ValueError):
    """A configured URL that cannot be parsed. The message names the setting and the fix, never the
    URL's text: a URL that does not parse may hold a password anywhere."""


class InvalidSetting(ExportPlatformError, ValueError):
    """An environment variable holds a value the platform cannot use; the message names it and the fix."""


class TransientDeliveryError(ExportPlatformError):
    """The SMTP server could not take the message now; try again later."""


class DeliveryRefused(ExportPlatformError):
    """The SMTP server refused the message for good (for example, an unknown recipient)."""
