"""The S3 server goes away in the middle of a multipart upload of an export, and comes back."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import boto3
import pytest

from export_platform.storage import s3_upload
from export_platform.storage.layout import export_key, manifest_key
from export_platform_tests.support.big_source import BIG_PARTITION, BigSource
from export_platform_tests.support.cuttable_proxy import CuttableProxy
from export_platform_tests.support.export_runs import PART_SIZE, history_of, retries, run_export

pytestmark = pytest.mark.faults

KEY = export_key("acme", "sale_items", "2026-10", "csv")


@pytest.fixture
def s3_behind_proxy(s3_server: str, s3_bucket: str, monkeypatch) -> CuttableProxy:
    """The platform reaches the S3 server only through a proxy the test can take down."""
    proxy = CuttableProxy(int(s3_server.rsplit(":", 1)[1]))
    proxy.up()
    monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.endpoint)
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")  # the step's retry policy retries, not boto3 underneath it
    yield proxy
    proxy.down()


def test_s3_stopping_mid_multipart_upload(
    big_source: BigSource, big_line_items: Path, s3_server: str, s3_bucket: str, s3_behind_proxy, tmp_path
) -> None:
    direct = boto3.client("s3", endpoint_url=s3_server)
    root = f"s3://{s3_bucket}/platform"
    export = dict(source_url=big_source.url, data_root=str(big_line_items), artifact_root=root)
    expected = run_export("sale_items_csv", BIG_PARTITION, **{**export, "artifact_root": str(tmp_path)})
    assert expected.success
    expected_bytes = (tmp_path / KEY).read_bytes()
    assert len(expected_bytes) > 2 * PART_SIZE  # several parts: the cut lands between the first and last

    s3_behind_proxy.go_down_after(PART_SIZE + PART_SIZE // 2)  # in the middle of the second part
    failed = run_export("sale_items_csv", BIG_PARTITION, **export)

    assert s3_behind_proxy.cuts == 1 and not failed.success
    assert retries(failed) == 3  # a lost connection is transient: the step tried four times
    listing = direct.list_objects_v2(Bucket=s3_bucket)
    assert listing.get("KeyCount", 0) == 0  # neither the file nor a manifest
    open_uploads = direct.list_multipart_uploads(Bucket=s3_bucket).get("Uploads", [])
    assert [u["Key"] for u in open_uploads] == [f"platform/{KEY}"]  # the server went away before the abort
    assert {u.upload_id for u in s3_upload.unfinished_uploads()} == {u["UploadId"] for u in open_uploads}
    attempts = history_of(failed, big_source.url)
    assert [r["status"] for r in attempts] == ["failed"] * 4
    assert all("Connect" in r["error_message"] for r in attempts), [r["error_message"] for r in attempts]
    assert attempts[0]["error_message"].startswith(("ConnectionClosedError", "EndpointConnectionError"))

    s3_behind_proxy.up()
    retried = run_export("sale_items_csv", BIG_PARTITION, **export)

    assert retried.success
    assert not direct.list_multipart_uploads(Bucket=s3_bucket).get("Uploads")
    assert not s3_upload.unfinished_uploads()
    stored = direct.get_object(Bucket=s3_bucket, Key=f"platform/{KEY}")
    body = stored["Body"].read()
    assert body == expected_bytes
    assert stored["ETag"].strip('"').endswith(f"-{-(-len(body) // PART_SIZE)}")  # went up in parts again
    manifest = direct.get_object(
        Bucket=s3_bucket, Key=f"platform/{manifest_key('acme', 'sale_items', '2026-10')}"
    )
    entry = json.loads(manifest["Body"].read())["files"]["csv"]
    assert entry["sha256"] == hashlib.sha256(body).hexdigest() and entry["size"] == len(body)
    assert [r["status"] for r in history_of(retried, big_source.url)] == ["success"]
