"""What the Export API serves from and how much it lets a caller do: read once, when the app is made."""

from __future__ import annotations

from dataclasses import dataclass, field

from export_platform import settings
from export_platform.storage.signed_links import link_secret

MAX_PRESIGNED_SECONDS = 7 * 24 * 3600  # the longest a SigV4 presigned URL is valid


@dataclass(frozen=True)
class ApiConfig:
    """The API's settings. The first four default to the environment the code location reads
    (``EXPORT_SOURCE_URL``, ``EXPORT_ARTIFACT_ROOT``, ``EXPORT_API_URL``, and the secret download
    links are signed with: ``EXPORT_LINK_SECRET`` or the kept one); the limits to values a person
    clicking through exports never reaches."""

    source_url: str = field(default_factory=settings.source_url)
    artifact_root: str = field(default_factory=settings.artifact_root)
    public_url: str = field(default_factory=settings.api_url)
    link_secret: bytes = field(default_factory=link_secret, repr=False)
    dagster_url: str = field(default_factory=settings.dagster_url)
    """Dagster's webserver, whose GraphQL API launches and reports the runs (``EXPORT_DAGSTER_URL``)."""
    requests_per_minute: int = 600
    burst: int = 60
    max_body_bytes: int = 64 * 1024
    presigned_redirect_seconds: int = 0
    """0: the API sends every download itself. More: on an S3 root, a download answers 302 to a
    presigned URL valid that many seconds, so the bytes go from S3 straight to the client."""

    def __post_init__(self) -> None:
        for name in ("requests_per_minute", "burst", "max_body_bytes"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name}: must be at least 1")
        if not 0 <= self.presigned_redirect_seconds <= MAX_PRESIGNED_SECONDS:
            raise ValueError(f"presigned_redirect_seconds: must be 0 (off) to {MAX_PRESIGNED_SECONDS}")
