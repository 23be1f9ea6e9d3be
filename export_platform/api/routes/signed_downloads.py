"""Signed download links: the ``download`` link of an export's materialization when the artifacts are
in a local folder, which a browser opens without a bearer token (see ``storage.signed_links``).

The signature is checked before anything is read. A link that was not signed for its path answers
the one 404 of the API, and an expired one 410, neither saying anything about the file; a valid link
is served like the artifacts route's downloads: verified against its manifest, whole or one range.
"""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response
from fastapi.responses import StreamingResponse

from export_platform.api.downloads import DOWNLOAD_RESPONSES, RangeHeaders, download_response, published_file
from export_platform.api.platform import Platform, current_platform
from export_platform.api.problems import Problem, ProblemDocument, not_found, rate_limited
from export_platform.consumer import Artifact, ArtifactNotFound
from export_platform.partitions import InvalidPartitionKey, validate_month
from export_platform.storage.signed_links import DOWNLOADS_PATH, LinkRefused, LinkSigner

router = APIRouter(tags=["downloads"])
PlatformDep = Annotated[Platform, Depends(current_platform)]
EXPIRED_DETAIL = "This download link has expired; open the export's page again for a new one."


def _published(key: str, root: str) -> Artifact:
    """The monthly export published under ``key`` (``{tenant}/exports/{dataset}/{month}/{name}``), as
    its manifest describes it; ``ArtifactNotFound`` for any other key."""
    parts = key.split("/")
    if len(parts) != 5 or parts[1] != "exports":
        raise ArtifactNotFound(key)
    tenant, _, dataset, month, name = parts
    try:
        artifact = published_file(tenant, dataset, validate_month(month), name, root)
    except InvalidPartitionKey:
        raise ArtifactNotFound(key) from None
    if artifact.key != key:
        raise ArtifactNotFound(key)
    return artifact


@router.get(
    f"{DOWNLOADS_PATH}/{{key:path}}",
    summary="Download a published file through a signed link (no bearer token; byte ranges for resuming)",
    response_class=StreamingResponse,
    responses={
        **DOWNLOAD_RESPONSES,
        404: {"model": ProblemDocument, "description": "Not a link this platform signed, or no such file"},
        410: {"model": ProblemDocument, "description": "The link has expired"},
        429: {"model": ProblemDocument, "description": "The link was opened more often than its rate allows"},
    },
)
def signed_download(
    platform: PlatformDep,
    key: str,
    asked: RangeHeaders,
    expires: Annotated[str | None, Query(description="Unix seconds the link is valid until.")] = None,
    signature: Annotated[str | None, Query(description="HMAC-SHA256 of the key and expires.")] = None,
) -> Response:
    try:
        LinkSigner(platform.config.link_secret).verify(key, expires, signature, time.time())
    except LinkRefused as refused:
        if refused.reason == "expired":
            raise Problem(410, "link_expired", "Gone", EXPIRED_DETAIL) from None
        raise not_found() from None
    # A link has no token to count against, so each link is its own bucket, at a token's rate: one
    # link passed around or polled in a loop is slowed down without holding back the tenant's others.
    wait = platform.limiter.take(f"link:{key}?expires={expires}")
    if wait is not None:
        raise rate_limited(wait, "This link was opened more often than its rate allows;")
    try:
        artifact = _published(key, platform.config.artifact_root)
    except ArtifactNotFound:
        raise not_found() from None
    return download_response(artifact, key.rsplit("/", 1)[-1], asked)
