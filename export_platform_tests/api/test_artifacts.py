"""Published files over the API: listed from their manifests, downloaded verified, whole or by byte
range, so that an interrupted download resumes to the very file; and refused when the stored file is
not the one its manifest describes."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil
from pathlib import Path

import httpx
import pytest

from export_platform_tests.support.api_server import bearer, serving
from export_platform_tests.support.api_testbed import PUBLIC_URL, ApiTestbed
from export_platform_tests.support.seed_plan import MONTH, TENANT

NAME = f"sales_{TENANT}_{MONTH}.csv"


@pytest.fixture(scope="module")
def published(testbed: ApiTestbed) -> tuple[bytes, dict]:
    """The CSV's bytes on disk and its manifest entry."""
    folder = testbed.root / TENANT / "exports" / "sales" / MONTH
    entry = json.loads((folder / "manifest.json").read_text())["files"]["csv"]
    return (folder / NAME).read_bytes(), entry


def download(api: str, testbed: ApiTestbed, **headers: str) -> httpx.Response:
    url = f"{api}/v1/tenants/{TENANT}/artifacts/sales/{MONTH}/{NAME}"
    return httpx.get(url, headers={**bearer(testbed.tokens["viewer"]), **headers})


def test_the_listing_shows_each_published_file_from_its_manifest(
    api: str, testbed: ApiTestbed, published: tuple[bytes, dict]
) -> None:
    body, entry = published
    url, viewer = f"{api}/v1/tenants/{TENANT}/artifacts", bearer(testbed.tokens["viewer"])
    listed = httpx.get(url, headers=viewer).json()["items"]
    assert listed == [
        {
            "dataset": "sales",
            "month": MONTH,
            "format": "csv",
            "name": NAME,
            "size": len(body),
            "sha256": hashlib.sha256(body).hexdigest(),
            "record_count": entry["record_count"],
            "content_type": entry["content_type"],
            "created_at": entry["created_at"],
            "download_url": f"{PUBLIC_URL}/v1/tenants/{TENANT}/artifacts/sales/{MONTH}/{NAME}",
        }
    ]
    assert (
        httpx.get(url, params={"dataset": "sales", "month": MONTH}, headers=viewer).json()["items"] == listed
    )
    assert httpx.get(url, params={"month": "2026-09"}, headers=viewer).json()["items"] == []
    assert httpx.get(url, params={"dataset": "bills"}, headers=viewer).json()["items"] == []
    for params, field in (({"month": "2026-13"}, "query.month"), ({"dataset": "payroll"}, "query.dataset")):
        refused = httpx.get(url, params=params, headers=viewer)
        assert refused.status_code == 422 and [e["field"] for e in refused.json()["errors"]] == [field]


def test_a_download_is_the_whole_verified_file(
    api: str, testbed: ApiTestbed, published: tuple[bytes, dict]
) -> None:
    body, entry = published
    response = download(api, testbed)
    assert response.status_code == 200 and response.content == body
    assert response.headers["etag"] == f'"{entry["sha256"]}"' == f'"{hashlib.sha256(body).hexdigest()}"'
    assert response.headers["content-length"] == str(len(body))
    assert response.headers["content-type"] == entry["content_type"]
    assert response.headers["content-disposition"] == f'attachment; filename="{NAME}"'
    assert response.headers["accept-ranges"] == "bytes"


def test_an_interrupted_download_resumes_to_the_same_file(
    api: str, testbed: ApiTestbed, published: tuple[bytes, dict]
) -> None:
    body, entry = published
    cut = len(body) // 3
    first = download(api, testbed, Range=f"bytes=0-{cut - 1}")
    assert first.status_code == 206 and first.content == body[:cut]
    assert first.headers["content-range"] == f"bytes 0-{cut - 1}/{len(body)}"
    assert first.headers["content-length"] == str(cut)
    rest = download(api, testbed, Range=f"bytes={cut}-", **{"If-Range": first.headers["etag"]})
    assert (
        rest.status_code == 206
        and rest.headers["content-range"] == f"bytes {cut}-{len(body) - 1}/{len(body)}"
    )
    assert hashlib.sha256(first.content + rest.content).hexdigest() == entry["sha256"]

    tail = download(api, testbed, Range="bytes=-10")
    assert tail.status_code == 206 and tail.content == body[-10:]
    past_end = download(api, testbed, Range=f"bytes=10-{len(body) + 500}")
    assert past_end.status_code == 206 and past_end.content == body[10:]
    changed_since = download(api, testbed, Range=f"bytes={cut}-", **{"If-Range": '"an-older-file"'})
    assert changed_since.status_code == 200 and changed_since.content == body
    several = download(api, testbed, Range="bytes=0-1,5-6")  # one range is served; several get the file
    assert several.status_code == 200 and several.content == body


def test_a_range_outside_the_file_answers_416(
    api: str, testbed: ApiTestbed, published: tuple[bytes, dict]
) -> None:
    body, _ = published
    for asked in (f"bytes={len(body)}-", f"bytes={len(body) + 1}-{len(body) + 9}", "bytes=-0"):
        response = download(api, testbed, Range=asked)
        assert response.status_code == 416, asked
        assert response.headers["content-range"] == f"bytes */{len(body)}"
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["error_code"] == "range_not_satisfiable"


def test_a_file_that_differs_from_its_manifest_is_not_served(
    testbed: ApiTestbed, tmp_path: Path, published: tuple[bytes, dict]
) -> None:
    body, _ = published
    root = tmp_path / "artifacts"
    shutil.copytree(testbed.root, root)
    tampered = root / TENANT / "exports" / "sales" / MONTH / NAME
    tampered.write_bytes(body.replace(b"2026", b"2027", 1))  # same size, other bytes
    with serving(dataclasses.replace(testbed.config(), artifact_root=str(root))) as base:
        response = download(base, testbed)
        whole_range = download(base, testbed, Range="bytes=0-9")
    for refused in (response, whole_range):
        assert refused.status_code == 500 and refused.json()["error_code"] == "artifact_integrity"
        assert str(root) not in refused.text and "sha256" not in refused.text
