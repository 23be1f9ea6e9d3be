"""The consumer API finds exports through manifest.json, verifies them, and opens them or hands out a
link: over a local folder and over S3, with a real export run, and refusing a tampered file."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import urllib.request
from pathlib import Path

import boto3
import dagster as dg
import pytest

from export_platform.consumer import ArtifactIntegrityError, ArtifactNotFound, UnknownDataset, latest_artifact
from export_platform.datasets.assets import dataset_assets
from export_platform.datasets.source_database import SourceDatabase
from export_platform.exports.assets import export_assets
from export_platform.storage.artifacts import ArtifactStore, PublishedFile
from export_platform.storage.io_manager import DatasetParquetIOManager
from export_platform.storage.layout import export_key, manifest_key
from export_platform.tracking.history import ExportHistory
from export_platform_tests.support.materialize import Exported, ephemeral_instance
from export_platform_tests.support.seed_plan import MONTH, OTHER_TENANT, PARTITION, TENANT


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


def test_a_folder_named_with_non_ascii_digits_is_not_a_month(tmp_path: Path) -> None:
    """``\\d`` also matches "２" and "٢": such a folder, manifest and all, is not a published month."""
    store = ArtifactStore(root=str(tmp_path))
    publish(store, "2026-09", "csv", b"a\nb\n")
    lookalike = "２０２７-01"
    folder = tmp_path / TENANT / "exports" / "bills" / lookalike
    folder.mkdir(parents=True)
    (folder / "manifest.json").write_bytes(
        (tmp_path / TENANT / "exports" / "bills" / "2026-09" / "manifest.json").read_bytes()
    )
    assert latest_artifact(TENANT, "bills", format="csv", root=str(tmp_path)).month == "2026-09"


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


# Tenant isolation: the consumer serves only the tenant's own files, whatever the caller passes as a
# dataset and whatever a (tampered) manifest names as the key, on a local folder and on S3.

ISOLATION_MONTH = "2026-10"


def publish_sales(store: ArtifactStore, tenant: str, body: bytes) -> str:
    """``tenant``'s October sales CSV published and recorded as the exports do; returns its key."""
    key = export_key(tenant, "sales", ISOLATION_MONTH, "csv")
    store.store.put_bytes(key, body)
    assert store.record(
        tenant,
        "sales",
        ISOLATION_MONTH,
        PublishedFile(
            "csv", key.rsplit("/", 1)[1], key, store.store.uri(key), len(body),
            hashlib.sha256(body).hexdigest(), 1, "text/csv", "2026-10-28T00:00:00Z",
        ),
    )  # fmt: skip
    return key


@pytest.fixture(params=["local", "s3"])
def two_tenants(request: pytest.FixtureRequest, tmp_path: Path) -> ArtifactStore:
    """acme's and globex's sales in one artifact root: a local folder, or a prefix of a moto bucket."""
    if request.param == "local":
        root = str(tmp_path / "artifacts")
    else:
        root = f"s3://{request.getfixturevalue('s3_bucket')}/platform"
    store = ArtifactStore(root=root)
    publish_sales(store, TENANT, b"id,total\r\n1,10.00\r\n")
    publish_sales(store, OTHER_TENANT, b"id,total\r\n1,99999.00\r\nglobex only\r\n")
    return store


def edit_manifest(store: ArtifactStore, change) -> None:
    key = manifest_key(TENANT, "sales", ISOLATION_MONTH)
    manifest = json.loads(store.store.read_bytes(key))
    change(manifest["files"])
    store.store.put_bytes(key, json.dumps(manifest).encode())


def missing_answers(store: ArtifactStore) -> tuple[str, str]:
    """What acme's consumer is told when its October sales CSV is not in the manifest: for that
    month, and for the newest month."""
    answers = []
    for month in (ISOLATION_MONTH, None):
        with pytest.raises(ArtifactNotFound) as missing:
            latest_artifact(TENANT, "sales", month, "csv", root=store.root)
        answers.append(str(missing.value))
    return answers[0], answers[1]


@pytest.mark.parametrize(
    "dataset",
    [
        f"../../{OTHER_TENANT}/exports/sales",
        f"../{OTHER_TENANT}",
        f"sales/../../../{OTHER_TENANT}/exports/sales",
        f"/{OTHER_TENANT}/exports/sales",
        "sales/",
        "Sales",
        "ｓａｌｅｓ",
        "",
    ],
)
def test_a_dataset_name_cannot_reach_another_tenant(two_tenants: ArtifactStore, dataset: str) -> None:
    assert latest_artifact(OTHER_TENANT, "sales", ISOLATION_MONTH, "csv", root=two_tenants.root).size > 0
    for month in (ISOLATION_MONTH, None):
        with pytest.raises(UnknownDataset, match=r"unknown dataset .*: use one of accounts, audit_log"):
            latest_artifact(TENANT, dataset, month, "csv", root=two_tenants.root)


