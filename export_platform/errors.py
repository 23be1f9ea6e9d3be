"""Typed errors that carry the context an operator needs (tenant, dataset, partition, location).

Messages never include credentials: every URL is printed through ``credentials.masked_url``, and a
URL that cannot be parsed is named by its setting, never quoted.
"""

from __future__ import annotations


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
