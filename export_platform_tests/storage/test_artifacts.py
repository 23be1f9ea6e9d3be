"""Publishing is atomic in S3 (multipart completed only when whole, aborted on failure) and locally."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import boto3
import pytest

from export_platform.exports.assets import verify_artifact
from export_platform.exports.formats import CSV, CsvExportConfig
from export_platform.storage.artifacts import ArtifactStore, PublishedFile, sha256_of
from export_platform.storage.layout import export_key
from export_platform.storage.s3_store import S3ObjectStore, s3_client
from export_platform.storage.s3_upload import upload_atomic

PART = 5 * 1024 * 1024


class FailingClient:
    """Passes everything to a real client but fails the n-th part upload, as a dropped connection would."""

    def __init__(self, client, fail_on_part: int) -> None:
        self.client, self.fail_on_part = client, fail_on_part

    def upload_part(self, **kwargs):
        if kwargs["PartNumber"] == self.fail_on_part:
            raise ConnectionError("connection reset during part upload")
        return self.client.upload_part(**kwargs)

    def __getattr__(self, name):
        return getattr(self.client, name)


def big_file(tmp_path: Path, size: int = 2 * PART + 1234) -> Path:
    path = tmp_path / "big.bin"
    path.write_bytes(os.urandom(size))
    return path


def test_large_file_goes_up_in_several_parts(s3_bucket: str, tmp_path: Path) -> None:
    path = big_file(tmp_path)
    upload_atomic(s3_client(), s3_bucket, "t/big.bin", path, part_size=PART)
    s3 = boto3.client("s3")
    head = s3.head_object(Bucket=s3_bucket, Key="t/big.bin")
    assert head["ETag"].strip('"').endswith("-3")  # three parts
    body = s3.get_object(Bucket=s3_bucket, Key="t/big.bin")["Body"].read()
    assert hashlib.sha256(body).hexdigest() == sha256_of(path)


def test_small_file_is_one_put(s3_bucket: str, tmp_path: Path) -> None:
    path = tmp_path / "small.csv"
    path.write_bytes(b"a,b\r\n1,2\r\n")
    upload_atomic(s3_client(), s3_bucket, "t/small.csv", path, part_size=PART)
    assert (
        boto3.client("s3").get_object(Bucket=s3_bucket, Key="t/small.csv")["Body"].read() == path.read_bytes()
    )


def test_failure_mid_upload_leaves_no_object_and_no_open_upload(s3_bucket: str, tmp_path: Path) -> None:
    store = S3ObjectStore(
        s3_bucket, "platform", part_size=PART, client=FailingClient(s3_client(), fail_on_part=2)
    )
    with (
        pytest.raises(ConnectionError),
        store.writing("acme/exports/sales/2026-10/sales_acme_2026-10.csv") as path,
    ):
        path.write_bytes(os.urandom(2 * PART + 10))
    s3 = boto3.client("s3")
    assert s3.list_objects_v2(Bucket=s3_bucket).get("KeyCount", 0) == 0
    assert not s3.list_multipart_uploads(Bucket=s3_bucket).get("Uploads")
    # The next attempt, with a healthy connection, publishes the whole file.
    store = S3ObjectStore(s3_bucket, "platform", part_size=PART)
    with store.writing("acme/exports/sales/2026-10/sales_acme_2026-10.csv") as path:
        path.write_bytes(b"x" * (2 * PART + 10))
    assert store.read_bytes("acme/exports/sales/2026-10/sales_acme_2026-10.csv") == b"x" * (2 * PART + 10)


def test_crash_while_rendering_publishes_nothing(tmp_path: Path) -> None:
    artifacts = ArtifactStore(root=str(tmp_path))
    with (
        pytest.raises(RuntimeError),
        artifacts.publishing_to(export_key("acme", "sales", "2026-10", "csv")) as path,
    ):
        path.write_bytes(b"half a report")
        raise RuntimeError("renderer crashed")
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []
    assert artifacts.manifest("acme", "sales", "2026-10") is None


def test_presigned_url_covers_one_object_and_expires(s3_bucket: str) -> None:
    artifacts = ArtifactStore(root=f"s3://{s3_bucket}/p", presigned_url_expiry_seconds=900)
    url = artifacts.download_url("acme/exports/sales/2026-10/sales_acme_2026-10.csv")
    assert f"/{s3_bucket}/p/acme/exports/sales/2026-10/sales_acme_2026-10.csv?" in url
    assert "X-Amz-Algorithm=AWS4-HMAC-SHA256" in url and "X-Amz-Expires=900" in url


def test_check_fails_when_the_stored_file_differs(tmp_path: Path) -> None:
    artifacts = ArtifactStore(root=str(tmp_path))
    key = export_key("acme", "bills", "2026-10", "csv")
    with artifacts.publishing_to(key) as path:
        path.write_bytes("\ufeffDate,Amount\r\n2026-10-01,1.00\r\n".encode())
        size, sha = path.stat().st_size, sha256_of(path)
    published = PublishedFile(
        "csv", key.rsplit("/", 1)[1], key, str(tmp_path / key), size, sha, 1, "text/csv", "now"
    )
    config = CsvExportConfig()
    assert verify_artifact(artifacts, published, CSV, config, None).passed
    (tmp_path / key).write_bytes("\ufeffDate,Amount\r\n2026-10-01,1.00\r\n2026-10-02,2.00\r\n".encode())
    tampered = verify_artifact(artifacts, published, CSV, config, None)
    assert not tampered.passed and tampered.metadata["read_back_rows"].value == 2
