"""Put and read whole objects under a root that is a local folder or ``s3://bucket/prefix``.

Writes are atomic. The caller writes a local temporary file, and only a complete file is published
under its final key: ``os.replace`` locally; on S3 a single PUT for a small file, or a multipart
upload that is completed only after every part went up, and aborted on any error, so neither a
partial object nor an open upload is left behind.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import polars as pl

PUBLISHED_FILE_MODE = 0o644
MULTIPART_PART_SIZE = 8 * 1024 * 1024  # S3 needs at least 5 MiB for every part but the last


class ObjectStore(Protocol):
    def uri(self, key: str) -> str: ...

    def writing(self, key: str) -> contextlib.AbstractContextManager[Path]: ...

    def put_bytes(self, key: str, data: bytes) -> None: ...

    def read_bytes(self, key: str) -> bytes | None: ...

    def download(self, key: str, path: Path) -> None: ...

    def exists(self, key: str) -> bool: ...

    def scan_parquet(self, key: str) -> pl.LazyFrame: ...

    def presigned_url(self, key: str, expires_in: int) -> str | None: ...

    def list(self, prefix: str) -> Iterator[StoredObject]: ...

    def delete(self, key: str) -> None: ...


@dataclass(frozen=True)
class StoredObject:
    key: str  # relative to the store's root
    size: int
    modified: dt.datetime


@dataclass(frozen=True)
class LocalObjectStore:
    root: Path

    def path(self, key: str) -> Path:
        return self.root / key

    def uri(self, key: str) -> str:
        return str(self.path(key))

    @contextlib.contextmanager
    def writing(self, key: str) -> Iterator[Path]:
        final = self.path(key)
        final.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent)
        os.close(fd)
        try:
            yield Path(temporary)
            os.chmod(temporary, PUBLISHED_FILE_MODE)  # mkstemp makes it private to this user
            os.replace(temporary, final)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)

    def put_bytes(self, key: str, data: bytes) -> None:
        with self.writing(key) as path:
            path.write_bytes(data)

    def read_bytes(self, key: str) -> bytes | None:
        try:
            return self.path(key).read_bytes()
        except FileNotFoundError:
            return None

    def download(self, key: str, path: Path) -> None:
        shutil.copyfile(self.path(key), path)

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def scan_parquet(self, key: str) -> pl.LazyFrame:
        return pl.scan_parquet(self.path(key))

    def presigned_url(self, key: str, expires_in: int) -> str | None:
        return None

    def list(self, prefix: str) -> Iterator[StoredObject]:
        base = self.path(prefix)
        if not base.is_dir():
            return
        for path in sorted(base.rglob("*")):
            if path.is_file() and not path.name.endswith(".tmp"):
                stat = path.stat()
                yield StoredObject(
                    path.relative_to(self.root).as_posix(),
                    stat.st_size,
                    dt.datetime.fromtimestamp(stat.st_mtime, dt.UTC),
                )

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)


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
    def s3(self):
        return self.client or s3_client()

    @contextlib.contextmanager
    def writing(self, key: str) -> Iterator[Path]:
        with tempfile.TemporaryDirectory(prefix="export-platform-") as folder:
            temporary = Path(folder) / Path(key).name
            yield temporary
            upload_atomic(self.s3, self.bucket, self.key(key), temporary, self.part_size)

    def put_bytes(self, key: str, data: bytes) -> None:
        self.s3.put_object(Bucket=self.bucket, Key=self.key(key), Body=data)

    def read_bytes(self, key: str) -> bytes | None:
        from botocore.exceptions import ClientError

        try:
            return self.s3.get_object(Bucket=self.bucket, Key=self.key(key))["Body"].read()
        except ClientError as exc:
            if _missing(exc):
                return None
            raise

    def download(self, key: str, path: Path) -> None:
        self.s3.download_file(self.bucket, self.key(key), str(path))

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

    def presigned_url(self, key: str, expires_in: int) -> str | None:
        """A SigV4 URL that downloads this one object until it expires."""
        return presigning_client().generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": self.key(key)}, ExpiresIn=expires_in
        )

    def list(self, prefix: str) -> Iterator[StoredObject]:
        pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self.key(prefix))
        for page in pages:
            for item in page.get("Contents", []):
                relative = item["Key"].removeprefix(f"{self.prefix}/") if self.prefix else item["Key"]
                yield StoredObject(relative, item["Size"], item["LastModified"])

    def delete(self, key: str) -> None:
        self.s3.delete_object(Bucket=self.bucket, Key=self.key(key))


def _missing(exc) -> bool:
    return exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound")


def s3_client():
    """The S3 client, from dagster-aws (imported only when S3 is used: it takes seconds to import).
    boto3 itself honours AWS_ENDPOINT_URL and the other AWS_* variables."""
    from dagster_aws.s3 import S3Resource

    return S3Resource().get_client()


def presigning_client():
    """boto3 would sign us-east-1 URLs with SigV2; presigned URLs must use SigV4."""
    import boto3
    from botocore.config import Config

    return boto3.client("s3", config=Config(signature_version="s3v4"))


def upload_atomic(client, bucket: str, key: str, path: Path, part_size: int = MULTIPART_PART_SIZE) -> None:
    size = path.stat().st_size
    if size <= part_size:
        with path.open("rb") as body:
            client.put_object(Bucket=bucket, Key=key, Body=body)
        return
    upload_id = client.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
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
    except BaseException:
        client.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
        raise


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


def object_store(root: str) -> ObjectStore:
    if root.startswith("s3://"):
        bucket, _, prefix = root.removeprefix("s3://").partition("/")
        return S3ObjectStore(bucket=bucket, prefix=prefix.strip("/"))
    return LocalObjectStore(Path(root))
