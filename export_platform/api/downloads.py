"""Serve a published file to a client: verified against its manifest first, then streamed whole or
as the one byte range asked for, so an interrupted download resumes where it stopped.

The file is checked (size and sha256, by the consumer API) before the first byte goes out, and the
bytes sent are read from that verified copy, so a file changed in the store can never reach a client
half old, half new. The ``ETag`` is the file's sha256: a client that resumes with ``If-Range`` gets
the rest of the same file, or the whole new one if it changed meanwhile.

On an S3 root the API can instead answer 302 to a short-lived presigned URL of the object
(``ApiConfig.presigned_redirect_seconds``), so the bytes flow from S3 to the client without passing
through the API. The object is then checked by the sha256 S3 keeps with it since it was published, and
the client checks the bytes against the ``sha256`` the API lists.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Any, BinaryIO

from fastapi import Depends, Header
from fastapi.responses import RedirectResponse, Response, StreamingResponse

from export_platform.api.problems import Problem, not_found
from export_platform.catalog import EXPORT_FORMATS
from export_platform.consumer import Artifact, ArtifactIntegrityError, ArtifactNotFound, latest_artifact
from export_platform.render.compression import CONTENT_TYPES, SUFFIXES

log = logging.getLogger(__name__)

CHUNK_BYTES = 256 * 1024
_RANGE = re.compile(r"bytes=(\d*)-(\d*)")

DOWNLOAD_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "The whole file"},
    206: {"description": "The byte range asked for"},
    302: {"description": "On S3 with presigned redirects on: Location is a presigned URL of the file"},
    416: {"description": "A range that starts past the end of the file"},
}
"""The answers of every route that sends a published file, for its OpenAPI document."""


@dataclass(frozen=True)
class RangeAsked:
    """A download's ``Range`` and ``If-Range`` headers, as the client sent them."""

    range: str | None
    if_range: str | None


def range_asked(
    range_header: Annotated[
        str | None, Header(alias="Range", description="bytes=FIRST-LAST, to resume a download")
    ] = None,
    if_range: Annotated[
        str | None, Header(alias="If-Range", description="The ETag the range is of (the file's sha256)")
    ] = None,
) -> RangeAsked:
    return RangeAsked(range_header, if_range)


RangeHeaders = Annotated[RangeAsked, Depends(range_asked)]


@dataclass(frozen=True)
class ByteRange:
    start: int
    end: int  # inclusive, as Content-Range counts

    @property
    def length(self) -> int:
        return self.end - self.start + 1


class RangeNotSatisfiable(Exception):
    """A range that starts at or past the end of the file."""


def published_files(tenant: str, dataset: str, month: str, root: str) -> list[Artifact]:
    """The files the manifest of ``tenant``'s ``dataset`` for ``month`` lists, in catalog order."""
    found = []
    for fmt in EXPORT_FORMATS.get(dataset, ()):
        try:
            found.append(latest_artifact(tenant, dataset, month, fmt, root=root))
        except ArtifactNotFound:
            continue
    return found


def published_file(tenant: str, dataset: str, month: str, name: str, root: str) -> Artifact:
    """The monthly export named ``name`` (compressed or not) that the manifest lists;
    ``ArtifactNotFound`` for any other name."""
    for artifact in published_files(tenant, dataset, month, root):
        if file_name(artifact.key) == name:
            return artifact
    raise ArtifactNotFound(f"no published file {name}")


def file_name(key: str) -> str:
    return key.rsplit("/", 1)[-1]


def content_type(name: str, uncompressed: str) -> str:
    """What a published file named ``name`` is: the compression's type for a ``.gz``, or for a
    ``.zip`` of a file that is not itself a zip; otherwise ``uncompressed``, the format's."""
    for compression, suffix in SUFFIXES.items():
        if suffix and name.endswith(suffix) and uncompressed != CONTENT_TYPES[compression]:
            return CONTENT_TYPES[compression]
    return uncompressed


