"""Objects in an S3 bucket under a prefix: published by ``s3_upload``, updated by conditional PUTs."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import random
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from export_platform.errors import StorageConflict
from export_platform.storage.files import file_sha256, naming_full_disk
from export_platform.storage.object_store import StoredObject, UnfinishedWrite
from export_platform.storage.s3_upload import MULTIPART_PART_SIZE, S3Client, upload_atomic

if TYPE_CHECKING:
    from botocore.exceptions import ClientError

SHA256_METADATA = "sha256"  # S3 user metadata: the content's sha256, set when the object is published
UPDATE_ATTEMPTS = 20  # conditional-write attempts before an update gives up


@dataclass(frozen=True)
class S3ObjectStore:
    bucket: str
    prefix: str
    part_size: int = MULTIPART_PART_SIZE
    client: Any = field(default=None, compare=False)

    def key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def uri(self, key: str) -> str:
        return f"s3://{self.bucket}/{self.key(key)}"

    @property
    def s3(self) -> S3Client:
        return self.client or s3_client()

    @contextlib.contextmanager
    def writing(self, key: str) -> Iterator[Path]:
        with tempfile.TemporaryDirectory(prefix="export-platform-") as folder:
            temporary = Path(folder) / Path(key).name
            with naming_full_disk(self.uri(key), temporary):
                yield temporary
            upload_atomic(
                self.s3,
                self.bucket,
                self.key(key),
                temporary,
                self.part_size,
                metadata={SHA256_METADATA: file_sha256(temporary)},
            )

    def put_bytes(self, key: str, data: bytes) -> None:
        self.s3.put_object(
            Bucket=self.bucket,
            Key=self.key(key),
            Body=data,
            Metadata={SHA256_METADATA: hashlib.sha256(data).hexdigest()},
        )

    def update(self, key: str, change: Callable[[bytes | None], bytes | None]) -> None:
        """Read ``key`` with its ETag, change it, and write it back only if nobody wrote it meanwhile
        (``If-Match``; ``If-None-Match: *`` when it did not exist); on a conflict read again."""
        from botocore.exceptions import ClientError

        s3, full_key = self.s3, self.key(key)
        for attempt in range(UPDATE_ATTEMPTS):
            try:
                current = s3.get_object(Bucket=self.bucket, Key=full_key)
                data, condition = current["Body"].read(), {"IfMatch": current["ETag"]}
            except ClientError as exc:
                if not _missing(exc):
                    raise
                data, condition = None, {"IfNoneMatch": "*"}
            changed = change(data)
            if changed is None:
                return
            try:
                s3.put_object(
                    Bucket=self.bucket,
                    Key=full_key,
                    Body=changed,
                    Metadata={SHA256_METADATA: hashlib.sha256(changed).hexdigest()},
                    **condition,
                )
                return
            except ClientError as exc:
                if not _conflict(exc):
                    raise
            time.sleep(random.uniform(0, 0.05 * 2 ** min(attempt, 5)))
        raise StorageConflict(f"{self.uri(key)} kept changing under {UPDATE_ATTEMPTS} conditional writes")

    def sha256(self, key: str) -> str | None:
        """The sha256 recorded when the object was published (None if absent or published otherwise)."""
        from botocore.exceptions import ClientError

        try:
            head = self.s3.head_object(Bucket=self.bucket, Key=self.key(key))
        except ClientError as exc:
            if _missing(exc):
                return None
            raise
        return head.get("Metadata", {}).get(SHA256_METADATA)

    def read_bytes(self, key: str) -> bytes | None:
        from botocore.exceptions import ClientError

        try:
            return self.s3.get_object(Bucket=self.bucket, Key=self.key(key))["Body"].read()
        except ClientError as exc:
            if _missing(exc):
                return None
            raise

    def download(self, key: str, path: Path) -> None:
        """Copy the object to ``path``; ``FileNotFoundError`` when there is none, as in a local folder."""
        from botocore.exceptions import ClientError

        try:
            self.s3.download_file(self.bucket, self.key(key), str(path))
        except ClientError as exc:
            if _missing(exc):
                raise FileNotFoundError(f"no object {self.uri(key)}") from None
            raise

    def exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.s3.head_object(Bucket=self.bucket, Key=self.key(key))
        except ClientError as exc:
            if _missing(exc):
                return False
            raise
        return True

    def scan_parquet(self, key: str) -> pl.LazyFrame:
        return pl.scan_parquet(self.uri(key), storage_options=_polars_s3_options())

    def presigned_url(self, key: str, expires_in: int, download_name: str | None = None) -> str | None:
        """A SigV4 URL that downloads this one object until it expires; with ``download_name``, S3
        answers it as an attachment of that name."""
        params = {"Bucket": self.bucket, "Key": self.key(key)}
        if download_name is not None:
            params["ResponseContentDisposition"] = f'attachment; filename="{download_name}"'
        return self.s3.generate_presigned_url("get_object", Params=params, ExpiresIn=expires_in)

    def list(self, prefix: str) -> Iterator[StoredObject]:
        pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self.key(prefix))
        for page in pages:
            for item in page.get("Contents", []):
                relative = item["Key"].removeprefix(f"{self.prefix}/") if self.prefix else item["Key"]
                yield StoredObject(relative, item["Size"], item["LastModified"])

    def delete(self, key: str) -> None:
        self.s3.delete_object(Bucket=self.bucket, Key=self.key(key))

    def unfinished_writes(self, prefix: str) -> Iterator[UnfinishedWrite]:
        pages = self.s3.get_paginator("list_multipart_uploads").paginate(
            Bucket=self.bucket, Prefix=self.key(prefix)
        )
        for page in pages:
            for upload in page.get("Uploads", []):
                relative = upload["Key"].removeprefix(f"{self.prefix}/") if self.prefix else upload["Key"]
                yield UnfinishedWrite(relative, upload["Initiated"], upload["UploadId"])

    def abandon(self, write: UnfinishedWrite) -> None:
        from botocore.exceptions import ClientError

        try:
            self.s3.abort_multipart_upload(Bucket=self.bucket, Key=self.key(write.key), UploadId=write.handle)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "NoSuchUpload":  # finished or aborted meanwhile
                raise


def _missing(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound")


def _conflict(exc: ClientError) -> bool:
    """A conditional write lost to another writer: 412, or 409 for two conditional writes at once."""
    code = exc.response.get("Error", {}).get("Code")
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return code in ("PreconditionFailed", "ConditionalRequestConflict") or status in (409, 412)


_CLIENT_SETTINGS = (
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_S3",
    "AWS_ACCESS_KEY_ID",
    "AWS_DEFAULT_REGION",
    "AWS_PROFILE",
)
_client_lock = threading.Lock()


def s3_client() -> S3Client:
    """The S3 client every S3 operation and presigned URL goes through.

    boto3 (imported only when S3 is used) honours AWS_ENDPOINT_URL and the other AWS_* variables. It
    signs with SigV4, presigned URLs included: left to itself boto3 presigns with SigV2. Making a
    client costs a tenth of a second, so one is kept per setting of those variables (clients are
    thread-safe, their creation is not, hence the lock)."""
    with _client_lock:
        return _s3_client_for(tuple(os.environ.get(name) for name in _CLIENT_SETTINGS))


@functools.lru_cache(maxsize=4)
def _s3_client_for(settings: tuple[str | None, ...]) -> S3Client:
    import boto3
    from botocore.config import Config

    # Transient errors (throttling, a dropped connection): five retries after the first try.
    retries = {"max_attempts": 5, "mode": "standard"}
    return boto3.session.Session().client("s3", config=Config(signature_version="s3v4", retries=retries))


def _polars_s3_options() -> dict[str, str]:
    """Hand Polars' object-store reader the same endpoint and credentials boto3 resolves."""
    import boto3

    session = boto3.session.Session()
    credentials = session.get_credentials()
    options = {"aws_region": session.region_name or "us-east-1"}
    if credentials is not None:
        frozen = credentials.get_frozen_credentials()
        options.update(aws_access_key_id=frozen.access_key, aws_secret_access_key=frozen.secret_key)
        if frozen.token:
            options["aws_session_token"] = frozen.token
    endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
    if endpoint:
        options["aws_endpoint_url"] = endpoint
        options["aws_allow_http"] = str(endpoint.startswith("http://")).lower()
    return options
