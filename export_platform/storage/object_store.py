"""Put and read whole objects under a root that is a local folder or ``s3://bucket/prefix``.

Writes are atomic. The caller writes a local temporary file, and only a complete file is published
under its final key: ``os.replace`` locally; on S3 a single PUT for a small file, or a multipart
upload that is completed only after every part went up, and aborted on any error, so neither a
partial object nor an open upload is left behind. An abort that cannot reach the server (it went
away mid-upload) is remembered and retried before this process's next upload, so the retry of a
failed export cleans up after it. A write that runs out of disk raises ``StorageFull`` naming the
file, after its temporary file is removed.

``update`` is an atomic read-modify-write of one small object (the manifests): under an exclusive
lock on the folder locally, and as a conditional PUT (``If-Match`` the ETag read, or ``If-None-Match``
for a new object) retried on conflict in S3, so concurrent writers never lose each other's changes.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import fcntl
import functools
import hashlib
import logging
import os
import random
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import polars as pl

from export_platform.errors import KeyOutsideTenant, StorageConflict, StorageFull

log = logging.getLogger(__name__)

PUBLISHED_FILE_MODE = 0o644
MULTIPART_PART_SIZE = 8 * 1024 * 1024  # S3 needs at least 5 MiB for every part but the last
SHA256_METADATA = "sha256"  # S3 user metadata: the content's sha256, set when the object is published
UPDATE_ATTEMPTS = 20  # conditional-write attempts before an update gives up
TEMPORARY_SUFFIX = ".tmp"  # a local write's temporary file, beside its final name


class ObjectStore(Protocol):
    def uri(self, key: str) -> str: ...

    def writing(self, key: str) -> contextlib.AbstractContextManager[Path]: ...

    def put_bytes(self, key: str, data: bytes) -> None: ...

    def update(self, key: str, change: Callable[[bytes | None], bytes | None]) -> None: ...

    def read_bytes(self, key: str) -> bytes | None: ...

    def sha256(self, key: str) -> str | None: ...

    def download(self, key: str, path: Path) -> None: ...

    def exists(self, key: str) -> bool: ...

    def scan_parquet(self, key: str) -> pl.LazyFrame: ...

    def presigned_url(self, key: str, expires_in: int) -> str | None: ...

    def list(self, prefix: str) -> Iterator[StoredObject]: ...

    def delete(self, key: str) -> None: ...

    def unfinished_writes(self, prefix: str) -> Iterator[UnfinishedWrite]: ...

    def abandon(self, write: UnfinishedWrite) -> None: ...


@dataclass(frozen=True)
class StoredObject:
    key: str  # relative to the store's root
    size: int
    modified: dt.datetime


@dataclass(frozen=True)
class UnfinishedWrite:
    """What a write leaves behind when its process dies before it can clean up (a kill, a lost machine,
    a server that stopped answering the abort): a local temporary file, or an S3 multipart upload that
    was neither completed nor aborted. Readers never see it, but S3 bills its parts until it is aborted.
    """

    key: str  # the final key it was writing, relative to the store's root
    last_active: dt.datetime  # the temporary file's last write; the upload's start
    handle: str  # the temporary file, relative to the root; the S3 upload id


@dataclass(frozen=True)
class LocalObjectStore:
    root: Path

    def path(self, key: str) -> Path:
        """The file of ``key``, which must stay, symlinks followed, inside the folder of the key's first
        segment (its tenant's): a link planted in one tenant's folder cannot reach another's files."""
        first = key.split("/", 1)[0]
        path, home = self.root / key, self.root / first
        if key.startswith("/") or first in (".", "..") or not path.resolve().is_relative_to(home.resolve()):
            raise KeyOutsideTenant(f"{key!r} leads outside {home}")
        return path

    def uri(self, key: str) -> str:
        return str(self.path(key))

    @contextlib.contextmanager
    def writing(self, key: str) -> Iterator[Path]:
        final = self.path(key)
        final.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(prefix=f".{final.name}.", suffix=TEMPORARY_SUFFIX, dir=final.parent)
        os.close(fd)
        try:
            with naming_full_disk(final, Path(temporary)):
                yield Path(temporary)
            os.chmod(temporary, PUBLISHED_FILE_MODE)  # mkstemp makes it private to this user
            os.replace(temporary, final)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)

    def put_bytes(self, key: str, data: bytes) -> None:
        with self.writing(key) as path:
            path.write_bytes(data)

    def update(self, key: str, change: Callable[[bytes | None], bytes | None]) -> None:
        """Read, change and atomically replace ``key`` while holding an exclusive lock on its folder
        (``flock`` on the directory itself, so no lock file shows up among the artifacts)."""
        folder = self.path(key).parent
        folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            data = change(self.read_bytes(key))
            if data is not None:
                self.put_bytes(key, data)
        finally:
            os.close(fd)  # releases the lock

    def read_bytes(self, key: str) -> bytes | None:
        try:
            return self.path(key).read_bytes()
        except FileNotFoundError:
            return None

    def sha256(self, key: str) -> str | None:
        try:
            return file_sha256(self.path(key))
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
            if path.is_file() and not _is_temporary(path.name):
                stat = path.stat()
                yield StoredObject(
                    path.relative_to(self.root).as_posix(),
                    stat.st_size,
                    dt.datetime.fromtimestamp(stat.st_mtime, dt.UTC),
                )

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)

    def unfinished_writes(self, prefix: str) -> Iterator[UnfinishedWrite]:
        base = self.path(prefix)
        if not base.is_dir():
            return
        for path in sorted(base.rglob(f".*{TEMPORARY_SUFFIX}")):
            if path.is_file() and _is_temporary(path.name):
                final = path.with_name(path.name[1:].removesuffix(TEMPORARY_SUFFIX).rsplit(".", 1)[0])
                yield UnfinishedWrite(
                    final.relative_to(self.root).as_posix(),
                    dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC),
                    path.relative_to(self.root).as_posix(),
                )

    def abandon(self, write: UnfinishedWrite) -> None:
        self.path(write.handle).unlink(missing_ok=True)


