"""Typed errors that carry the context an operator needs (tenant, dataset, partition, location).

Messages never include credentials: database URLs are shown with their password masked.
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
