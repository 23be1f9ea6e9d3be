"""Put and read whole objects under a root that is a local folder or ``s3://bucket/prefix``.

Writes are atomic: the caller writes a local temporary file, and only a complete file is published
under its final key (``os.replace`` locally; a single S3 upload, which S3 makes visible all at once).
A failure removes the temporary file and publishes nothing.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import polars as pl


class ObjectStore(Protocol):
    def uri(self, key: str) -> str: ...

    def writing(self, key: str) -> contextlib.AbstractContextManager[Path]: ...

    def exists(self, key: str) -> bool: ...

    def scan_parquet(self, key: str) -> pl.LazyFrame: ...


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
            os.replace(temporary, final)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def scan_parquet(self, key: str) -> pl.LazyFrame:
        return pl.scan_parquet(self.path(key))


@dataclass(frozen=True)
class S3ObjectStore:
    bucket: str
    prefix: str

    def key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def uri(self, key: str) -> str:
        return f"s3://{self.bucket}/{self.key(key)}"

    @property
    def client(self):
        import boto3  # boto3 honours AWS_ENDPOINT_URL and the other AWS_* variables itself

        return boto3.client("s3")

    @contextlib.contextmanager
    def writing(self, key: str) -> Iterator[Path]:
        with tempfile.TemporaryDirectory(prefix="export-platform-") as folder:
            temporary = Path(folder) / Path(key).name
            yield temporary
            self.client.upload_file(str(temporary), self.bucket, self.key(key))

    def exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self.key(key))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True

    def scan_parquet(self, key: str) -> pl.LazyFrame:
        return pl.scan_parquet(self.uri(key), storage_options=_polars_s3_options())


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
