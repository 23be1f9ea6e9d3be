"""The consumer API finds exports through manifest.json, verifies them, and opens them or hands out a
link: over a local folder and over S3, with a real export run, and refusing a tampered file."""

from __future__ import annotations

import hashlib
import urllib.request
from pathlib import Path

import boto3
import dagster as dg
import pytest

from export_platform.consumer import ArtifactIntegrityError, ArtifactNotFound, latest_artifact
from export_platform.datasets.assets import dataset_assets
from export_platform.exports.assets import export_assets
from export_platform.resources import SourceDatabase
from export_platform.storage.artifacts import ArtifactStore, PublishedFile
from export_platform.storage.io_manager import DatasetParquetIOManager
from export_platform.tracking.history import ExportHistory
from export_platform_tests.conftest import MONTH, PARTITION, TENANT, Exported, ephemeral_instance


@pytest.fixture(scope="module")
def local_export(sqlite_source: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """acme's October sales and its CSV export, published into a local folder."""
    root = tmp_path_factory.mktemp("consumer-local")
    result = dg.materialize(
        [*dataset_assets, *export_assets],
        selection=["sales", "sales_csv"],
        partition_key=PARTITION,
        instance=ephemeral_instance(TENANT),
        resources={
            "source": SourceDatabase(url=sqlite_source),
            "dataset_io_manager": DatasetParquetIOManager(root=str(root)),
            "artifacts": ArtifactStore(root=str(root)),
            "history": ExportHistory(url=sqlite_source),
        },
    )
    assert result.success
    return root


def test_local_artifact_is_found_verified_and_opened(local_export: Path) -> None:
    artifact = latest_artifact(TENANT, "sales", MONTH, "csv", root=str(local_export))
    path = local_export / TENANT / "exports" / "sales" / MONTH / f"sales_{TENANT}_{MONTH}.csv"
    body = path.read_bytes()
    assert artifact.key == path.relative_to(local_export).as_posix()
    assert (artifact.size, artifact.sha256) == (len(body), hashlib.sha256(body).hexdigest())
    assert artifact.record_count == body.count(b"\r\n") - 1  # CRLF rows after the header
    assert artifact.content_type.startswith("text/csv") and artifact.schema_version == 1
    assert artifact.read_bytes() == body
    assert artifact.url() == path.as_uri()
    assert latest_artifact(TENANT, "sales", root=str(local_export)).month == MONTH


def test_tampered_local_file_fails_verification(local_export: Path, tmp_path: Path) -> None:
    artifact = latest_artifact(TENANT, "sales", MONTH, "csv", root=str(local_export))
    path = local_export / artifact.key
    original = path.read_bytes()
    tampered = original.replace(b"completed", b"COMPLETED", 1)
    assert tampered != original and len(tampered) == len(original)
    path.write_bytes(tampered)
    try:
        with (
            pytest.raises(ArtifactIntegrityError, match=r"sha256 [0-9a-f]{64} does not match"),
            artifact.open(),
        ):
            pass
        with pytest.raises(ArtifactIntegrityError, match="changed after it was published"):
            artifact.url()
        copy = tmp_path / "copy.csv"
        with pytest.raises(ArtifactIntegrityError):
            artifact.download(copy)
        assert not copy.exists()
        path.write_bytes(original + b"extra\r\n")
        with pytest.raises(
            ArtifactIntegrityError, match=rf"{len(original) + 7} bytes, but manifest.json records"
        ):
            artifact.read_bytes()
    finally:
        path.write_bytes(original)
    assert artifact.read_bytes() == original


def publish(store: ArtifactStore, month: str, fmt: str, body: bytes) -> None:
    key = f"{TENANT}/exports/bills/{month}/bills_{TENANT}_{month}.{fmt}"
    store.store.put_bytes(key, body)
    store.record(
        TENANT,
        "bills",
        month,
        PublishedFile(
            fmt, key.rsplit("/", 1)[1], key, store.store.uri(key), len(body),
            hashlib.sha256(body).hexdigest(), body.count(b"\n") - 1, "text/csv", f"{month}-28T00:00:00Z",
        ),
    )  # fmt: skip


def test_latest_month_and_what_is_missing(tmp_path: Path) -> None:
    store = ArtifactStore(root=str(tmp_path))
    publish(store, "2026-08", "csv", b"a\nb\nc\n")
    publish(store, "2026-09", "csv", b"a\nb\n")
    publish(store, "2026-10", "xlsx", b"a\n")
    newest_csv = latest_artifact(TENANT, "bills", format="csv", root=str(tmp_path))
    assert (newest_csv.month, newest_csv.record_count, newest_csv.read_bytes()) == ("2026-09", 1, b"a\nb\n")
    assert latest_artifact(TENANT, "bills", format="xlsx", root=str(tmp_path)).month == "2026-10"
    with pytest.raises(ArtifactNotFound, match="has no csv file \\(manifest lists xlsx\\)"):
        latest_artifact(TENANT, "bills", "2026-10", "csv", root=str(tmp_path))
    with pytest.raises(ArtifactNotFound, match="for month 2026-11"):
        latest_artifact(TENANT, "bills", "2026-11", "csv", root=str(tmp_path))
    with pytest.raises(ArtifactNotFound, match="for any month"):
        latest_artifact(TENANT, "bills", format="pdf", root=str(tmp_path))


def test_s3_artifact_is_verified_and_presigned(exported: Exported) -> None:
    artifact = latest_artifact(TENANT, "sales", MONTH, "xlsx", root=exported.root)
    body = (
        boto3.client("s3")
        .get_object(Bucket=exported.bucket, Key=exported.key("sales", "xlsx"))["Body"]
        .read()
    )
    assert artifact.uri == f"s3://{exported.bucket}/{exported.key('sales', 'xlsx')}"
    assert artifact.record_count == exported.metadata("sales_xlsx")["record_count"]
    assert artifact.read_bytes() == body
    url = artifact.url(expires_in=600)
    assert url.startswith("http://127.0.0.1:") and "X-Amz-Algorithm=AWS4-HMAC-SHA256" in url
    assert "X-Amz-Expires=600" in url
    downloaded = urllib.request.urlopen(url, timeout=30).read()
    assert hashlib.sha256(downloaded).hexdigest() == artifact.sha256


def test_tampered_s3_object_fails_verification(exported: Exported, s3_bucket: str) -> None:
    s3 = boto3.client("s3")
    prefix = f"platform/{TENANT}/exports/bills/{MONTH}/"
    for item in s3.list_objects_v2(Bucket=exported.bucket, Prefix=prefix)["Contents"]:
        s3.copy_object(
            Bucket=s3_bucket, Key=item["Key"], CopySource={"Bucket": exported.bucket, "Key": item["Key"]}
        )
    root = f"s3://{s3_bucket}/platform"
    artifact = latest_artifact(TENANT, "bills", MONTH, "csv", root=root)
    assert (
        artifact.read_bytes()
        == s3.get_object(Bucket=exported.bucket, Key=exported.key("bills", "csv"))["Body"].read()
    )
    body = artifact.read_bytes()
    s3.put_object(Bucket=s3_bucket, Key=exported.key("bills", "csv"), Body=body[:-2] + b"X\n")
    with pytest.raises(ArtifactIntegrityError, match=rf"s3://{s3_bucket}/.*sha256 .* does not match"):
        artifact.url()
