"""Serve a published file to a client: verified against its manifest first, then streamed whole or
as the one byte range asked for, so an interrupted download resumes where it stopped.

The file is checked (size and sha256, by the consumer API) before the first byte goes out, and the
bytes sent are read from that verified copy, so a file changed in the store can never reach a client
half old, half new. The ``ETag`` is the file's sha256: a client that resumes with ``If-Range`` gets
the rest of the same file, or the whole new one if it changed meanwhile.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from fastapi.responses import StreamingResponse

from export_platform.api.problems import Problem, not_found
from export_platform.consumer import Artifact, ArtifactIntegrityError, ArtifactNotFound

log = logging.getLogger(__name__)

CHUNK_BYTES = 256 * 1024
_RANGE = re.compile(r"bytes=(\d*)-(\d*)")


@dataclass(frozen=True)
class ByteRange:
    start: int
    end: int  # inclusive, as Content-Range counts

    @property
    def length(self) -> int:
        return self.end - self.start + 1


class RangeNotSatisfiable(Exception):
    """A range that starts at or past the end of the file."""


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


def download_response(
    artifact: Artifact, name: str, *, range_header: str | None, if_range: str | None
) -> StreamingResponse:
    """``artifact`` as a download named ``name``: 200 with the whole file, or 206 with the range asked
    for; 416 for a range outside it; 500 if the stored file is not the one its manifest describes."""
    etag = f'"{artifact.sha256}"'
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
        detail = "The stored file does not match its manifest, so it is not served; the operators are told."
        raise Problem(500, "artifact_integrity", "Internal Server Error", detail) from None
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
