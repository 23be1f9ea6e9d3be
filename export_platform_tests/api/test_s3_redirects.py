"""Downloads from an S3 artifact root (moto's server on loopback): sent through the API by default, and
with presigned redirects on, a 302 to a short-lived presigned URL that S3 itself serves, whole or by
range; an object that is not the one its manifest describes is never redirected to."""

from __future__ import annotations

import dataclasses
import hashlib
from urllib.parse import parse_qs, urlsplit

import boto3
import httpx
import pytest

from export_platform.api.config import ApiConfig
from export_platform_tests.support.api_server import bearer, serving
from export_platform_tests.support.api_testbed import ApiTestbed
from export_platform_tests.support.materialize import Exported
from export_platform_tests.support.seed_plan import MONTH, TENANT

NAME = f"sales_{TENANT}_{MONTH}.xlsx"
PATH = f"/v1/tenants/{TENANT}/artifacts/sales/{MONTH}/{NAME}"
REDIRECT_SECONDS = 120


def stored(exported: Exported) -> bytes:
    return (
        boto3.client("s3")
        .get_object(Bucket=exported.bucket, Key=exported.key("sales", "xlsx"))["Body"]
        .read()
    )


@pytest.fixture
def redirecting(testbed: ApiTestbed, exported: Exported) -> str:
    config = dataclasses.replace(
        testbed.config(), artifact_root=exported.root, presigned_redirect_seconds=REDIRECT_SECONDS
    )
    with serving(config) as base:
        yield base


def test_without_redirects_the_api_sends_the_s3_file_itself(testbed: ApiTestbed, exported: Exported) -> None:
    with serving(dataclasses.replace(testbed.config(), artifact_root=exported.root)) as base:
        response = httpx.get(base + PATH, headers=bearer(testbed.tokens["viewer"]))
    assert response.status_code == 200 and response.content == stored(exported)


def test_a_download_redirects_to_a_presigned_url_of_the_very_file(
    redirecting: str, testbed: ApiTestbed, exported: Exported
) -> None:
    body = stored(exported)
    answer = httpx.get(redirecting + PATH, headers=bearer(testbed.tokens["viewer"]))
    assert answer.status_code == 302 and answer.headers["cache-control"] == "no-store"
    location = answer.headers["location"]
    url = urlsplit(location)
    assert url.hostname == "127.0.0.1" and url.path == f"/{exported.bucket}/{exported.key('sales', 'xlsx')}"
    query = parse_qs(url.query)
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"] and query["X-Amz-Expires"] == [
        str(REDIRECT_SECONDS)
    ]

    whole = httpx.get(location)  # no bearer token: the signature is the permission
    assert (
        whole.status_code == 200
        and hashlib.sha256(whole.content).hexdigest() == hashlib.sha256(body).hexdigest()
    )
    assert whole.headers["content-disposition"] == f'attachment; filename="{NAME}"'
    resumed = httpx.get(location, headers={"Range": f"bytes={len(body) // 2}-"})
    assert resumed.status_code == 206 and whole.content[: len(body) // 2] + resumed.content == body

    followed = httpx.get(redirecting + PATH, headers=bearer(testbed.tokens["viewer"]), follow_redirects=True)
    assert followed.content == body


def test_another_tenants_file_answers_404_without_a_redirect(
    redirecting: str, testbed: ApiTestbed, exported: Exported
) -> None:
    other = httpx.get(redirecting + PATH, headers=bearer(testbed.tokens["other_tenant"]))
    assert other.status_code == 404 and "location" not in other.headers
    missing = httpx.get(
        redirecting + PATH.replace(MONTH, "2026-09"), headers=bearer(testbed.tokens["viewer"])
    )
    assert (missing.status_code, missing.json()) == (other.status_code, other.json())


def test_an_object_changed_since_publishing_is_not_redirected_to(
    testbed: ApiTestbed, exported: Exported, s3_bucket: str
) -> None:
    """A copy of the exports in which the workbook was overwritten by other means (its S3 metadata
    still says the published sha256): the API refuses rather than send the client to it."""
    s3 = boto3.client("s3")
    prefix = exported.key("sales", "xlsx").rsplit("/", 1)[0]
    for item in s3.list_objects_v2(Bucket=exported.bucket, Prefix=prefix)["Contents"]:
        s3.copy_object(
            Bucket=s3_bucket, Key=item["Key"], CopySource={"Bucket": exported.bucket, "Key": item["Key"]}
        )
    key = exported.key("sales", "xlsx")
    recorded = s3.head_object(Bucket=s3_bucket, Key=key)["Metadata"]
    s3.put_object(Bucket=s3_bucket, Key=key, Body=b"not the workbook", Metadata={"sha256": "0" * 64})
    config = dataclasses.replace(
        testbed.config(), artifact_root=f"s3://{s3_bucket}/platform", presigned_redirect_seconds=60
    )
    with serving(config) as base:
        refused = httpx.get(base + PATH, headers=bearer(testbed.tokens["viewer"]))
    assert recorded["sha256"] != "0" * 64
    assert refused.status_code == 500 and refused.json()["error_code"] == "artifact_integrity"
    assert "location" not in refused.headers and s3_bucket not in refused.text


@pytest.mark.parametrize("seconds", [-1, 7 * 24 * 3600 + 1])
def test_a_redirect_lifetime_s3_cannot_sign_is_refused(seconds: int) -> None:
    with pytest.raises(ValueError, match="presigned_redirect_seconds: must be 0 \\(off\\) to 604800"):
        ApiConfig(presigned_redirect_seconds=seconds)
