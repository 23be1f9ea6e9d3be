"""Publish a local file under an S3 key whole, or not at all.

A file up to the part size goes up in one PUT; a larger one as a multipart upload that is completed
only after every part went up, and aborted on any error. An abort that cannot reach the server (it
went away mid-upload) is remembered and retried before this process's next upload, so the retry of a
failed export cleans up after it.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeAlias

log = logging.getLogger(__name__)

S3Client: TypeAlias = Any
"""A boto3 S3 client (boto3 ships no type information)."""

MULTIPART_PART_SIZE = 8 * 1024 * 1024  # S3 needs at least 5 MiB for every part but the last


@dataclass(frozen=True)
class OpenUpload:
    bucket: str
    key: str
    upload_id: str


_unaborted: set[OpenUpload] = set()
_unaborted_lock = threading.Lock()


def abort_unfinished_uploads(client: S3Client) -> None:
    """Abort the multipart uploads this process failed to abort, now that the server may answer."""
    from botocore.exceptions import ClientError

    with _unaborted_lock:
        pending = sorted(_unaborted, key=lambda u: (u.bucket, u.key, u.upload_id))
    for upload in pending:
        try:
            client.abort_multipart_upload(Bucket=upload.bucket, Key=upload.key, UploadId=upload.upload_id)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "NoSuchUpload":
                raise
        with _unaborted_lock:
            _unaborted.discard(upload)
        log.info(
            "aborted unfinished multipart upload %s of s3://%s/%s",
            upload.upload_id,
            upload.bucket,
            upload.key,
        )


def unfinished_uploads() -> set[OpenUpload]:
    with _unaborted_lock:
        return set(_unaborted)


def upload_atomic(
    client: S3Client,
    bucket: str,
    key: str,
    path: Path,
    part_size: int = MULTIPART_PART_SIZE,
    metadata: dict[str, str] | None = None,
) -> None:
    abort_unfinished_uploads(client)
    size = path.stat().st_size
    if size <= part_size:
        with path.open("rb") as body:
            client.put_object(Bucket=bucket, Key=key, Body=body, Metadata=metadata or {})
        return
    upload_id = client.create_multipart_upload(Bucket=bucket, Key=key, Metadata=metadata or {})["UploadId"]
    try:
        parts = []
        with path.open("rb") as source:
            number = 1
            while chunk := source.read(part_size):
                response = client.upload_part(
                    Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=chunk
                )
                parts.append({"PartNumber": number, "ETag": response["ETag"]})
                number += 1
        client.complete_multipart_upload(
            Bucket=bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts}
        )
    except BaseException as exc:
        try:
            client.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
        except Exception as abort_error:
            with _unaborted_lock:
                _unaborted.add(OpenUpload(bucket, key, upload_id))
            exc.add_note(
                f"the multipart upload {upload_id} of s3://{bucket}/{key} could not be aborted "
                f"({type(abort_error).__name__}); it is aborted before this process's next upload, or by "
                "the daily retention clean-up"
            )
        raise