def foreign_keys(store: ArtifactStore) -> dict[str, tuple[str, bytes]]:
    """Keys an edited manifest could name, each with the bytes it would serve (size and sha256 are set
    to match them, so only the key check stands between the caller and the file)."""
    theirs = export_key(OTHER_TENANT, "sales", ISOLATION_MONTH, "csv")
    their_body = store.store.read_bytes(theirs)
    mine = export_key(TENANT, "sales", ISOLATION_MONTH, "csv")
    local = not store.root.startswith("s3://")
    hostname = Path("/etc/hostname").read_bytes() if local else their_body
    passwd = Path("/etc/passwd").read_bytes() if local else their_body
    return {
        "another tenant's key": (theirs, their_body),
        "../ out of the tenant": (f"{TENANT}/../{theirs}", their_body),
        "../ from the partition folder": (f"{mine.rsplit('/', 1)[0]}/../../../../{theirs}", their_body),
        "./ segments": (f"{TENANT}/./../{theirs}", their_body),
        "absolute path": ("/etc/hostname", hostname),
        "../ to /etc/passwd": ("../../../../etc/passwd", passwd),
        "backslashes": (f"{TENANT}\\..\\{theirs}", their_body),
        "doubled slash": (f"{TENANT}//../{theirs}", their_body),
    }


def test_a_manifest_key_outside_the_tenant_answers_as_a_missing_file(two_tenants: ArtifactStore) -> None:
    store = two_tenants
    original = json.loads(store.store.read_bytes(manifest_key(TENANT, "sales", ISOLATION_MONTH)))["files"]
    edit_manifest(store, lambda files: files.pop("csv"))
    missing = missing_answers(store)
    for label, (key, body) in foreign_keys(store).items():
        if not store.root.startswith("s3://") and key.startswith("/"):
            assert Path(key).read_bytes() == body  # the attack would have served this file
        edit_manifest(
            store,
            lambda files, key=key, body=body: files.update(
                csv={
                    **original["csv"],
                    "key": key,
                    "size": len(body),
                    "sha256": hashlib.sha256(body).hexdigest(),
                }
            ),
        )
        assert missing_answers(store) == missing, label
    edit_manifest(store, lambda files: files.update(csv=original["csv"]))
    assert latest_artifact(TENANT, "sales", ISOLATION_MONTH, "csv", root=store.root).read_bytes() == (
        b"id,total\r\n1,10.00\r\n"
    )


def test_an_artifact_cannot_be_pointed_at_another_tenants_file(two_tenants: ArtifactStore) -> None:
    """Built by hand or edited after the manifest was read, an Artifact still reads only its tenant's
    files, and a foreign key answers exactly as a missing file of the tenant's own does."""
    mine = latest_artifact(TENANT, "sales", ISOLATION_MONTH, "csv", root=two_tenants.root)
    gone = dataclasses.replace(mine, key=export_key(TENANT, "sales", "2026-09", "csv"))
    with pytest.raises(ArtifactNotFound) as missing:
        gone.read_bytes()
    for label, (key, body) in foreign_keys(two_tenants).items():
        with pytest.raises(ArtifactNotFound) as refused:
            forged = dataclasses.replace(
                mine, key=key, size=len(body), sha256=hashlib.sha256(body).hexdigest()
            )
            forged.read_bytes()
            forged.url(verify=False)
        assert str(refused.value) == str(missing.value), label


def test_a_link_in_the_tenants_folder_cannot_serve_another_tenants_file(tmp_path: Path) -> None:
    store = ArtifactStore(root=str(tmp_path))
    mine = publish_sales(store, TENANT, b"id,total\r\n1,10.00\r\n")
    theirs = publish_sales(store, OTHER_TENANT, b"id,total\r\n1,99999.00\r\n")
    body = (tmp_path / theirs).read_bytes()
    (tmp_path / mine).unlink()
    (tmp_path / mine).symlink_to(tmp_path / theirs)
    assert (tmp_path / mine).read_bytes() == body  # the link works: only the store refuses it
    edit_manifest(
        store,
        lambda files: files["csv"].update(size=len(body), sha256=hashlib.sha256(body).hexdigest()),
    )
    artifact = latest_artifact(TENANT, "sales", ISOLATION_MONTH, "csv", root=str(tmp_path))
    (tmp_path / mine).unlink()
    with pytest.raises(ArtifactNotFound) as missing:
        artifact.read_bytes()
    (tmp_path / mine).symlink_to(tmp_path / theirs)
    for attempt in (artifact.read_bytes, artifact.url, lambda: artifact.url(verify=False)):
        with pytest.raises(ArtifactNotFound) as refused:
            attempt()
        assert str(refused.value) == str(missing.value)
    # A folder link does no better than a file link.
    (tmp_path / mine).unlink()
    folder = (tmp_path / mine).parent
    folder.rename(tmp_path / "kept")
    folder.symlink_to((tmp_path / theirs).parent)
    with pytest.raises(ArtifactNotFound) as refused:
        artifact.read_bytes()
    assert str(refused.value) == str(missing.value)