def _is_temporary(name: str) -> bool:
    """A local write's temporary file: ``.{final name}.{random}.tmp`` beside the final file."""
    return name.startswith(".") and name.endswith(TEMPORARY_SUFFIX)


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


def _missing(exc) -> bool:
    return exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound")


def _conflict(exc) -> bool:
    """A conditional write lost to another writer: 412, or 409 for two conditional writes at once."""
    code = exc.response.get("Error", {}).get("Code")
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return code in ("PreconditionFailed", "ConditionalRequestConflict") or status in (409, 412)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while chunk := source.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


OUT_OF_SPACE_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)


def _out_of_space(exc: BaseException) -> bool:
    """Disk full (or a file-size limit hit), raised as OSError by Python or as text by Polars' Rust IO."""
    while exc is not None:
        if isinstance(exc, OSError) and exc.errno in OUT_OF_SPACE_ERRNOS:
            return True
        if any(f"os error {code}" in str(exc) for code in OUT_OF_SPACE_ERRNOS):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


@contextlib.contextmanager
def naming_full_disk(destination: Path | str, temporary: Path) -> Iterator[None]:
    """Turn a disk-full error while writing ``temporary`` into ``StorageFull`` naming both paths."""
    try:
        yield
    except Exception as exc:
        if _out_of_space(exc):
            raise StorageFull(
                f"no space left on the device holding {temporary} while writing {destination}: {exc}"
            ) from exc
        raise


_CLIENT_SETTINGS = (
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_S3",
    "AWS_ACCESS_KEY_ID",
    "AWS_DEFAULT_REGION",
    "AWS_PROFILE",
)
_client_lock = threading.Lock()


def s3_client():
    """The S3 client, from dagster-aws (imported only when S3 is used: it takes seconds to import).
    boto3 itself honours AWS_ENDPOINT_URL and the other AWS_* variables. Making a client costs a tenth
    of a second, so one is kept per setting of those variables (clients are thread-safe, their
    creation is not, hence the lock)."""
    with _client_lock:
        return _s3_client_for(tuple(os.environ.get(name) for name in _CLIENT_SETTINGS))


@functools.lru_cache(maxsize=4)
def _s3_client_for(settings: tuple[str | None, ...]):
    from dagster_aws.s3 import S3Resource

    return S3Resource().get_client()


def presigning_client():
    """boto3 would sign us-east-1 URLs with SigV2; presigned URLs must use SigV4."""
    import boto3
    from botocore.config import Config

    return boto3.client("s3", config=Config(signature_version="s3v4"))


@dataclass(frozen=True)
class OpenUpload:
    bucket: str
    key: str
    upload_id: str


_unaborted: set[OpenUpload] = set()
_unaborted_lock = threading.Lock()


def abort_unfinished_uploads(client) -> None:
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
    client,
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