def requested_range(header: str | None, size: int) -> ByteRange | None:
    """The one byte range ``header`` asks of a ``size``-byte file; None for the whole file. A header
    this does not serve (another unit, several ranges, a malformed one) is ignored and the whole file
    sent, as RFC 9110 allows; a range starting at or past the end raises ``RangeNotSatisfiable``."""
    match = _RANGE.fullmatch(header.strip()) if header else None
    if match is None or match.groups() == ("", ""):
        return None
    first, last = match.groups()
    if not first:  # the last ``last`` bytes
        if int(last) == 0 or size == 0:
            raise RangeNotSatisfiable
        return ByteRange(max(0, size - int(last)), size - 1)
    if last and int(last) < int(first):
        return None
    if int(first) >= size:
        raise RangeNotSatisfiable
    return ByteRange(int(first), min(int(last), size - 1) if last else size - 1)


def _chunks(stack: contextlib.ExitStack, file: BinaryIO, wanted: ByteRange) -> Iterator[bytes]:
    with stack:
        file.seek(wanted.start)
        left = wanted.length
        while left > 0 and (chunk := file.read(min(CHUNK_BYTES, left))):
            left -= len(chunk)
            yield chunk


def _integrity_problem() -> Problem:
    detail = "The stored file does not match its manifest, so it is not served; the operators are told."
    return Problem(500, "artifact_integrity", "Internal Server Error", detail)


def _presigned_redirect(artifact: Artifact, name: str, seconds: int) -> RedirectResponse | None:
    """302 to a presigned URL of ``artifact``, valid ``seconds``; None where the store presigns
    nothing (a local folder) or the object carries no sha256 of its publishing to check it by."""
    store = artifact.artifacts.store
    url = store.presigned_url(artifact.key, seconds, download_name=name)
    if url is None:
        return None
    recorded = store.sha256(artifact.key)
    if recorded is None:
        return None  # published by other means: served through the API, where it is verified
    if recorded != artifact.sha256:
        log.error("refused to redirect to %s: its sha256 differs from the manifest's", artifact.key)
        raise _integrity_problem()
    return RedirectResponse(url, status_code=302, headers={"Cache-Control": "no-store"})


def download_response(
    artifact: Artifact, name: str, asked: RangeAsked, *, redirect_seconds: int = 0
) -> Response:
    """``artifact`` as a download named ``name``: 200 with the whole file, or 206 with the range asked
    for; 416 for a range outside it; 500 if the stored file is not the one its manifest describes.
    With ``redirect_seconds`` on an S3 root: 302 to a presigned URL valid that long, which serves
    ranges itself."""
    if redirect_seconds and (redirect := _presigned_redirect(artifact, name, redirect_seconds)):
        return redirect
    etag = f'"{artifact.sha256}"'
    range_header, if_range = asked.range, asked.if_range
    try:
        wanted = requested_range(range_header, artifact.size) if if_range in (None, etag) else None
    except RangeNotSatisfiable:
        detail = f"The file has {artifact.size} bytes; ask for a range that starts inside it."
        headers = {"Content-Range": f"bytes */{artifact.size}"}
        raise Problem(
            416, "range_not_satisfiable", "Range Not Satisfiable", detail, headers=headers
        ) from None
    stack = contextlib.ExitStack()
    try:
        file = stack.enter_context(artifact.open())
    except ArtifactNotFound:
        raise not_found() from None
    except ArtifactIntegrityError as exc:
        log.error("refused to serve a file that differs from its manifest: %s", exc)
        raise _integrity_problem() from None
    headers = {
        "Content-Disposition": f'attachment; filename="{name}"',
        "ETag": etag,
        "Accept-Ranges": "bytes",
    }
    status = 200
    if wanted is None:
        wanted = ByteRange(0, artifact.size - 1)
    else:
        status = 206
        headers["Content-Range"] = f"bytes {wanted.start}-{wanted.end}/{artifact.size}"
    headers["Content-Length"] = str(wanted.length)
    return StreamingResponse(
        _chunks(stack, file, wanted), status_code=status, headers=headers, media_type=artifact.content_type
    )
